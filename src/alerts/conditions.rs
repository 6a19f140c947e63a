//! What is wrong right now, read from what the pages read (the backup engine's last attempt
//! and records, the off-site status, the disk), as problems in a shop owner's words with what
//! to do. Restores are found by the safety copy each one makes.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use super::event::{Event, Problem, Severity};
use super::settings::AlertSettings;
use crate::backup::{BackupEngine, BackupEntry, BackupKind};
use crate::offsite::Offsite;
use crate::timefmt;

/// The kit must be saved within this long after the first target was set up.
const KIT_GRACE: Duration = Duration::days(7);
/// A drill later than planned by more than this is overdue.
const DRILL_GRACE: Duration = Duration::days(1);
/// Free space below twice the data's size plus this is low.
const LOW_DISK_MARGIN: u64 = 200 * 1024 * 1024;

/// The problems seen now, and the counters of keys that have one.
pub fn problems(
    engine: &BackupEngine,
    offsite: &Offsite,
    settings: &AlertSettings,
    now: DateTime<Utc>,
) -> (Vec<Problem>, BTreeMap<String, u64>) {
    let mut seen = Vec::new();
    let mut counters = BTreeMap::new();
    let entries = engine.list().unwrap_or_default();
    local_problems(engine, &entries, now, &mut seen);
    let status = offsite.status();
    let after = Duration::minutes(i64::from(settings.after_minutes));
    for t in status.targets.iter().filter(|t| t.enabled) {
        let p = &t.progress;
        let key = format!("target-failing:{}", t.name);
        counters.insert(key.clone(), p.copies_sent);
        if let Some(since) = p.failing_since.filter(|since| now - *since >= after) {
            seen.push(Problem {
                key,
                event: "target-failing",
                severity: Severity::Warning,
                title: format!("Off-site copies to {} are failing", t.name),
                message: format!(
                    "Copies to {} ({}) have failed for {}: {}. Check that the drive is plugged in or the storage can be reached; Backroom keeps trying on its own.",
                    t.name,
                    t.location,
                    timefmt::span((now - since).num_seconds()),
                    p.last_error.as_deref().unwrap_or("no reason given")
                ),
                over: format!("{} works again", t.name),
                counter: Some((p.copies_sent, "copies")),
            });
        }
        if let Some(drill) = p.last_drill.as_ref().filter(|d| !d.ok) {
            seen.push(drill_problem(
                &t.name,
                "drill-failed",
                Severity::Critical,
                ("failed", "works again"),
                format!(
                    "Backroom could not bring back the newest copy on {}: {}. Run the drill again on the Database Backup page; if it fails again, make a new backup and send it.",
                    t.name, drill.message
                ),
            ));
        }
        if let Some(due) = t
            .next_drill_at
            .filter(|due| p.last_drill.is_some() && now - *due > DRILL_GRACE)
        {
            seen.push(drill_problem(
                &t.name,
                "drill-overdue",
                Severity::Warning,
                ("is overdue", "ran again"),
                format!(
                    "The drill that proves the copies on {} can be brought back was due {}. Start Backroom with the target reachable, or run the drill on the Database Backup page.",
                    t.name,
                    timefmt::local(due)
                ),
            ));
        }
    }
    let any_target = status.targets.iter().any(|t| t.enabled);
    let key_made = offsite
        .keyring()
        .ok()
        .flatten()
        .and_then(|k| DateTime::parse_from_rfc3339(&k.current().created).ok())
        .map(|at| at.with_timezone(&Utc));
    if any_target
        && !status.kit_confirmed
        && let Some(made) = key_made.filter(|made| now - *made > KIT_GRACE)
    {
        seen.push(Problem {
            key: "kit-not-saved".into(),
            event: "kit-not-saved",
            severity: Severity::Warning,
            title: "The emergency kit is not saved".into(),
            message: format!(
                "Off-site copies were set up {} but the emergency kit was never saved: without it nobody can open them. Open Database Backup, save the kit and keep it away from this computer.",
                timefmt::local(made)
            ),
            over: "The emergency kit is saved".into(),
            counter: None,
        });
    }
    (seen, counters)
}

/// A problem with a target's restore drill: keyed `event:target`, titled "The restore drill
/// on target …" with `wrong` now and with `over` when it ends.
fn drill_problem(
    target: &str,
    event: &'static str,
    severity: Severity,
    (wrong, over): (&str, &str),
    message: String,
) -> Problem {
    Problem {
        key: format!("{event}:{target}"),
        event,
        severity,
        title: format!("The restore drill on {target} {wrong}"),
        message,
        over: format!("The restore drill on {target} {over}"),
        counter: None,
    }
}

