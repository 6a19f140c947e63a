//! Which backups stay: the rules of the cap on their number (removing them is `removal.rs`).
//!
//! After every new backup the oldest backups above `max_backups` are removed, but never the
//! newest backup of each kind, a backup marked Keep, the one just made, or one an operation is
//! reading. Kept backups count toward the cap; when only protected backups are left above it,
//! the cap is exceeded rather than a protected backup removed. The rules are pure functions
//! over the list of backups ([`plan`], [`outlook`]), so they can be tested without files.

use std::collections::HashSet;

use serde::Serialize;

use super::catalog::BackupEntry;
use super::names::{BackupKind, EXTRA_ALLOWANCE};

/// What retention will do with the list of backups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionPlan {
    /// The backups to remove, oldest first.
    pub remove: Vec<String>,
    /// How many backups stay above the cap because all of them are protected.
    pub over_cap_by: usize,
}

/// What the status page says about the cap.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RetentionOutlook {
    /// The backup the next automatic backup would remove (the oldest of them, if the cap
    /// was lowered and it would remove several); `None` when it would remove none.
    pub next_automatic_pushes_out: Option<String>,
    /// How many backups are above the cap now because retention may not remove them.
    pub over_cap_by: usize,
}

/// One backup as retention sees it.
struct Item<'a> {
    file_name: &'a str,
    kind: BackupKind,
    keep: bool,
    /// Known to be bad (a failed check, or rot found by the scrub): never "the newest of its
    /// kind", so the good one before it is what stays.
    failed: bool,
}

impl<'a> From<&'a BackupEntry> for Item<'a> {
    fn from(entry: &'a BackupEntry) -> Item<'a> {
        Item {
            file_name: &entry.file_name,
            kind: entry.kind(),
            keep: entry.keep(),
            failed: matches!(entry.state(), super::catalog::BackupState::Failed(_)),
        }
    }
}

/// The plan for `entries` (newest first, as the catalog lists them) under a cap of `max`.
/// `just_made` is the backup that caused this run; `in_use` says whether an operation is
/// reading a backup.
pub fn plan(
    entries: &[BackupEntry],
    max: usize,
    just_made: Option<&str>,
    in_use: impl Fn(&str) -> bool,
) -> RetentionPlan {
    let items: Vec<Item<'_>> = entries.iter().map(Item::from).collect();
    plan_items(&items, max, just_made, &in_use)
}

/// Stands for the backup that does not exist yet in [`outlook`].
const NEXT_AUTOMATIC: &str = "(the next automatic backup)";

/// What the next automatic backup would remove, found by planning for the list with one
/// more automatic backup in front, and how far the list is over the cap now.
pub fn outlook(
    entries: &[BackupEntry],
    max: usize,
    in_use: impl Fn(&str) -> bool,
) -> RetentionOutlook {
    let mut items = vec![Item {
        file_name: NEXT_AUTOMATIC,
        kind: BackupKind::Automatic,
        keep: false,
        failed: false,
    }];
    items.extend(entries.iter().map(Item::from));
    let next = plan_items(&items, max, Some(NEXT_AUTOMATIC), &in_use);
    let now = plan_items(&items[1..], max, None, &in_use);
    RetentionOutlook {
        next_automatic_pushes_out: next.remove.into_iter().next(),
        over_cap_by: now.over_cap_by,
    }
}

