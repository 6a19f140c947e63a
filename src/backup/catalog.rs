//! The catalog of backups, read from the backup folder itself: every file whose name parses as
//! a backup name, with its JSON sidecar (`<name>.json`) when there is one. Nothing about backups
//! is stored in the main database, so restoring it never erases the record of newer backups.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Local, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::copy::FileFacts;
use super::names::{BackupKind, BackupName};
use crate::fsutil;

pub const SIDECAR_SUFFIX: &str = ".json";
/// How far ahead of now a backup's date may be before it counts as made with a wrong clock.
const CLOCK_SLACK_MINUTES: i64 = 10;
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// The result of the last check of a backup file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    pub ok: bool,
    /// `quick_check` or `integrity_check`.
    pub method: String,
    pub checked_at: DateTime<Utc>,
    pub message: String,
}

impl Verification {
    pub fn passed(method: &str, checked_at: DateTime<Utc>) -> Verification {
        Verification {
            ok: true,
            method: method.to_string(),
            checked_at,
            message: "ok".into(),
        }
    }

    pub fn failed(
        method: &str,
        checked_at: DateTime<Utc>,
        reason: &impl std::fmt::Display,
    ) -> Verification {
        Verification {
            ok: false,
            method: method.to_string(),
            checked_at,
            message: reason.to_string(),
        }
    }

    /// The outcome of a check: passed, or failed with the reason in words.
    pub fn of<E: std::fmt::Display>(
        method: &str,
        checked_at: DateTime<Utc>,
        outcome: &Result<(), E>,
    ) -> Verification {
        match outcome {
            Ok(()) => Verification::passed(method, checked_at),
            Err(reason) => Verification::failed(method, checked_at, reason),
        }
    }
}

/// Who made a backup, when and why: what a sidecar records besides the file's own facts.
#[derive(Debug, Clone)]
pub struct Origin {
    pub kind: BackupKind,
    pub file_name: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub description: String,
    pub duration_ms: u64,
}

/// Everything known about one backup, stored beside it as `<name>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sidecar {
    pub kind: BackupKind,
    pub file_name: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub description: String,
    pub size: u64,
    pub sha256: String,
    pub page_size: i64,
    pub page_count: i64,
    pub schema_version: i64,
    pub row_counts: BTreeMap<String, i64>,
    pub duration_ms: u64,
    pub verification: Verification,
    /// The file's modification time when it was last verified (ms since the epoch); a
    /// different time now means the file changed and must be verified again.
    #[serde(default)]
    pub file_mtime_ms: Option<i64>,
    pub program_version: String,
    /// Marked Keep: retention never removes it and nobody can delete it until the mark is
    /// removed. Records from before the mark existed read as not kept.
    #[serde(default)]
    pub keep: bool,
    /// Where the backup stands among those made in this folder: one more than the highest
    /// when it was made. "Newest" means the highest, not the latest clock time, so a backup
    /// made while the clock was wrong never stays the newest. Older records have none.
    #[serde(default)]
    pub order: Option<u64>,
}

impl Sidecar {
    /// The record of a backup file from where it came from and what inspecting it found.
    pub fn from_facts(
        origin: Origin,
        facts: &FileFacts,
        verification: Verification,
        file_mtime_ms: Option<i64>,
    ) -> Sidecar {
        Sidecar {
            kind: origin.kind,
            file_name: origin.file_name,
            created_at: origin.created_at,
            created_by: origin.created_by,
            description: origin.description,
            size: facts.size,
            sha256: facts.sha256.clone(),
            page_size: facts.page_size,
            page_count: facts.page_count,
            schema_version: facts.schema_version,
            row_counts: facts.row_counts.clone(),
            duration_ms: origin.duration_ms,
            verification,
            file_mtime_ms,
            program_version: crate::VERSION.to_string(),
            keep: false,
            order: None,
        }
    }
}

/// How a backup looks from the listing alone (no hashing).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", content = "reason", rename_all = "snake_case")]
pub enum BackupState {
    /// Checked and good, and the file has not changed since.
    Verified,
    /// Not known to be bad, but not checked since it last changed (or its sidecar was lost).
    Unverified(String),
    /// Known to be bad.
    Failed(String),
}

impl BackupState {
    pub fn label(&self) -> &'static str {
        match self {
            BackupState::Verified => "verified",
            BackupState::Unverified(_) => "unverified",
            BackupState::Failed(_) => "failed",
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            BackupState::Verified => "",
            BackupState::Unverified(r) | BackupState::Failed(r) => r,
        }
    }
}