fn local_problems(
    engine: &BackupEngine,
    entries: &[BackupEntry],
    now: DateTime<Utc>,
    seen: &mut Vec<Problem>,
) {
    if let Some(attempt) = engine.last_attempt().filter(|a| !a.ok) {
        seen.push(Problem {
            key: "backup-failed".into(),
            event: "backup-failed",
            severity: Severity::Critical,
            title: "A backup failed".into(),
            message: format!(
                "The last backup ({}) failed: {}. Make one on the Database Backup page; if that fails too, check the disk and the Recent activity list there.",
                timefmt::local(attempt.at),
                attempt.message
            ),
            over: "Backups work again".into(),
            counter: None,
        });
    }
    for rotten in entries.iter().filter(|e| {
        e.sidecar.as_ref().is_some_and(|s| {
            !s.verification.ok && s.verification.method == crate::backup::scrub::SCRUB_METHOD
        })
    }) {
        seen.push(Problem {
            key: format!("damaged:{}", rotten.file_name),
            event: "backup-damaged",
            severity: Severity::Critical,
            title: format!("Backup {} is damaged", rotten.file_name),
            message: format!(
                "Backup {} changed on disk since it was made: the disk may be failing. Make a new backup, have the disk checked, and delete the damaged one on its page.",
                rotten.file_name
            ),
            over: format!("The damaged backup {} is gone", rotten.file_name),
            counter: None,
        });
    }
    if let (Some(interval), Some(newest)) = (
        engine.settings().interval(),
        crate::backup::catalog::newest_usable(entries),
    ) {
        let age = now - newest.created_at();
        let limit = Duration::from_std(interval * 2).unwrap_or(Duration::MAX);
        if age > limit {
            seen.push(Problem {
                key: "no-recent-backup".into(),
                event: "no-recent-backup",
                severity: Severity::Warning,
                title: "No backup for a long time".into(),
                message: format!(
                    "The newest backup is {} old, more than twice the planned interval. Is Backroom running all day? Make a backup on the Database Backup page.",
                    timefmt::span(age.num_seconds())
                ),
                over: "Backups are made again".into(),
                counter: None,
            });
        }
    }
    let paths = engine.paths();
    let data_size = std::fs::metadata(&paths.db).map_or(0, |m| m.len());
    if let Ok(free) = crate::fsutil::available_space(&paths.data_dir)
        && free < data_size.saturating_mul(2).saturating_add(LOW_DISK_MARGIN)
    {
        seen.push(Problem {
            key: "low-disk".into(),
            event: "low-disk",
            severity: Severity::Warning,
            title: "The disk is nearly full".into(),
            message: format!(
                "Only {} is free on the disk that holds the shop's data ({} of data): soon no backup will fit. Free some space or move old files away.",
                crate::fsutil::human_size(free),
                crate::fsutil::human_size(data_size)
            ),
            over: "There is room on the disk again".into(),
            counter: None,
        });
    }
}

/// Restores and undos done since `seen` (the place of the newest safety copy told about),
/// found by the safety copy each one makes; and the new mark. The first look only sets it.
pub fn restores(
    entries: &[BackupEntry],
    seen: Option<u64>,
    now: DateTime<Utc>,
) -> (Vec<Event>, u64) {
    let safety: Vec<(u64, &BackupEntry)> = entries
        .iter()
        .filter(|e| e.kind() == BackupKind::PreRestore)
        .filter_map(|e| e.sidecar.as_ref().and_then(|s| s.order).map(|o| (o, e)))
        .collect();
    let newest = safety.iter().map(|(o, _)| *o).max().unwrap_or(0);
    let Some(seen) = seen else {
        return (Vec::new(), newest);
    };
    let mut told: Vec<(u64, Event)> = safety
        .into_iter()
        .filter(|(o, _)| *o > seen)
        .filter_map(|(o, e)| e.sidecar.as_ref().map(|s| (o, e, s)))
        .map(|(o, e, s)| {
            (
                o,
                Event {
                    event: "restore-done".into(),
                    severity: Severity::Info,
                    title: format!("Data was put back from a backup by {}", s.created_by),
                    message: format!(
                        "{} put back an earlier state of the shop's data ({}). What was there just before is kept as {}: if this was a mistake, open it on the Database Backup page and choose Undo this restore.",
                        s.created_by, s.description, e.file_name
                    ),
                    at: now,
                },
            )
        })
        .collect();
    told.sort_by_key(|(o, _)| *o);
    (told.into_iter().map(|(_, e)| e).collect(), newest.max(seen))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_look_at_restores_only_sets_the_mark_and_the_mark_never_goes_back() {
        let now = Utc::now();
        assert_eq!(restores(&[], None, now), (Vec::new(), 0));
        // Safety copies removed by retention do not make old restores new again.
        assert_eq!(restores(&[], Some(7), now), (Vec::new(), 7));
    }
}
