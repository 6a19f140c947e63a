//! How backups look on the page and in the JSON API: one view model for both, so they always
//! say the same thing; and the reads and the restore both run off the async workers.

use std::collections::BTreeMap;

use actix_web::web;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::actions::backups::{self, Restore};
use crate::auth::permission::SuperAdmin;
use crate::backup::health::{Health, LiveCheck};
use crate::backup::scheduler::ScheduleInfo;
use crate::backup::{
    BackupEntry, BackupKind, Progress, RestoreOptions, RestoreReport, RetentionOutlook, catalog,
};
use crate::config::Settings;
use crate::db::{self, DbError};
use crate::web::http::state::AppState;
use crate::web::http::{AppError, blocking, run_db};
use crate::{fsutil, timefmt};

/// One backup as lists show it.
#[derive(Debug, Clone, Serialize)]
pub struct BackupRow {
    pub name: String,
    /// What a person calls it: "before stock-take — Wed 2 Dec, 15:57".
    pub label: String,
    /// The description when the label does not lead with it (a safety copy's "Made before
    /// restoring …"), shown under the label.
    pub note: String,
    pub kind: BackupKind,
    pub kind_label: &'static str,
    pub created_at: DateTime<Utc>,
    pub created_local: String,
    pub ago: String,
    pub size: u64,
    pub size_human: String,
    pub description: String,
    pub created_by: String,
    pub state: &'static str,
    pub state_reason: String,
    pub is_newest: bool,
    /// Marked Keep by a super-admin: retention never removes it, nobody can delete it.
    pub keep: bool,
    pub sha256: String,
    pub schema_version: Option<i64>,
    /// Dated in the future: made while the computer's clock was wrong (its place in the
    /// list comes from the order backups were made in, not from that date).
    pub clock_was_wrong: bool,
}

impl BackupRow {
    pub fn from_entry(entry: &BackupEntry, newest: Option<&str>, now: DateTime<Utc>) -> BackupRow {
        let state = entry.state();
        BackupRow {
            name: entry.file_name.clone(),
            label: entry.label(),
            note: if timefmt::backup_what(entry.kind(), entry.description())
                .contains(entry.description().trim())
            {
                String::new()
            } else {
                entry.description().to_string()
            },
            kind: entry.kind(),
            kind_label: entry.kind().label(),
            created_at: entry.created_at(),
            created_local: timefmt::local(entry.created_at()),
            ago: timefmt::ago(entry.created_at(), now),
            size: entry.size,
            size_human: fsutil::human_size(entry.size),
            description: entry.description().to_string(),
            created_by: entry.created_by().to_string(),
            state: state.label(),
            state_reason: state.reason().to_string(),
            is_newest: newest == Some(entry.file_name.as_str()),
            keep: entry.keep(),
            sha256: entry
                .sidecar
                .as_ref()
                .map(|s| s.sha256.clone())
                .unwrap_or_default(),
            schema_version: entry.sidecar.as_ref().map(|s| s.schema_version),
            clock_was_wrong: entry.dated_in_future(now),
        }
    }

    /// May be deleted by an admin: not the newest, not kept.
    pub fn deletable(&self) -> bool {
        !self.is_newest && !self.keep
    }

    /// May carry a Keep mark (`startup_backup.db` is replaced at every start; the dated
    /// startup backups it becomes may be kept).
    pub fn can_keep(&self) -> bool {
        self.name != crate::backup::names::STARTUP_NAME
    }
}

/// The list rows, newest first, with the newest counted backup marked (it cannot be deleted).
pub fn backup_rows(entries: &[BackupEntry], now: DateTime<Utc>) -> Vec<BackupRow> {
    let newest = catalog::newest_counted(entries).map(|e| e.file_name.clone());
    entries
        .iter()
        .map(|e| BackupRow::from_entry(e, newest.as_deref(), now))
        .collect()
}