/// One backup file in the folder.
#[derive(Debug, Clone)]
pub struct BackupEntry {
    pub name: BackupName,
    pub file_name: String,
    pub path: PathBuf,
    pub size: u64,
    pub modified: Option<SystemTime>,
    pub sidecar: Option<Sidecar>,
    /// Why the sidecar could not be used (missing, not JSON, about another file).
    pub sidecar_problem: Option<String>,
    pub header_ok: bool,
}

impl BackupEntry {
    pub fn created_at(&self) -> DateTime<Utc> {
        if let Some(s) = &self.sidecar {
            return s.created_at;
        }
        if let Some(stamp) = self.name.stamp
            && let Some(local) = Local.from_local_datetime(&stamp).earliest()
        {
            return local.with_timezone(&Utc);
        }
        self.modified
            .map(DateTime::<Utc>::from)
            .unwrap_or_else(|| DateTime::<Utc>::from(SystemTime::UNIX_EPOCH))
    }

    pub fn kind(&self) -> BackupKind {
        self.name.kind
    }

    pub fn description(&self) -> &str {
        self.sidecar.as_ref().map_or("", |s| s.description.as_str())
    }

    /// What a person calls it: "before stock-take — Wed 2 Dec, 15:57" (see `timefmt`).
    pub fn label(&self) -> String {
        crate::timefmt::backup_label(self.kind(), self.description(), self.created_at())
    }

    pub fn created_by(&self) -> &str {
        self.sidecar
            .as_ref()
            .map_or("unknown", |s| s.created_by.as_str())
    }

    pub fn mtime_ms(&self) -> Option<i64> {
        mtime_ms(self.modified)
    }

    /// Its place in the folder's order (see [`Sidecar::order`]).
    pub fn order(&self) -> Option<u64> {
        self.sidecar.as_ref().and_then(|s| s.order)
    }

    /// Dated later than `now` (with a few minutes' slack): made while the computer's clock
    /// was wrong.
    pub fn dated_in_future(&self, now: DateTime<Utc>) -> bool {
        self.created_at() > now + chrono::Duration::minutes(CLOCK_SLACK_MINUTES)
    }

    /// Marked Keep in its record.
    pub fn keep(&self) -> bool {
        self.sidecar.as_ref().is_some_and(|s| s.keep)
    }

    pub fn state(&self) -> BackupState {
        if !self.header_ok {
            return BackupState::Failed("not an SQLite database file".into());
        }
        let Some(sidecar) = &self.sidecar else {
            let why = self
                .sidecar_problem
                .clone()
                .unwrap_or_else(|| "its record (sidecar) is missing".into());
            return BackupState::Unverified(why);
        };
        if sidecar.size != self.size {
            return BackupState::Failed(format!(
                "the file is {} bytes but was {} bytes when made",
                self.size, sidecar.size
            ));
        }
        if !sidecar.verification.ok {
            return BackupState::Failed(sidecar.verification.message.clone());
        }
        if sidecar.file_mtime_ms.is_some() && sidecar.file_mtime_ms != self.mtime_ms() {
            return BackupState::Unverified("the file changed since it was last verified".into());
        }
        BackupState::Verified
    }
}

pub fn mtime_ms(time: Option<SystemTime>) -> Option<i64> {
    time.map(|t| DateTime::<Utc>::from(t).timestamp_millis())
}

pub fn sidecar_path(backup_path: &Path) -> PathBuf {
    let mut name = backup_path.as_os_str().to_owned();
    name.push(SIDECAR_SUFFIX);
    PathBuf::from(name)
}

pub fn write_sidecar(backup_path: &Path, sidecar: &Sidecar) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(sidecar).map_err(std::io::Error::other)?;
    fsutil::write_atomic(&sidecar_path(backup_path), &json)
}

fn read_sidecar(backup_path: &Path, file_name: &str) -> Result<Option<Sidecar>, String> {
    let path = sidecar_path(backup_path);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("its record cannot be read: {e}")),
    };
    let sidecar: Sidecar =
        serde_json::from_slice(&bytes).map_err(|e| format!("its record is not valid JSON: {e}"))?;
    if sidecar.file_name != file_name {
        return Err("its record describes another file".into());
    }
    Ok(Some(sidecar))
}

fn has_sqlite_header(path: &Path) -> bool {
    let mut header = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .map(|()| &header == SQLITE_HEADER)
        .unwrap_or(false)
}

