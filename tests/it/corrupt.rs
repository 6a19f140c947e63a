//! The one page-corrupting helper, shared by the integration tests and the engine's unit tests
//! (`src/backup/tests/mod.rs` includes this file).

use std::path::Path;

/// Overwrites a table's root b-tree page (all but its header's type byte) so SQLite's
/// `quick_check` fails on the file.
pub fn corrupt_table(db_path: &Path, table: &str) {
    let conn = rusqlite::Connection::open(db_path).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    let page_size: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap();
    let root: i64 = conn
        .query_row(
            "SELECT rootpage FROM sqlite_master WHERE name = ?1",
            [table],
            |r| r.get(0),
        )
        .unwrap();
    drop(conn);
    let mut bytes = std::fs::read(db_path).unwrap();
    let start = usize::try_from((root - 1) * page_size).unwrap();
    for b in &mut bytes[start + 8..start + usize::try_from(page_size).unwrap()] {
        *b = 0xA5;
    }
    std::fs::write(db_path, bytes).unwrap();
}
