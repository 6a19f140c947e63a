//! Helpers for database files that are not the live pool: read-only opening of backup files,
//! SQLite `file:` URIs, integrity checks, row counts and the schema version.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::DbError;

/// Opens a database file read-only without taking locks or creating `-wal`/`-shm`: for
/// checking backup files that nobody writes. `trusted_schema` is off: a file's views and
/// triggers cannot call functions with side effects.
pub fn open_immutable(path: &Path) -> rusqlite::Result<Connection> {
    let uri = format!("{}?immutable=1", sqlite_uri(path));
    let conn = Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.pragma_update(None, "trusted_schema", false)?;
    Ok(conn)
}

/// Lets SQLite finish what a crash left in a database file nobody else has open: a hot
/// `-journal` is rolled back (SQLite does that on the first read) and a `-wal` is copied into
/// the file. Afterwards the file alone holds every committed change, so its journal files can
/// go without losing anything.
pub fn settle_file(path: &Path) -> rusqlite::Result<()> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })?;
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    if mode.eq_ignore_ascii_case("wal") {
        let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        if busy != 0 {
            return Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                Some("the -wal could not be copied into the database completely".into()),
            ));
        }
    }
    conn.close().map_err(|(_, e)| e)
}

/// The `file:` URI SQLite needs for `path` on this system.
pub fn sqlite_uri(path: &Path) -> String {
    uri_for(&path.to_string_lossy(), cfg!(windows))
}

/// `file:///home/a.db`; on Windows `file:///C:/a.db` for a drive letter and `file:////host/share/a.db`
/// for a network share (a verbatim `\\?\` prefix is dropped). Characters that mean something
/// in a URI are percent-encoded.
fn uri_for(path: &str, windows: bool) -> String {
    let path = if windows {
        let plain = if let Some(unc) = path.strip_prefix(r"\\?\UNC\") {
            format!(r"\\{unc}")
        } else {
            path.strip_prefix(r"\\?\").unwrap_or(path).to_string()
        };
        plain.replace('\\', "/")
    } else {
        path.to_string()
    };
    let mut encoded = String::with_capacity(path.len() + 8);
    for ch in path.chars() {
        match ch {
            '%' => encoded.push_str("%25"),
            '?' => encoded.push_str("%3f"),
            '#' => encoded.push_str("%23"),
            _ => encoded.push(ch),
        }
    }
    let has_drive = windows && encoded.as_bytes().get(1) == Some(&b':');
    if has_drive {
        format!("file:///{encoded}")
    } else if encoded.starts_with('/') {
        // An absolute Unix path, or (Windows) `//host/share/...`: empty authority, then the path.
        format!("file://{encoded}")
    } else {
        format!("file:{encoded}")
    }
}

/// `PRAGMA quick_check` (or `integrity_check` when `full`): `Ok(())` when SQLite says "ok",
/// [`DbError::Damaged`] with the first problems it reports, or the error that stopped it.
pub fn check_integrity(conn: &Connection, full: bool) -> Result<(), DbError> {
    let sql = if full {
        "PRAGMA integrity_check(20)"
    } else {
        "PRAGMA quick_check(20)"
    };
    let rows: Vec<String> = conn
        .prepare(sql)?
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<_>>()?;
    if rows.len() == 1 && rows[0] == "ok" {
        Ok(())
    } else {
        Err(DbError::Damaged(rows.join("; ")))
    }
}

/// Row count of every user table (but the change marker, which is always one row). Virtual
/// tables are left out: counting them would run their module, in a file of unknown origin.
pub fn table_row_counts(conn: &Connection) -> rusqlite::Result<BTreeMap<String, i64>> {
    let names: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' AND name <> 'data_marker'
                AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut counts = BTreeMap::new();
    for name in names {
        let sql = format!("SELECT count(*) FROM \"{}\"", name.replace('"', "\"\""));
        let n: i64 = conn.query_row(&sql, [], |r| r.get(0))?;
        counts.insert(name, n);
    }
    Ok(counts)
}

pub fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_for_unix_and_windows_paths() {
        assert_eq!(uri_for("/a b/c?d#e%f", false), "file:///a b/c%3fd%23e%25f");
        assert_eq!(uri_for("rel/x.db", false), "file:rel/x.db");
        assert_eq!(
            uri_for(r"C:\Users\Anna\Backroom\x.db", true),
            "file:///C:/Users/Anna/Backroom/x.db"
        );
        assert_eq!(uri_for(r"\\?\Z:\tmp\x.db", true), "file:///Z:/tmp/x.db");
        assert_eq!(
            uri_for(r"\\shop-nas\share\x.db", true),
            "file:////shop-nas/share/x.db"
        );
        assert_eq!(
            uri_for(r"\\?\UNC\shop-nas\share\x.db", true),
            "file:////shop-nas/share/x.db"
        );
    }

    #[test]
    fn immutable_open_reads_a_file_in_a_folder_with_uri_characters() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("a #1 ?%");
        std::fs::create_dir(&folder).unwrap();
        let path = folder.join("x.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (7);")
            .unwrap();
        let conn = open_immutable(&path).unwrap();
        let x: i64 = conn.query_row("SELECT x FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(x, 7);
    }

    #[test]
    fn an_interrupted_check_is_told_apart_from_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")
            .unwrap();
        assert!(check_integrity(&conn, true).is_ok());
        // An interrupt set before the statement runs stops it at its first step.
        let handle = conn.get_interrupt_handle();
        conn.progress_handler(
            1,
            Some(move || {
                handle.interrupt();
                false
            }),
        )
        .unwrap();
        let err = check_integrity(&conn, true).unwrap_err();
        assert!(err.is_interrupted(), "{err:?}");
        assert!(!DbError::Damaged("page 3 is wrong".into()).is_interrupted());
    }
}
