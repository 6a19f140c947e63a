//! Is the live data in a backup? Backups that hold no shop records (a fresh install's
//! startup backup, one with only accounts) are never what emergency restore picks while one
//! with records exists; the data's change marker tells the health line whether the live data
//! has changes that are in no backup; and a backup is made once data arrives (the first
//! account, sample data, data brought in) even when another backup is running just then.
//!
//! The marker: every insert, update or delete in the business tables and `users` gives the
//! one row of `data_marker` a new random value (triggers, migration 7). A backup is a copy of
//! the database, so it carries the marker of the data it holds; the live data is in a backup
//! exactly when some backup has the live marker. It survives restarts, sees writes from other
//! processes (the command line), and a restore brings the backup's own marker back. Counting
//! rows would miss edits and be slow on a big shop; SQLite's `data_version` only compares
//! two moments of one connection, and the header's change counter is not kept up in WAL mode.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension};

use super::catalog::{BackupEntry, BackupState};
use super::{BackupEngine, BackupError, CreateRequest, lock};

/// The tables whose rows make a shop (accounts alone do not).
pub const SHOP_TABLES: [&str; 6] = [
    "products",
    "customers",
    "sales",
    "sale_lines",
    "stock_adjustments",
    "product_events",
];

/// The tables whose changes give the data a new marker: the accounts and the shop's.
pub const MARKED_TABLES: [&str; SHOP_TABLES.len() + 1] = {
    let mut all = ["users"; SHOP_TABLES.len() + 1];
    let mut i = 0;
    while i < SHOP_TABLES.len() {
        all[i + 1] = SHOP_TABLES[i];
        i += 1;
    }
    all
};

pub const MARKER_TABLE: &str = "data_marker";

/// Migration 7's triggers: each change in a marked table renews the marker.
pub fn create_marker_triggers(conn: &Connection) -> rusqlite::Result<()> {
    for table in MARKED_TABLES {
        for event in ["INSERT", "UPDATE", "DELETE"] {
            conn.execute_batch(&format!(
                "CREATE TRIGGER {table}_{event}_marker AFTER {event} ON {table}
                 BEGIN UPDATE {MARKER_TABLE} SET marker = lower(hex(randomblob(8))); END;",
                event = event.to_lowercase()
            ))?;
        }
    }
    Ok(())
}

/// The data's marker (`None` for a database from before markers).
pub fn read_marker(conn: &Connection) -> rusqlite::Result<Option<String>> {
    let has_table: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
        [MARKER_TABLE],
        |r| r.get(0),
    )?;
    if !has_table {
        return Ok(None);
    }
    conn.query_row(
        &format!("SELECT marker FROM {MARKER_TABLE} WHERE id = 1"),
        [],
        |r| r.get(0),
    )
    .optional()
}

/// Whether the database holds any shop records (cheap: one probe per table).
pub fn has_shop_records(conn: &Connection) -> rusqlite::Result<bool> {
    for table in SHOP_TABLES {
        let any: bool =
            conn.query_row(&format!("SELECT EXISTS (SELECT 1 FROM {table})"), [], |r| {
                r.get(0)
            })?;
        if any {
            return Ok(true);
        }
    }
    Ok(false)
}

/// What a backup's record says: `Some(false)` when it holds no shop records, `None` when
/// that is unknown (no record, or a record without row counts).
pub fn holds_shop_records(entry: &BackupEntry) -> Option<bool> {
    let counts = &entry.sidecar.as_ref()?.row_counts;
    if counts.is_empty() {
        return None;
    }
    Some(
        SHOP_TABLES
            .iter()
            .any(|t| counts.get(*t).copied().unwrap_or(0) > 0),
    )
}

/// Whether any regular backup not known to be bad holds shop records: then the empty ones
/// are never the emergency choice.
pub fn shop_backup_exists(entries: &[BackupEntry]) -> bool {
    entries.iter().any(|e| {
        e.kind().is_regular()
            && !matches!(e.state(), BackupState::Failed(_))
            && holds_shop_records(e) == Some(true)
    })
}

/// A backup file's marker and the size and modification time it was read at.
type Read = (u64, Option<i64>, Option<String>);

/// Markers read from backup files, by name.
#[derive(Default)]
pub struct Markers(Mutex<HashMap<String, Read>>);

impl Markers {
    fn of(&self, entry: &BackupEntry) -> Option<String> {
        let stamp = (entry.size, entry.mtime_ms());
        if let Some((size, mtime, marker)) = lock(&self.0).get(&entry.file_name)
            && (*size, *mtime) == stamp
        {
            return marker.clone();
        }
        let marker = read_file_marker(&entry.path);
        lock(&self.0).insert(entry.file_name.clone(), (stamp.0, stamp.1, marker.clone()));
        marker
    }
}

fn read_file_marker(path: &Path) -> Option<String> {
    let conn = crate::db::open_immutable(path).ok()?;
    read_marker(&conn).ok().flatten()
}

/// The live data compared with the backups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// Some backup holds exactly the live data.
    InABackup,
    /// The live data has changes that are in no backup.
    ChangedSince { shop_in_no_backup: bool },
    /// Cannot tell (backups from before markers, the database closed for a restore).
    Unknown,
}

impl BackupEngine {
    /// Compares the live data with every backup not known to be bad (`entries` newest first).
    pub(crate) fn coverage(&self, entries: &[BackupEntry]) -> Coverage {
        let live = self
            .db
            .with_conn(|c| Ok::<_, crate::db::DbError>((read_marker(c)?, has_shop_records(c)?)));
        let Ok((Some(live), live_has_shop)) = live else {
            return Coverage::Unknown;
        };
        let usable: Vec<&BackupEntry> = entries
            .iter()
            .filter(|e| e.kind().counts_toward_cap())
            .filter(|e| !matches!(e.state(), BackupState::Failed(_)))
            .collect();
        let markers = &self.health_state().markers;
        let mut any_known = false;
        for entry in &usable {
            match markers.of(entry) {
                Some(m) if m == live => return Coverage::InABackup,
                Some(_) => any_known = true,
                None => {}
            }
        }
        // Known without markers: the newest backup has no shop records but the live data has.
        let shop_in_no_backup = live_has_shop
            && usable
                .first()
                .is_some_and(|e| holds_shop_records(e) == Some(false));
        if any_known || shop_in_no_backup {
            Coverage::ChangedSince { shop_in_no_backup }
        } else {
            Coverage::Unknown
        }
    }

    /// [`BackupEngine::create`], waiting up to `wait` while another backup or restore runs
    /// (the startup backup is often still running when the first account is made). Blocking.
    pub(crate) fn create_when_free(
        &self,
        request: &CreateRequest,
        wait: Duration,
    ) -> Result<BackupEntry, BackupError> {
        let deadline = Instant::now() + wait;
        loop {
            match self.create(request) {
                Err(e) if e.is_busy() && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                other => return other,
            }
        }
    }
}
