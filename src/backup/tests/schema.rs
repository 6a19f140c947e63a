//! The schema check on real databases: every version the migrations make passes, and each
//! kind of change is named.

use rusqlite::Connection;

use crate::backup::schema::{Difference, SchemaError, check, normalize};
use crate::db::SCHEMA_VERSION;

fn database(version: i64, change: &str) -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.db");
    let mut conn = Connection::open(&path).unwrap();
    crate::db::migrations::migrate_to(&mut conn, &path, version).unwrap();
    conn.execute_batch(change).unwrap();
    drop(conn);
    let conn = crate::db::open_immutable(&path).unwrap();
    (dir, conn)
}

fn differences(change: &str) -> Vec<Difference> {
    let (_dir, conn) = database(SCHEMA_VERSION, change);
    match check(&conn) {
        Err(SchemaError::Differs(d)) => d,
        other => panic!("{change}: {other:?}"),
    }
}

fn message(change: &str) -> String {
    SchemaError::Differs(differences(change)).to_string()
}

#[test]
fn every_version_the_migrations_make_passes() {
    for version in 1..=SCHEMA_VERSION {
        let (_dir, conn) = database(version, "");
        assert_eq!(check(&conn).unwrap(), version);
    }
    // Data and SQLite's own statistics are not schema.
    let (_dir, conn) = database(
        SCHEMA_VERSION,
        "INSERT INTO customers (name, created_at, updated_at) VALUES ('Ann', 'x', 'x'); ANALYZE;",
    );
    assert_eq!(check(&conn).unwrap(), SCHEMA_VERSION);
}

#[test]
fn unknown_versions_are_refused() {
    for (version, what) in [(-1, "version -1"), (0, "version 0")] {
        let (_dir, conn) = database(SCHEMA_VERSION, &format!("PRAGMA user_version = {version};"));
        let err = check(&conn).unwrap_err();
        assert!(matches!(err, SchemaError::UnknownVersion(v) if v == version));
        assert!(err.to_string().contains(what), "{err}");
    }
    let (_dir, conn) = database(SCHEMA_VERSION, "PRAGMA user_version = 999;");
    assert!(matches!(
        check(&conn),
        Err(SchemaError::TooNew { found: 999, .. })
    ));
    // An older version with a newer version's tables is not that older version.
    let (_dir, conn) = database(SCHEMA_VERSION, "PRAGMA user_version = 6;");
    let err = check(&conn).unwrap_err().to_string();
    assert!(err.contains("extra table `data_marker`"), "{err}");
}

#[test]
fn extra_triggers_views_tables_and_indexes_are_named() {
    assert_eq!(
        message(
            "CREATE TRIGGER evil AFTER INSERT ON sales BEGIN UPDATE users SET password_hash = 'x'; END;"
        ),
        "it has an extra trigger `evil` on table `sales`"
    );
    assert_eq!(
        message(
            "CREATE VIEW loop AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n;"
        ),
        "it has an extra view `loop`"
    );
    assert_eq!(
        message("CREATE TABLE notes (x TEXT);"),
        "it has an extra table `notes`"
    );
    assert_eq!(
        message("CREATE INDEX sneaky ON products(stock);"),
        "it has an extra index `sneaky` on table `products`"
    );
}

#[test]
fn a_changed_body_of_backrooms_own_trigger_is_named() {
    let msg = message(
        "DROP TRIGGER sales_insert_marker;
         CREATE TRIGGER sales_insert_marker AFTER INSERT ON sales
         BEGIN UPDATE users SET password_hash = 'x'; END;",
    );
    assert_eq!(
        msg,
        "the trigger `sales_insert_marker` is defined differently"
    );
    assert_eq!(
        message("DROP TRIGGER sales_insert_marker;"),
        "trigger `sales_insert_marker` is missing"
    );
}

#[test]
fn columns_extra_missing_or_changed_are_named() {
    assert_eq!(
        message("ALTER TABLE products ADD COLUMN secret TEXT;"),
        "it has an extra column `secret` in `products`"
    );
    assert_eq!(
        message("ALTER TABLE customers DROP COLUMN notes;"),
        "column `notes` in `customers` is missing"
    );
    // A table made again with one column's type changed.
    let msg = message(
        "PRAGMA foreign_keys = OFF;
         DROP TRIGGER stock_adjustments_insert_marker;
         DROP TRIGGER stock_adjustments_update_marker;
         DROP TRIGGER stock_adjustments_delete_marker;
         DROP TABLE stock_adjustments;
         CREATE TABLE stock_adjustments (
             id INTEGER PRIMARY KEY, product_id INTEGER NOT NULL REFERENCES products(id),
             delta TEXT NOT NULL CHECK (delta <> 0), reason TEXT NOT NULL,
             note TEXT NOT NULL DEFAULT '', user_id INTEGER REFERENCES users(id),
             created_at TEXT NOT NULL);",
    );
    assert!(
        msg.contains(
            "column `delta` in `stock_adjustments` is TEXT NOT NULL, not INTEGER NOT NULL"
        ),
        "{msg}"
    );
    // Its index and triggers went with it: counted after the first three.
    assert!(msg.contains("more differences"), "{msg}");
}

#[test]
fn a_constraint_dropped_from_a_table_is_named() {
    // Same columns, no CHECK: only the table's SQL differs.
    let d = differences(
        "PRAGMA writable_schema = ON;
         UPDATE sqlite_master SET sql = replace(sql, 'CHECK (id = 1)', '')
             WHERE name = 'data_marker';",
    );
    assert_eq!(
        d,
        [Difference::Changed {
            kind: "table".into(),
            name: "data_marker".into()
        }]
    );
}

#[test]
fn a_database_of_something_else_is_not_backroom() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE recipes (id INTEGER PRIMARY KEY); PRAGMA user_version = 3;")
        .unwrap();
    assert!(matches!(check(&conn), Err(SchemaError::NotBackroom)));
}

#[test]
fn formatting_never_makes_two_schemas_differ_but_quoted_text_does() {
    assert_eq!(
        normalize("CREATE  TABLE t (\n  a INTEGER ,\n b TEXT DEFAULT 'A  B'\n)"),
        "create table t(a integer,b text default 'A  B')"
    );
    assert_ne!(
        normalize("SELECT 'a b'"),
        normalize("SELECT 'a  b'"),
        "text inside quotes is kept as it is"
    );
}
