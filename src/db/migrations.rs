//! Versioned schema changes, recorded in `PRAGMA user_version` and applied in one transaction.
//! A database whose version is newer than this program knows is refused, never "downgraded".

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::DbError;

/// Each entry brings the schema from version `n` to `n + 1` (the index is `n`).
const MIGRATIONS: &[&str] = &[
    // 1: people.
    "CREATE TABLE users (
        id            INTEGER PRIMARY KEY,
        username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        role          TEXT NOT NULL CHECK (role IN ('staff', 'admin', 'super-admin')),
        active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL
    );",
    // 2: the shop: products, customers, sales.
    "CREATE TABLE products (
        id            INTEGER PRIMARY KEY,
        sku           TEXT NOT NULL UNIQUE COLLATE NOCASE,
        name          TEXT NOT NULL CHECK (length(trim(name)) > 0),
        price_cents   INTEGER NOT NULL CHECK (price_cents >= 0),
        stock         INTEGER NOT NULL DEFAULT 0 CHECK (stock >= 0),
        reorder_level INTEGER NOT NULL DEFAULT 0 CHECK (reorder_level >= 0),
        archived      INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL
    );
    CREATE TABLE customers (
        id         INTEGER PRIMARY KEY,
        name       TEXT NOT NULL CHECK (length(trim(name)) > 0),
        phone      TEXT NOT NULL DEFAULT '',
        email      TEXT NOT NULL DEFAULT '',
        notes      TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE sales (
        id          INTEGER PRIMARY KEY,
        customer_id INTEGER REFERENCES customers(id),
        user_id     INTEGER REFERENCES users(id),
        total_cents INTEGER NOT NULL CHECK (total_cents >= 0),
        created_at  TEXT NOT NULL,
        voided_at   TEXT,
        voided_by   INTEGER REFERENCES users(id)
    );
    CREATE TABLE sale_lines (
        id               INTEGER PRIMARY KEY,
        sale_id          INTEGER NOT NULL REFERENCES sales(id) ON DELETE CASCADE,
        product_id       INTEGER NOT NULL REFERENCES products(id),
        quantity         INTEGER NOT NULL CHECK (quantity > 0),
        unit_price_cents INTEGER NOT NULL CHECK (unit_price_cents >= 0),
        line_total_cents INTEGER NOT NULL CHECK (line_total_cents >= 0)
    );",
    // 3: stock history and the indexes the pages need.
    "CREATE TABLE stock_adjustments (
        id         INTEGER PRIMARY KEY,
        product_id INTEGER NOT NULL REFERENCES products(id),
        delta      INTEGER NOT NULL CHECK (delta <> 0),
        reason     TEXT NOT NULL,
        note       TEXT NOT NULL DEFAULT '',
        user_id    INTEGER REFERENCES users(id),
        created_at TEXT NOT NULL
    );
    CREATE INDEX sales_created_at ON sales(created_at);
    CREATE INDEX sales_customer ON sales(customer_id);
    CREATE INDEX sale_lines_sale ON sale_lines(sale_id);
    CREATE INDEX sale_lines_product ON sale_lines(product_id);
    CREATE INDEX products_name ON products(name COLLATE NOCASE);
    CREATE INDEX customers_name ON customers(name COLLATE NOCASE);
    CREATE INDEX stock_adjustments_product ON stock_adjustments(product_id);",
    // 4: a per-user session generation: changing or resetting a password ends the user's
    // other sessions (sessions live in signed cookies, so the server cannot list them).
    "ALTER TABLE users ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;",
    // 5: the sale form at the counter. A searchable copy of each customer's phone number
    // (filled by `fill_phone_digits` below, kept up to date on every save), and a flag a
    // super-admin sets so a person must choose their own password at their next login.
    "ALTER TABLE customers ADD COLUMN phone_digits TEXT NOT NULL DEFAULT '';
    ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0
        CHECK (must_change_password IN (0, 1));",
    // 6: a product's history beyond stock changes (a product brought back from a backup).
    "CREATE TABLE product_events (
        id         INTEGER PRIMARY KEY,
        product_id INTEGER NOT NULL REFERENCES products(id),
        what       TEXT NOT NULL,
        user_id    INTEGER REFERENCES users(id),
        created_at TEXT NOT NULL
    );
    CREATE INDEX product_events_product ON product_events(product_id);",
    // 7: a marker that every change renews (triggers: `backup::coverage`), so the health
    // line can tell whether the live data is in a backup.
    "CREATE TABLE data_marker (
        id     INTEGER PRIMARY KEY CHECK (id = 1),
        marker TEXT NOT NULL
    );
    INSERT INTO data_marker (id, marker) VALUES (1, lower(hex(randomblob(8))));",
];