/// The history (startup, automatic, manual) under `max`, and apart from it the safety copies
/// and brought-in files under [`EXTRA_ALLOWANCE`]; `over_cap_by` is the history's.
fn plan_items(
    items: &[Item<'_>],
    max: usize,
    just_made: Option<&str>,
    in_use: &dyn Fn(&str) -> bool,
) -> RetentionPlan {
    let history = plan_group(items, BackupKind::counts_toward_cap, max, just_made, in_use);
    let extras = plan_group(
        items,
        BackupKind::counts_as_extra,
        EXTRA_ALLOWANCE,
        just_made,
        in_use,
    );
    let mut remove = history.remove;
    remove.extend(extras.remove);
    RetentionPlan {
        remove,
        over_cap_by: history.over_cap_by,
    }
}

fn plan_group(
    items: &[Item<'_>],
    member: fn(BackupKind) -> bool,
    max: usize,
    just_made: Option<&str>,
    in_use: &dyn Fn(&str) -> bool,
) -> RetentionPlan {
    let counted: Vec<&Item<'_>> = items.iter().filter(|i| member(i.kind)).collect();
    let mut kinds_seen = HashSet::new();
    // Newest first, so the first of each kind is its newest.
    let protected: Vec<bool> = counted
        .iter()
        .map(|i| {
            let newest_of_kind = !i.failed && kinds_seen.insert(i.kind);
            newest_of_kind || i.keep || Some(i.file_name) == just_made || in_use(i.file_name)
        })
        .collect();
    let mut excess = counted.len().saturating_sub(max);
    let mut remove = Vec::new();
    for (item, protected) in counted.iter().zip(&protected).rev() {
        if excess == 0 {
            break;
        }
        if !protected {
            remove.push(item.file_name.to_string());
            excess -= 1;
        }
    }
    RetentionPlan {
        remove,
        over_cap_by: excess,
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use chrono::Utc;

    use super::*;
    use crate::backup::catalog::{Origin, Sidecar, Verification};
    use crate::backup::copy::FileFacts;
    use crate::backup::names::BackupName;

    /// A listed backup without a file (retention only reads the list).
    fn entry(file_name: &str, keep: bool) -> BackupEntry {
        let name = BackupName::parse(file_name).unwrap();
        let facts = FileFacts {
            sha256: String::new(),
            size: 0,
            page_size: 0,
            page_count: 0,
            schema_version: 0,
            row_counts: Default::default(),
        };
        let origin = Origin {
            kind: name.kind,
            file_name: file_name.into(),
            created_at: Utc::now(),
            created_by: "t".into(),
            description: String::new(),
            duration_ms: 0,
        };
        let mut sidecar = Sidecar::from_facts(
            origin,
            &facts,
            Verification::passed("quick_check", Utc::now()),
            None,
        );
        sidecar.keep = keep;
        BackupEntry {
            name,
            file_name: file_name.into(),
            path: PathBuf::from(file_name),
            size: 0,
            modified: None,
            sidecar: Some(sidecar),
            sidecar_problem: None,
            header_ok: true,
        }
    }

    fn manual(day: u32, keep: bool) -> BackupEntry {
        entry(&format!("manual_202501{day:02}_120000.db"), keep)
    }

    fn automatic(day: u32) -> BackupEntry {
        entry(&format!("backup_202501{day:02}_120000.db"), false)
    }

    fn nothing_in_use(_: &str) -> bool {
        false
    }

    fn names(entries: &[&BackupEntry]) -> Vec<String> {
        entries.iter().map(|e| e.file_name.clone()).collect()
    }

    #[test]
    fn the_oldest_go_first_but_never_the_newest_of_a_kind() {
        let (m5, m4, a3, m2) = (
            manual(5, false),
            manual(4, false),
            automatic(3),
            manual(2, false),
        );
        let startup = entry("startup_backup.db", false);
        let safety = entry("pre_restore_20250101_120000.db", false);
        let list = vec![
            m5.clone(),
            m4.clone(),
            a3.clone(),
            m2.clone(),
            safety.clone(),
            startup.clone(),
        ];
        let plan = plan(&list, 2, Some(&m5.file_name), nothing_in_use);
        assert_eq!(plan.remove, names(&[&m2, &m4]), "oldest first");
        // Five in the history (the safety copy is apart), cap two, two removed: the newest
        // startup and automatic backups stay above the cap.
        assert_eq!(plan.over_cap_by, 1);
    }

    #[test]
    fn a_damaged_backup_is_not_the_newest_of_its_kind() {
        let mut damaged = automatic(3);
        if let Some(s) = damaged.sidecar.as_mut() {
            s.verification = Verification::failed("sha256", Utc::now(), &"changed on disk");
        }
        let good = automatic(2);
        let list = vec![
            manual(4, false),
            damaged.clone(),
            good.clone(),
            manual(1, false),
        ];
        let plan = plan(&list, 1, Some(&list[0].file_name), nothing_in_use);
        // The good automatic backup stays as the newest of its kind; the damaged one goes.
        assert!(!plan.remove.contains(&good.file_name), "{:?}", plan.remove);
        assert!(
            plan.remove.contains(&damaged.file_name),
            "{:?}",
            plan.remove
        );
    }

    #[test]
    fn safety_copies_and_uploads_never_push_out_the_history() {
        // A full history of ten, then a restore's safety copy and an upload: none of the ten
        // goes, and the extras have their own allowance.
        let mut list: Vec<BackupEntry> = (1..=10).rev().map(automatic).collect();
        let mut extras: Vec<BackupEntry> = (1..=7)
            .rev()
            .map(|d| entry(&format!("pre_restore_202502{d:02}_120000.db"), false))
            .collect();
        extras.push(entry("uploaded_20250101_120000_shop.db", false));
        list.splice(0..0, extras.clone());
        let plan = plan(&list, 10, Some(&extras[0].file_name), nothing_in_use);
        // Eight extras, five allowed: the three oldest safety copies go (the only upload is
        // the newest of its kind); no automatic backup is touched.
        assert_eq!(
            plan.remove,
            vec![
                extras[6].file_name.clone(),
                extras[5].file_name.clone(),
                extras[4].file_name.clone()
            ]
        );
        assert_eq!(plan.over_cap_by, 0);
        // The newest safety copy (the undo) is protected like the newest of any kind.
        let plan = super::plan(&list, 10, None, nothing_in_use);
        assert!(!plan.remove.contains(&extras[0].file_name));
        assert_eq!(plan.remove.len(), 3);
    }

    #[test]
    fn kept_backups_stay_and_count_toward_the_cap() {
        let list: Vec<BackupEntry> = (1..=6).rev().map(|d| manual(d, d == 2)).collect();
        let plan = plan(&list, 3, Some(&list[0].file_name), nothing_in_use);
        // Left: days 6, 5 and the kept day 2 — three, the cap.
        assert_eq!(
            plan.remove,
            vec![
                list[5].file_name.clone(),
                list[3].file_name.clone(),
                list[2].file_name.clone()
            ]
        );
        assert_eq!(plan.over_cap_by, 0);
    }

    #[test]
    fn the_cap_is_exceeded_when_only_protected_backups_remain() {
        let list = vec![
            manual(5, false),
            automatic(4),
            manual(3, true),
            manual(2, true),
            manual(1, false),
        ];
        let in_use = |name: &str| name == list[4].file_name;
        let plan = plan(&list, 1, Some(&list[0].file_name), in_use);
        assert!(plan.remove.is_empty(), "{:?}", plan.remove);
        assert_eq!(plan.over_cap_by, 4);
    }

    #[test]
    fn broken_copies_are_neither_counted_nor_removed() {
        let broken = entry("broken_20250101_120000.db", false);
        let list = vec![manual(3, false), broken.clone(), manual(2, false)];
        let plan = plan(&list, 2, None, nothing_in_use);
        assert_eq!(plan, RetentionPlan::default());
        let plan = super::plan(&list, 1, None, nothing_in_use);
        assert_eq!(plan.remove, vec![list[2].file_name.clone()]);
    }

    #[test]
    fn the_outlook_names_what_the_next_automatic_backup_pushes_out() {
        let list = vec![
            automatic(4),
            manual(3, false),
            automatic(2),
            manual(1, false),
        ];
        let seen = outlook(&list, 4, nothing_in_use);
        assert_eq!(
            seen.next_automatic_pushes_out.as_deref(),
            Some(list[3].file_name.as_str())
        );
        assert_eq!(seen.over_cap_by, 0);
        // With the oldest kept, the older automatic backup goes instead.
        let list = vec![
            automatic(4),
            manual(3, false),
            automatic(2),
            manual(1, true),
        ];
        let seen = outlook(&list, 4, nothing_in_use);
        assert_eq!(
            seen.next_automatic_pushes_out.as_deref(),
            Some(list[2].file_name.as_str())
        );
        // Room left under the cap: nothing is pushed out.
        assert_eq!(
            outlook(&list, 5, nothing_in_use),
            RetentionOutlook::default()
        );
    }

    #[test]
    fn the_outlook_counts_protected_backups_above_the_cap() {
        // Cap one: a kept manual backup and the newest automatic one are both protected now;
        // the next automatic backup makes the current one removable.
        let list = vec![automatic(2), manual(1, true)];
        let seen = outlook(&list, 1, nothing_in_use);
        assert_eq!(
            seen.next_automatic_pushes_out.as_deref(),
            Some(list[0].file_name.as_str())
        );
        assert_eq!(seen.over_cap_by, 1);
    }
}
