//! What the page, the API and the health line say about off-site copies. Built from the status
//! file and the last list read from each target: showing it never waits on the network.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::settings::Keep;
use super::state::Progress;
use super::{Offsite, lock, manifest};
use crate::backup::health::{Health, HealthLevel};
use crate::timefmt;

/// What the off-site worker is doing right now.
#[derive(Debug, Clone, Serialize)]
pub struct Activity {
    pub target: String,
    pub what: String,
}

/// One copy as lists show it.
#[derive(Debug, Clone, Serialize)]
pub struct CopyView {
    pub copy: String,
    /// What a person calls it ("before stock-take — Wed 2 Dec, 15:57"); the copy's name goes
    /// small underneath.
    pub label: String,
    /// What the owner wrote about the backup (empty: nothing, or an older manifest).
    pub description: String,
    /// The label's first half: the description, or the kind in words ("automatic backup").
    pub what: String,
    pub kind: &'static str,
    pub created_at: DateTime<Utc>,
    pub created_local: String,
    pub size: u64,
    pub size_human: String,
    pub row_counts: std::collections::BTreeMap<String, i64>,
    /// The installation that sent it, by shop and computer ("NOT MADE BY THIS SHOP …" for a
    /// copy whose signature does not hold).
    pub from: String,
    /// Made by this shop (only such a copy can be brought back).
    pub trusted: bool,
}