/// Everything the status page and `/api/backups/status` show.
#[derive(Debug, Clone, Serialize)]
pub struct StatusView {
    pub health: Health,
    pub backups: Vec<BackupRow>,
    pub counted: usize,
    /// Safety copies and brought-in files: kept apart from the history, up to `extra_allowance`.
    pub extras: usize,
    pub extra_allowance: usize,
    pub max_backups: u32,
    pub total_size: u64,
    pub total_size_human: String,
    pub latest: Option<String>,
    pub schedule: ScheduleInfo,
    pub next_run_local: String,
    pub next_run_ago: String,
    pub operation: Option<Progress>,
    pub quick_check: Option<LiveCheck>,
    pub integrity_check: Option<LiveCheck>,
    pub database_size: u64,
    pub database_size_human: String,
    pub backups_dir: String,
    pub free_space: Option<u64>,
    pub free_space_human: String,
    pub settings: Settings,
    pub emergency_candidate: Option<String>,
    /// The same backup as a person calls it.
    pub emergency_candidate_label: Option<String>,
    /// Which backup the next automatic one will push out, and by how much kept backups
    /// hold the count over the cap.
    pub retention: RetentionOutlook,
    pub offsite: crate::offsite::OffsiteStatus,
    /// The last restore, while it can still be undone from the page.
    pub undo: Option<UndoOffer>,
}

/// How long after a restore the status page offers to undo it (the safety backup stays in
/// the list for longer: it can be restored like any backup).
pub const UNDO_OFFER_DAYS: i64 = 7;

/// "Undo this restore": put back the safety backup the last restore made.
#[derive(Debug, Clone, Serialize)]
pub struct UndoOffer {
    /// The safety backup (`pre_restore_...db`).
    pub name: String,
    /// What a person calls it ("safety copy before a restore — Wed 2 Dec, 15:57").
    pub label: String,
    /// Which restore it belongs to ("Made before restoring X on D by U").
    pub description: String,
    pub ago: String,
}

/// The newest safety backup, when it was made in the last [`UNDO_OFFER_DAYS`] days.
pub fn undo_offer(entries: &[BackupEntry], now: DateTime<Utc>) -> Option<UndoOffer> {
    let newest = entries
        .iter()
        .filter(|e| e.kind() == BackupKind::PreRestore)
        .max_by_key(|e| e.created_at())?;
    if now - newest.created_at() > chrono::Duration::days(UNDO_OFFER_DAYS) {
        return None;
    }
    Some(UndoOffer {
        name: newest.file_name.clone(),
        label: newest.label(),
        description: match newest.description() {
            "" => format!(
                "Made before a restore on {}",
                timefmt::friendly(newest.created_at())
            ),
            d => d.to_string(),
        },
        ago: timefmt::ago(newest.created_at(), now),
    })
}

/// A check method as a clerk reads it.
pub fn check_method_words(method: &str) -> &'static str {
    match method {
        "quick_check" => "quick check",
        "integrity_check" => "thorough check",
        "restore check" => "check before a restore",
        _ => "check",
    }
}

