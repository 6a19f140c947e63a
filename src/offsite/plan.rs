//! What a round sends to a target and what the target's retention removes, from one plan: the
//! sender never sends a copy that retention would remove at once (it would be sent and
//! removed again every round, for ever), and a copy of a backup marked Keep here stays.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::manifest::{self, Manifest};
use super::retention::{self, Dated};
use super::settings::Keep;
use crate::backup::{BackupEntry, BackupKind, BackupState};

/// Local backups that go off-site: startup, automatic and manual ones that verified. A
/// backup of an empty shop (no accounts: a fresh install) is not sent once there is one with
/// accounts, so after data is brought back onto a new computer, the install's empty startup
/// backup never sits on a target beside the real copies.
pub(super) fn sendable(entries: &[BackupEntry]) -> impl Iterator<Item = &BackupEntry> {
    let has_users = |e: &BackupEntry| {
        e.sidecar
            .as_ref()
            .is_none_or(|s| s.row_counts.get("users").is_none_or(|n| *n > 0))
    };
    let regular = |e: &&BackupEntry| {
        matches!(
            e.kind(),
            BackupKind::Startup | BackupKind::Automatic | BackupKind::Manual
        ) && e.state() == BackupState::Verified
    };
    let any_with_users = entries.iter().filter(regular).any(has_users);
    entries
        .iter()
        .filter(regular)
        .filter(move |e| !any_with_users || has_users(e))
}

/// The copies of backups marked Keep here.
fn kept_here(entries: &[BackupEntry]) -> BTreeSet<String> {
    entries
        .iter()
        .filter(|e| e.keep())
        .map(manifest::copy_name)
        .collect()
}

fn dated(m: &Manifest, kept: &BTreeSet<String>) -> Dated {
    Dated {
        copy: m.copy.clone(),
        created_at: m.created_at,
        order: m.order,
        protected: kept.contains(&m.copy),
    }
}

/// The copies retention removes from a target, oldest first.
pub(super) fn to_remove(
    on_target: &[Manifest],
    entries: &[BackupEntry],
    keep: &Keep,
    now: DateTime<Utc>,
) -> Vec<String> {
    let kept = kept_here(entries);
    let copies: Vec<Dated> = on_target.iter().map(|m| dated(m, &kept)).collect();
    retention::to_delete(&copies, keep, now)
}

/// The local backups to send to a target, newest first: those it lacks that its retention
/// would keep once they are there.
pub(super) fn to_send<'a>(
    entries: &'a [BackupEntry],
    on_target: &[Manifest],
    keep: &Keep,
    now: DateTime<Utc>,
) -> Vec<&'a BackupEntry> {
    let have: BTreeSet<&str> = on_target.iter().map(|m| m.copy.as_str()).collect();
    let mut missing: Vec<&BackupEntry> = sendable(entries)
        .filter(|e| !have.contains(manifest::copy_name(e).as_str()))
        .collect();
    let kept = kept_here(entries);
    let mut planned: Vec<Dated> = on_target.iter().map(|m| dated(m, &kept)).collect();
    planned.extend(missing.iter().map(|e| Dated {
        copy: manifest::copy_name(e),
        created_at: e.created_at(),
        order: e.order(),
        protected: e.keep(),
    }));
    let doomed: BTreeSet<String> = retention::to_delete(&planned, keep, now)
        .into_iter()
        .collect();
    missing.retain(|e| !doomed.contains(&manifest::copy_name(e)));
    missing.sort_by_key(|e| std::cmp::Reverse(e.created_at()));
    missing
}