/// Work a migration needs beyond its SQL (values only Rust computes), run right after the
/// SQL that brings the schema to that version, in the same transaction.
type DataStep = fn(&Connection) -> rusqlite::Result<()>;
const DATA_STEPS: &[(i64, DataStep)] = &[
    (5, fill_phone_digits),
    (7, crate::backup::coverage::create_marker_triggers),
];

/// Fills `customers.phone_digits` for the rows that existed before version 5.
fn fill_phone_digits(conn: &Connection) -> rusqlite::Result<()> {
    let phones: Vec<(i64, String)> = conn
        .prepare("SELECT id, phone FROM customers WHERE phone <> ''")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut update = conn.prepare("UPDATE customers SET phone_digits = ?1 WHERE id = ?2")?;
    for (id, phone) in phones {
        update.execute(rusqlite::params![crate::text::phone_digits(&phone), id])?;
    }
    Ok(())
}

/// The schema version this program writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database to [`SCHEMA_VERSION`]; returns the version it found.
pub fn migrate(conn: &mut Connection, path: &Path) -> Result<i64, DbError> {
    migrate_to(conn, path, SCHEMA_VERSION)
}

/// The cheap check: the file opens, its schema reads, and it is not from a newer program.
/// Returns the schema version found.
pub fn check_readable(conn: &Connection, path: &Path) -> Result<i64, DbError> {
    let unreadable = |source: rusqlite::Error| DbError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    // A file that is not a database fails here.
    let found = super::user_version(conn).map_err(unreadable)?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(unreadable)?;
    if found > SCHEMA_VERSION {
        return Err(DbError::TooNew {
            path: path.to_path_buf(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    Ok(found)
}

/// Brings the database to `target` (tests use this to make databases of older versions).
pub fn migrate_to(conn: &mut Connection, path: &Path, target: i64) -> Result<i64, DbError> {
    let found = check_readable(conn, path)?;
    if found >= target {
        return Ok(found);
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for (index, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .take(usize::try_from(target).unwrap_or(0))
        .skip(usize::try_from(found).unwrap_or(0))
    {
        tx.execute_batch(sql)?;
        let version = i64::try_from(index).unwrap_or(i64::MAX).saturating_add(1);
        for (_, step) in DATA_STEPS.iter().filter(|(v, _)| *v == version) {
            step(&tx)?;
        }
    }
    tx.pragma_update(None, "user_version", target)?;
    tx.commit()?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_step_by_step_and_refuses_newer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let mut conn = Connection::open(&path).unwrap();
        assert_eq!(migrate_to(&mut conn, &path, 1).unwrap(), 0);
        assert_eq!(migrate(&mut conn, &path).unwrap(), 1);
        assert_eq!(super::super::user_version(&conn).unwrap(), SCHEMA_VERSION);
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let err = migrate(&mut conn, &path).unwrap_err();
        assert!(matches!(err, DbError::TooNew { .. }));
        assert!(err.to_string().contains("newer version"));
    }

    #[test]
    fn version_5_fills_the_phone_digits_of_existing_customers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let mut conn = Connection::open(&path).unwrap();
        migrate_to(&mut conn, &path, 4).unwrap();
        conn.execute_batch(
            "INSERT INTO customers (name, phone, created_at, updated_at)
                VALUES ('Ann', '+44 (0)20 7946-0958', 'x', 'x'), ('Bo', '', 'x', 'x');
             INSERT INTO users (username, password_hash, role, created_at, updated_at)
                VALUES ('old', 'h', 'staff', 'x', 'x');",
        )
        .unwrap();
        assert_eq!(migrate(&mut conn, &path).unwrap(), 4);
        let digits: Vec<String> = conn
            .prepare("SELECT phone_digits FROM customers ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(digits, ["442079460958", ""]);
        let must_change: i64 = conn
            .query_row("SELECT must_change_password FROM users", [], |r| r.get(0))
            .unwrap();
        assert_eq!(must_change, 0, "existing accounts keep working as before");
    }

    #[test]
    fn garbage_file_is_unreadable_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.db");
        std::fs::write(&path, vec![0x42u8; 8192]).unwrap();
        let mut conn = Connection::open(&path).unwrap();
        assert!(matches!(
            migrate(&mut conn, &path),
            Err(DbError::Unreadable { .. })
        ));
    }
}