/// Gathers the status (blocking: reads the folder and the off-site status file).
pub fn status_view(state: &AppState, schedule: ScheduleInfo, now: DateTime<Utc>) -> StatusView {
    let engine = &state.engine;
    engine.refresh_quick_check_if_stale();
    let entries = engine.list().unwrap_or_default();
    let backups = backup_rows(&entries, now);
    let settings = engine.settings();
    let paths = engine.paths();
    let database_size = std::fs::metadata(&paths.db).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(paths.db_sidecar("-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
    let free_space = fsutil::available_space(&paths.data_dir).ok();
    let emergency = catalog::emergency_choice(&entries);
    let emergency_candidate = emergency.map(|e| e.file_name.clone());
    let emergency_candidate_label = emergency.map(BackupEntry::label);
    let total_size = entries.iter().map(|e| e.size).sum();
    StatusView {
        health: state.health(),
        offsite: state.offsite.status(),
        counted: entries
            .iter()
            .filter(|e| e.kind().counts_toward_cap())
            .count(),
        extras: entries
            .iter()
            .filter(|e| e.kind().counts_as_extra())
            .count(),
        extra_allowance: crate::backup::names::EXTRA_ALLOWANCE,
        max_backups: settings.max_backups,
        total_size,
        total_size_human: fsutil::human_size(total_size),
        latest: entries.first().map(|e| {
            format!(
                "{} ({})",
                timefmt::local(e.created_at()),
                timefmt::ago(e.created_at(), now)
            )
        }),
        next_run_local: schedule
            .next_run
            .map(timefmt::local_seconds)
            .unwrap_or_default(),
        next_run_ago: schedule
            .next_run
            .map(|t| timefmt::ago(t, now))
            .unwrap_or_default(),
        schedule,
        operation: engine.progress(),
        quick_check: engine.last_quick_check(),
        integrity_check: engine.last_full_check(),
        database_size,
        database_size_human: fsutil::human_size(database_size),
        backups_dir: paths.backups.display().to_string(),
        free_space,
        free_space_human: free_space
            .map(fsutil::human_size)
            .unwrap_or_else(|| "unknown".into()),
        settings,
        emergency_candidate,
        emergency_candidate_label,
        retention: engine.retention_outlook().unwrap_or_default(),
        undo: undo_offer(&entries, now),
        backups,
    }
}

pub async fn load_status(state: &web::Data<AppState>) -> Result<StatusView, AppError> {
    let st = state.clone();
    let schedule = state.scheduler.info();
    let now = state.clock.now();
    blocking(move || Ok::<_, AppError>(status_view(&st, schedule, now))).await
}

/// Looks a name up in the catalog (never joins it to a path as given), off the async workers.
pub async fn find_backup(state: &AppState, name: String) -> Result<BackupEntry, AppError> {
    let engine = state.engine.clone();
    blocking(move || engine.find(&name)).await
}

/// The newest counted backup's name (it may not be deleted), off the async workers.
pub async fn newest_name(state: &AppState) -> Result<Option<String>, AppError> {
    let engine = state.engine.clone();
    blocking(move || backups::newest_name(&engine)).await
}

/// The restore use-case off the async workers (the page's restores and the API's).
pub async fn run_restore(
    state: &web::Data<AppState>,
    boss: SuperAdmin,
    which: Restore,
    options: RestoreOptions,
) -> Result<RestoreReport, AppError> {
    let st = state.clone();
    blocking(move || backups::restore(&st.engine, &st.auth, &boss, which, options)).await
}

/// Row counts of the live database, per table.
pub async fn current_counts(
    state: &web::Data<AppState>,
) -> Result<BTreeMap<String, i64>, AppError> {
    run_db(state, |c| db::table_row_counts(c).map_err(DbError::from)).await
}

/// A table's name in words ("Sale lines", not `sale_lines`).
pub fn table_label(table: &str) -> String {
    match table {
        "products" => "Products".into(),
        "customers" => "Customers".into(),
        "sales" => "Sales".into(),
        "sale_lines" => "Sale lines".into(),
        "stock_adjustments" => "Stock changes".into(),
        "users" => "People with an account".into(),
        other => {
            let spaced = other.replace('_', " ");
            let mut chars = spaced.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
                .unwrap_or_default()
        }
    }
}

/// One table's rows in a backup beside the live database.
pub struct CountRow {
    pub table: String,
    pub label: String,
    pub backup: i64,
    pub current: i64,
}

impl CountRow {
    pub fn difference(&self) -> String {
        match self.backup - self.current {
            0 => "same".into(),
            d if d > 0 => format!("{d} more in the backup"),
            d => format!("{} more now", -d),
        }
    }
}

pub fn compare_counts(
    backup: &BTreeMap<String, i64>,
    current: &BTreeMap<String, i64>,
) -> Vec<CountRow> {
    let mut tables: Vec<&String> = backup.keys().chain(current.keys()).collect();
    tables.sort();
    tables.dedup();
    tables
        .into_iter()
        .map(|t| CountRow {
            table: t.clone(),
            label: table_label(t),
            backup: backup.get(t).copied().unwrap_or(0),
            current: current.get(t).copied().unwrap_or(0),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_compared_in_plain_words() {
        let backup = BTreeMap::from([("sale_lines".to_string(), 4), ("users".to_string(), 2)]);
        let now = BTreeMap::from([
            ("sale_lines".to_string(), 5),
            ("stock_adjustments".to_string(), 1),
        ]);
        let rows = compare_counts(&backup, &now);
        let words: Vec<(String, String)> = rows
            .iter()
            .map(|r| (r.label.clone(), r.difference()))
            .collect();
        assert_eq!(
            words,
            [
                ("Sale lines".to_string(), "1 more now".to_string()),
                ("Stock changes".to_string(), "1 more now".to_string()),
                (
                    "People with an account".to_string(),
                    "2 more in the backup".to_string()
                ),
            ]
        );
    }
}