impl CopyView {
    /// "120 products, 40 customers, 3000 sales" (what a person recognises their shop by).
    pub fn rows(&self) -> String {
        ["products", "customers", "sales", "users"]
            .iter()
            .filter_map(|t| self.row_counts.get(*t).map(|n| format!("{n} {t}")))
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn from_manifest(m: &manifest::Manifest) -> CopyView {
        CopyView {
            copy: m.copy.clone(),
            label: m.label(),
            description: m.description.clone().unwrap_or_default(),
            what: timefmt::backup_what(m.kind, m.description.as_deref().unwrap_or_default()),
            kind: m.kind.label(),
            created_at: m.created_at,
            created_local: timefmt::local(m.created_at),
            size: m.object_size,
            size_human: crate::fsutil::human_size(m.object_size),
            row_counts: m.row_counts.clone(),
            from: m.sender(),
            trusted: m.is_trusted(),
        }
    }

    /// True when the copies come from more than one installation (lists then say whose).
    pub fn several_senders(copies: &[CopyView]) -> bool {
        copies.iter().any(|c| c.from != copies[0].from)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetStatus {
    pub name: String,
    pub kind: &'static str,
    pub location: String,
    pub enabled: bool,
    pub keep: Keep,
    /// What the sender records about the target (`offsite-state.json`), shown as it is.
    #[serde(flatten)]
    pub progress: Progress,
    /// From the last list read from the target (`None`: not read yet): this installation's
    /// copies, and how many installations send there (this one included).
    pub copies_on_target: Option<usize>,
    pub installations: Option<usize>,
    pub pending: Option<usize>,
    /// This installation's newest copy on the target, from the last list read (what "Last
    /// copy" shows: the newest there, not the last one sent).
    pub newest_on_target: Option<CopyView>,
    pub next_drill_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OffsiteStatus {
    /// The current key's public half (`None` before the first target).
    pub public_key: Option<String>,
    pub kit_confirmed: bool,
    /// The saved kit names other places than today's targets: save it again.
    pub kit_places_changed: bool,
    pub max_copy_age_hours: u32,
    pub drill_every_days: u32,
    pub targets: Vec<TargetStatus>,
    pub activity: Option<Activity>,
    pub activity_percent: u8,
}

impl Offsite {
    /// The status of every target (blocking: reads the status and settings files).
    pub fn status(&self) -> OffsiteStatus {
        let settings = self.settings().unwrap_or_default();
        let state = self.state();
        let keys = self.keyring().ok().flatten();
        let public_key = keys.as_ref().map(|k| k.current().public());
        let local = self.inner.backups.list().unwrap_or_default();
        let own_id = self.installation().map(|i| i.id).unwrap_or_default();
        let remote = lock(&self.inner.remote);
        let targets = settings
            .targets
            .iter()
            .map(|t| {
                let s = state.targets.get(&t.name).cloned().unwrap_or_default();
                let index = remote.get(&t.name);
                let own: Option<Vec<manifest::Manifest>> = index.map(|i| {
                    i.manifests
                        .iter()
                        .filter(|m| m.is_from(&own_id))
                        .cloned()
                        .collect()
                });
                // Not what is there under its name already (an unsigned older copy is not
                // counted as ours, and is not sent over either).
                let pending = own.as_ref().zip(index).map(|(own, i)| {
                    super::plan::to_send(&local, own, &t.keep, self.now())
                        .into_iter()
                        .filter(|e| {
                            let name = manifest::copy_name(e);
                            !i.manifests.iter().any(|m| m.copy == name)
                        })
                        .count()
                });
                TargetStatus {
                    name: t.name.clone(),
                    kind: t.kind_label(),
                    location: t.describe(),
                    enabled: t.enabled,
                    keep: t.keep,
                    next_drill_at: (settings.drill_every_days > 0).then(|| {
                        s.progress.last_drill.as_ref().map_or(self.now(), |d| {
                            d.at + chrono::Duration::days(i64::from(settings.drill_every_days))
                        })
                    }),
                    copies_on_target: own.as_ref().map(Vec::len),
                    newest_on_target: own
                        .as_ref()
                        .and_then(|o| o.iter().max_by_key(|m| m.newness()))
                        .map(CopyView::from_manifest),
                    installations: index.map(|i| super::installation::count(&i.manifests, &own_id)),
                    pending,
                    progress: s.progress,
                }
            })
            .collect();
        drop(remote);
        let activity = self.activity();
        OffsiteStatus {
            kit_places_changed: super::kit::places_changed(
                state.kit_confirmed_targets.as_deref(),
                &settings.targets,
            ),
            kit_confirmed: public_key
                .as_deref()
                .is_some_and(|k| state.kit_confirmed(k)),
            public_key,
            max_copy_age_hours: settings.max_copy_age_hours,
            drill_every_days: settings.drill_every_days,
            targets,
            activity_percent: activity.as_ref().map_or(0, |(_, p)| *p),
            activity: activity.map(|(a, _)| a),
        }
    }

    /// The health line with off-site copies taken into account: local problems first, then
    /// red off-site problems (failing for long, unreachable, a failed drill), then amber ones
    /// (no target, kit not saved, failing briefly, copies getting old).
    pub fn health(&self, local: Health, now: DateTime<Utc>) -> Health {
        if local.level == HealthLevel::Red {
            return local;
        }
        let status = self.status();
        let (red, amber, kit_task) = judge(&status, now);
        let last_backup = local.last_backup;
        let changes_in_no_backup = local.changes_in_no_backup;
        let line = |level, message| Health {
            level,
            message,
            last_backup,
            changes_in_no_backup,
            for_staff: None,
        };
        // Saving the kit is the owner's task: others are told whom to ask, not what to do.
        let staff_kit = |before: Option<&str>| {
            let ask = if status.kit_confirmed {
                "The emergency kit names old places for copies: ask the owner (a super-admin) to save it again"
            } else {
                "The emergency kit is not saved yet: ask the owner (a super-admin) to save it"
            };
            Some(match before {
                Some(local) => format!("{local}; {}", lowercase_first(ask)),
                None => ask.to_string(),
            })
        };
        if status.targets.iter().all(|t| !t.enabled) && local.level == HealthLevel::Green {
            let when = if local.changes_in_no_backup {
                format!(" — {}", lowercase_first(&local.message))
            } else {
                local
                    .last_backup
                    .map(|at| format!(" — last backup {}", timefmt::ago(at, now)))
                    .unwrap_or_default()
            };
            return line(
                HealthLevel::Amber,
                format!(
                    "Backups only on this computer{when}. Set up an off-site copy (a USB drive, a network folder or cloud storage) on the Database Backup page"
                ),
            );
        }
        if let Some(reason) = red {
            return line(HealthLevel::Red, reason);
        }
        if local.level == HealthLevel::Amber {
            let for_staff = kit_task.then(|| staff_kit(Some(&local.message))).flatten();
            let message = match amber {
                Some(more) => format!("{}; {}", local.message, lowercase_first(&more)),
                None => local.message,
            };
            return Health {
                for_staff,
                ..line(HealthLevel::Amber, message)
            };
        }
        if let Some(reason) = amber {
            return Health {
                for_staff: kit_task.then(|| staff_kit(None)).flatten(),
                ..line(HealthLevel::Amber, reason)
            };
        }
        let newest = status
            .targets
            .iter()
            .filter(|t| t.enabled)
            .filter_map(|t| t.progress.last_copy_at.map(|at| (at, &t.name)))
            .max();
        let message = match newest {
            Some((at, name)) => format!(
                "{}, off-site copy on {name} {}",
                local.message,
                timefmt::ago(at, now)
            ),
            None => local.message,
        };
        line(HealthLevel::Green, message)
    }
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_lowercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

/// The first red reason and the first amber reason, if any, and whether that amber reason is
/// the kit's (a task for the owner alone).
fn judge(status: &OffsiteStatus, now: DateTime<Utc>) -> (Option<String>, Option<String>, bool) {
    let enabled: Vec<&TargetStatus> = status.targets.iter().filter(|t| t.enabled).collect();
    if enabled.is_empty() {
        return (
            None,
            Some(
                "Copies only on this computer: set up an off-site copy (a USB drive, a network folder or cloud storage) on the Database Backup page"
                    .into(),
            ),
            false,
        );
    }
    let max_age = chrono::Duration::hours(i64::from(status.max_copy_age_hours));
    let mut red = None;
    let mut amber = None;
    for t in &enabled {
        let error = t.progress.last_error.clone().unwrap_or_default();
        if let Some(since) = t.progress.failing_since {
            if now - since > max_age {
                red.get_or_insert(format!(
                    "Off-site copies to {} have failed for {}: {error}",
                    t.name,
                    timefmt::span((now - since).num_seconds())
                ));
            } else if t.progress.unreachable {
                red.get_or_insert(format!(
                    "The off-site target {} cannot be reached: {error}",
                    t.name
                ));
            } else {
                amber.get_or_insert(format!(
                    "Off-site copies to {} are failing (trying again): {error}",
                    t.name
                ));
            }
        }
        if t.progress.same_disk_as_data {
            amber.get_or_insert(super::disk::same_disk_reason(&t.name));
        }
        if let Some(drill) = t.progress.last_drill.as_ref().filter(|d| !d.ok) {
            red.get_or_insert(format!(
                "The restore drill on {} failed: {}",
                t.name, drill.message
            ));
        }
        match t.progress.last_copy_at {
            None => {
                amber.get_or_insert(format!("No off-site copy on {} yet", t.name));
            }
            Some(at) if now - at > max_age => {
                amber.get_or_insert(format!(
                    "The newest off-site copy on {} is {} old",
                    t.name,
                    timefmt::span((now - at).num_seconds())
                ));
            }
            Some(_) => {}
        }
    }
    let kit = if !status.kit_confirmed {
        Some(
            "Save the emergency kit (Database Backup page): without it the off-site copies cannot be opened",
        )
    } else if status.kit_places_changed {
        Some(
            "The places for copies changed since the emergency kit was saved: save it again (Database Backup page), the saved one names old places",
        )
    } else {
        None
    };
    let kit_task = amber.is_none() && kit.is_some();
    if let Some(kit) = kit {
        amber.get_or_insert(kit.into());
    }
    (red, amber, kit_task)
}