fn load_entry(dir: &Path, file_name: &str, name: BackupName) -> Option<BackupEntry> {
    let path = dir.join(file_name);
    let meta = std::fs::metadata(&path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let (sidecar, sidecar_problem) = match read_sidecar(&path, file_name) {
        Ok(s) => (s, None),
        Err(problem) => (None, Some(problem)),
    };
    Some(BackupEntry {
        name,
        file_name: file_name.to_string(),
        header_ok: has_sqlite_header(&path),
        path,
        size: meta.len(),
        modified: meta.modified().ok(),
        sidecar,
        sidecar_problem,
    })
}

/// Every backup in `dir`, newest first. A missing folder is an empty catalog.
pub fn list(dir: &Path) -> std::io::Result<Vec<BackupEntry>> {
    let read = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut entries = Vec::new();
    for item in read {
        let item = item?;
        let Ok(file_name) = item.file_name().into_string() else {
            continue;
        };
        if let Some(name) = BackupName::parse(&file_name)
            && let Some(entry) = load_entry(dir, &file_name, name)
        {
            entries.push(entry);
        }
    }
    // Newest first: by the order the backups were made in. A backup whose record has no
    // place (an older record, or one lost or unreadable) goes right after the newest one with
    // a place made before it by date. Then the date; the name's time and sequence number break
    // ties (`-10` sorts after `-9`), then the name itself, so the order is stable.
    let placed: Vec<(u64, DateTime<Utc>)> = entries
        .iter()
        .filter_map(|e| e.order().map(|o| (o, e.created_at())))
        .collect();
    let rank = |e: &BackupEntry| match e.order() {
        Some(o) => o.saturating_mul(2),
        None => placed
            .iter()
            .filter(|(_, at)| *at <= e.created_at())
            .map(|(o, _)| *o)
            .max()
            .map_or(0, |o| o.saturating_mul(2) + 1),
    };
    entries.sort_by_cached_key(|e| {
        std::cmp::Reverse((
            rank(e),
            e.created_at(),
            e.name.stamp,
            e.name.seq,
            e.file_name.clone(),
        ))
    });
    Ok(entries)
}

/// The newest backup counted in the cap (the one that may not be deleted). `entries` are
/// newest first, as [`list`] returns them.
pub fn newest_counted(entries: &[BackupEntry]) -> Option<&BackupEntry> {
    entries.iter().find(|e| e.kind().counts_toward_cap())
}

/// The newest backup counted in the cap that is not known to be bad (for the health line).
pub fn newest_usable(entries: &[BackupEntry]) -> Option<&BackupEntry> {
    entries
        .iter()
        .filter(|e| e.kind().counts_toward_cap())
        .find(|e| !matches!(e.state(), BackupState::Failed(_)))
}

/// What emergency restore will try first: the newest regular backup not known to be bad,
/// and not one without shop records while a backup with them exists.
pub fn emergency_choice(entries: &[BackupEntry]) -> Option<&BackupEntry> {
    let skip_empty = super::coverage::shop_backup_exists(entries);
    entries
        .iter()
        .filter(|e| e.kind().is_regular())
        .filter(|e| !(skip_empty && super::coverage::holds_shop_records(e) == Some(false)))
        .find(|e| !matches!(e.state(), BackupState::Failed(_)))
}

/// Looks a name up in the catalog. The name is parsed, never joined to a path as given.
pub fn find(dir: &Path, file_name: &str) -> Option<BackupEntry> {
    let name = BackupName::parse(file_name)?;
    load_entry(dir, &name.file_name(), name)
}

/// A file name of `kind` for the time `at` (local) that no backup or record in `dir` uses:
/// backups made in the same second get `-2`, `-3`… The startup backup always has one name
/// (it is replaced).
pub fn unused_name(
    dir: &Path,
    kind: BackupKind,
    at: chrono::NaiveDateTime,
    description: &str,
) -> String {
    (1..)
        .map(|seq| BackupName::new(kind, at, seq, description).file_name())
        .find(|n| {
            kind == BackupKind::Startup
                || (!dir.join(n).exists() && !sidecar_path(&dir.join(n)).exists())
        })
        .unwrap_or_else(|| format!("{}.db", kind.label()))
}

/// The place a backup made now takes in the folder's order: one past the highest.
pub fn next_order(dir: &Path) -> u64 {
    list(dir)
        .unwrap_or_default()
        .iter()
        .filter_map(BackupEntry::order)
        .max()
        .map_or(1, |highest| highest + 1)
}

/// The dated name an earlier startup backup made at `at` (local) takes in the history.
pub fn unused_dated_startup(dir: &Path, at: chrono::NaiveDateTime) -> String {
    (1..)
        .map(|seq| BackupName::dated_startup(at, seq).file_name())
        .find(|n| !dir.join(n).exists() && !sidecar_path(&dir.join(n)).exists())
        .unwrap_or_else(|| "startup_retired.db".into())
}

/// Sidecars whose backup file is gone (after a crash between the two deletions).
pub fn orphan_sidecars(dir: &Path) -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    read.filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| {
            let backup = n.strip_suffix(SIDECAR_SUFFIX)?;
            BackupName::parse(backup)?;
            (!dir.join(backup).exists()).then(|| dir.join(&n))
        })
        .collect()
}
