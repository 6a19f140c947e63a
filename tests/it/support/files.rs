//! Files and databases that tests make, damage and compare: bulk data, flipped bytes, integrity,
//! canonical dumps, the backup folder's contents, and a small disk that can fill up.

use std::path::Path;
use std::process::{Command, Stdio};

/// `*.db` files in the backup folder, sorted.
pub fn backup_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".db"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

pub use crate::corrupt::corrupt_table;

/// SQL adding `rows` customers named `filler` of about 1 KB each (notes of random hex): bulk
/// in Backroom's own tables, so the backups of it have exactly Backroom's schema.
pub fn pad_sql(rows: usize) -> String {
    format!(
        "INSERT INTO customers (name, notes, created_at, updated_at)
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
         SELECT 'filler', hex(randomblob(500)), '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' FROM n;"
    )
}

/// How many `filler` customers [`pad_sql`] added.
pub const FILLER_ROWS: &str = "SELECT count(*) FROM customers WHERE name = 'filler'";

/// Makes a migrated database of about `mb` megabytes (see [`pad_sql`]).
pub fn make_big_database(path: &Path, mb: usize) {
    let mut conn = rusqlite::Connection::open(path).unwrap();
    backroom::db::migrations::migrate(&mut conn, path).unwrap();
    conn.execute_batch("PRAGMA journal_mode=WAL;").unwrap();
    conn.execute_batch(&pad_sql(mb * 1024)).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
}

/// Flips bytes in the middle of a file (same size, different content).
pub fn flip_middle(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b ^= 0x5A;
    }
    std::fs::write(path, bytes).unwrap();
}

/// `PRAGMA integrity_check` on a database file (nothing else may have it open).
pub fn integrity_ok(path: &Path) -> bool {
    let conn = rusqlite::Connection::open(path).unwrap();
    let result: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    result == "ok"
}

/// A size-limited tmpfs mounted for one test (needs the right to mount; `None` otherwise).
pub struct SmallDisk {
    pub path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    pub fn mount(size_mb: u64) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().ok()?;
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mb}m"), "tmpfs"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| SmallDisk {
            path: dir.path().to_path_buf(),
            _dir: dir,
        })
    }
}

impl SmallDisk {
    /// Makes the file system read-only (like a USB stick with its lock switch on).
    pub fn remount_read_only(&self) -> bool {
        Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.path)
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// SHA-256 of every table's rows in a fixed order (a canonical dump of the data): two
/// databases with the same value hold the same rows.
pub fn canonical_dump_sha(db: &Path) -> String {
    use sha2::{Digest, Sha256};
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut hash = Sha256::new();
    for t in tables {
        hash.update(format!("table {t}\n"));
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM \"{t}\" ORDER BY rowid"))
            .unwrap();
        let cols = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..cols {
                let v: rusqlite::types::Value = row.get(i).unwrap();
                hash.update(format!("{v:?}\u{1f}"));
            }
            hash.update("\n");
        }
    }
    backroom::backup::copy::hex(&hash.finalize())
}

/// Files in the backup folder that are temp files of unfinished work.
pub fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".tmp-") || n.starts_with(".offsite-"))
                .collect()
        })
        .unwrap_or_default()
}

/// Every file directly in `dir` with its bytes, sorted (what "nothing changed" compares).
pub fn folder_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}
