//! Capture and replay together, on real SQLite databases: what every test shares (a shop
//! database, a varied workload, dumps to compare states).

mod capturing;
mod generations;
mod replaying;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::types::Value;

use super::capture::Fault;
use super::*;
use crate::clock::{Clock, ManualClock, SystemClock};

const INSTALLATION: &str = "0123456789abcdef0123456789abcdef";

fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// A shop database in WAL mode, as Backroom opens it, with a writer connection.
fn shop(dir: &Path) -> (PathBuf, Connection) {
    let path = dir.join("business_data.db");
    let conn = Connection::open(&path).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0;
         CREATE TABLE sale(id INTEGER PRIMARY KEY, item TEXT NOT NULL, cents INTEGER, note BLOB);
         CREATE INDEX sale_item ON sale(item);",
    )
    .unwrap();
    (path, conn)
}

/// Schema and every row of every table, in rowid order: equal dumps, equal data.
fn dump(conn: &Connection) -> String {
    let mut out = String::new();
    let mut schema = conn
        .prepare("SELECT type, name, sql FROM sqlite_schema ORDER BY name")
        .unwrap();
    let items: Vec<(String, String, Option<String>)> = schema
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (kind, name, sql) in items {
        out.push_str(&format!("{kind} {name}: {sql:?}\n"));
        if kind != "table" {
            continue;
        }
        let mut rows = conn
            .prepare(&format!("SELECT * FROM \"{name}\" ORDER BY rowid"))
            .unwrap();
        let columns = rows.column_count();
        let mut q = rows.query([]).unwrap();
        while let Some(row) = q.next().unwrap() {
            let values: Vec<Value> = (0..columns).map(|i| row.get(i).unwrap()).collect();
            out.push_str(&format!("{values:?}\n"));
        }
    }
    out
}

/// Opens a rebuilt file, checks its integrity, and dumps it.
fn check_and_dump(path: &Path) -> String {
    let conn = Connection::open(path).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok", "{}", path.display());
    dump(&conn)
}

/// One commit of a varied workload: single and multi-row inserts, updates, deletes, rows
/// large enough for overflow pages, and a VACUUM that shrinks the file.
fn commit_one(conn: &Connection, k: usize) {
    let sql = match k {
        k if k % 41 == 40 => "VACUUM".to_string(),
        k if k % 7 == 0 => format!(
            "BEGIN; INSERT INTO sale(item, cents) VALUES ('multi {k}a', {k}), ('multi {k}b', 2);
             UPDATE sale SET cents = cents + 1 WHERE id % 3 = 0; COMMIT;"
        ),
        k if k % 11 == 0 => "DELETE FROM sale WHERE id % 4 = 1".to_string(),
        k if k % 13 == 0 => {
            format!("INSERT INTO sale(item, cents, note) VALUES ('big {k}', {k}, zeroblob(20000))")
        }
        k => format!("INSERT INTO sale(item, cents) VALUES ('coffee {k}', {k})"),
    };
    conn.execute_batch(&sql).unwrap();
}

/// A capture of `db` into `dir/outbox` as this installation, and the generation it is in.
fn start_capture(dir: &Path, db: &Path, clock: Arc<dyn Clock>) -> (Capture, String) {
    let (capture, _) = Capture::open(db, &dir.join("outbox"), INSTALLATION, clock).unwrap();
    let generation = capture.place().0.to_string();
    (capture, generation)
}

/// Commits workload steps `ks` one by one, keeping the state after each in `states`.
fn commit_each(writer: &Connection, ks: std::ops::Range<usize>, states: &mut Vec<String>) {
    for k in ks {
        commit_one(writer, k);
        states.push(dump(writer));
    }
}

fn restore_txid(outbox: &Outbox, generation: &str, txid: u64, dir: &Path) -> String {
    let out = dir.join(format!("restored-{txid}.db"));
    let restored =
        restore_from_outbox(outbox, generation, INSTALLATION, Moment::Txid(txid), &out).unwrap();
    assert_eq!(restored.txid, txid);
    check_and_dump(&out)
}
