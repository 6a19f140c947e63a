//! A small shop in a temp folder for the business tests: migrated, with one staff user (id 1).

use rusqlite::Connection;

use super::customers::{self, CustomerForm};
use super::products::{self, ValidProduct};

pub fn empty() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let mut conn = Connection::open(&path).unwrap();
    crate::db::migrations::migrate(&mut conn, &path).unwrap();
    conn.execute(
        "INSERT INTO users (username, password_hash, role, created_at, updated_at) VALUES ('u', 'h', 'staff', 'x', 'x')",
        [],
    )
    .unwrap();
    (dir, conn)
}

/// `(sku, name, price in cents, stock)`; returns its id.
pub fn product(
    conn: &mut Connection,
    (sku, name, price_cents, stock): (&str, &str, i64, i64),
) -> i64 {
    let product = ValidProduct {
        sku: sku.into(),
        name: name.into(),
        price_cents,
        stock,
        reorder_level: 0,
    };
    products::create(conn, &product, 1).unwrap()
}

/// `(name, phone, e-mail)`.
pub fn customer(conn: &Connection, (name, phone, email): (&str, &str, &str)) {
    let form = CustomerForm {
        name: name.into(),
        phone: phone.into(),
        email: email.into(),
        notes: String::new(),
    };
    customers::create(conn, &form).unwrap();
}
