//! Engine tests on real files and a real SQLite database, with a clock the tests move.

mod accounts;
mod clock;
mod coverage;
mod crash;
mod create;
mod keep;
mod restore;
mod retention;
mod schema;

use std::sync::{Arc, RwLock};

use super::*;
use crate::clock::ManualClock;
use crate::config::{Paths, Settings};
use crate::db::{Db, DbError, DbOptions};

struct Fixture {
    _dir: tempfile::TempDir,
    paths: Paths,
    engine: BackupEngine,
    settings: Arc<RwLock<Settings>>,
    clock: ManualClock,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::new(dir.path());
    let db = Db::open(&paths.db, DbOptions::SERVER).unwrap();
    db.with_conn(|c| {
        c.execute_batch(
            "INSERT INTO customers (name, created_at, updated_at) VALUES ('Ann', 'x', 'x'), ('Bob', 'x', 'x');",
        )
        .map_err(DbError::from)
    })
    .unwrap();
    let settings = Arc::new(RwLock::new(Settings::default()));
    let clock = ManualClock::new();
    let engine =
        BackupEngine::new(paths.clone(), db, settings.clone()).with_clock(Arc::new(clock.clone()));
    Fixture {
        _dir: dir,
        paths,
        engine,
        settings,
        clock,
    }
}

impl Fixture {
    /// Places a backup at schema version 1 (the first one) holding one account,
    /// `(id, username, password_hash, role)`, and restores it as "boss".
    fn restore_v1_backup_with(&self, account: (i64, &str, &str, &str)) -> RestoreReport {
        let name = "backup_20200101_120000.db";
        let old = self.paths.backups.join(name);
        std::fs::create_dir_all(&self.paths.backups).unwrap();
        let mut c = rusqlite::Connection::open(&old).unwrap();
        crate::db::migrations::migrate_to(&mut c, &old, 1).unwrap();
        let (id, username, hash, role) = account;
        c.execute(
            "INSERT INTO users (id, username, password_hash, role, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, 'x', 'x')",
            rusqlite::params![id, username, hash, role],
        )
        .unwrap();
        drop(c);
        self.engine
            .restore(name, "boss", RestoreOptions::default())
            .unwrap()
    }

    fn set_max_backups(&self, max: u32) {
        self.settings.write().unwrap().max_backups = max;
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.paths.backups.join("backup.log")).unwrap_or_default()
    }

    /// A backup of `kind`, made one second after the previous one.
    fn make(&self, kind: BackupKind, description: &str) -> BackupEntry {
        self.clock.advance(chrono::Duration::seconds(1));
        self.engine
            .create(&CreateRequest {
                kind,
                description: description.into(),
                created_by: "t".into(),
            })
            .unwrap()
    }

    fn names(&self) -> Vec<String> {
        self.engine
            .list()
            .unwrap()
            .into_iter()
            .map(|e| e.file_name)
            .collect()
    }
}

fn count(db: &Db, table: &str) -> i64 {
    db.with_conn(|c| {
        c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .map_err(DbError::from)
    })
    .unwrap()
}

fn add_customer(db: &Db, name: &str) {
    db.with_conn(|c| {
        c.execute(
            "INSERT INTO customers (name, created_at, updated_at) VALUES (?1, 'x', 'x')",
            [name],
        )
        .map_err(DbError::from)
    })
    .unwrap();
}

fn backup_looking_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".db"))
                .collect()
        })
        .unwrap_or_default()
}

#[path = "../../../tests/it/corrupt.rs"]
mod corrupt;

/// Overwrites the customers table's b-tree page so `quick_check` fails.
fn corrupt_table_pages(db_path: &Path) {
    corrupt::corrupt_table(db_path, "customers");
}

/// Polls `done` until it holds, failing after `limit`.
fn wait_until(what: &str, limit: std::time::Duration, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
