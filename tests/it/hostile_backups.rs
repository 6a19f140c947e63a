//! Backup files that carry code or a schema of their own (issue 23, item 2): a family made
//! from a real backup (an extra trigger, view, recursive view, table, column or index, a
//! missing or retyped column, unknown schema versions), each refused on every way in (an
//! upload, the first-run page, the command line, a copy on a target: `hostile_paths.rs`) with
//! a message naming what is wrong, and nothing changed.

use std::path::{Path, PathBuf};

use backroom::auth::Role;

use crate::support::*;

/// One hostile file: a label, its bytes, and what the refusal must say.
pub struct Hostile {
    pub label: &'static str,
    pub bytes: Vec<u8>,
    pub says: &'static str,
}

/// A trigger that rewrites the owner's password hash whenever a sale is made.
pub const EVIL_TRIGGER: &str = "CREATE TRIGGER evil AFTER INSERT ON sales
    BEGIN UPDATE users SET password_hash = 'owned'; END;";

/// A copy of `good` with `change` run on it (through SQLite), as bytes.
impl Hostile {
    /// A page's answer to this file: 400, naming what is wrong with it.
    pub fn refused_on_page(&self, res: &Resp) {
        assert_eq!(res.status, 400, "{}: {}", self.label, res.body);
        assert!(res.body.contains(self.says), "{}: {}", self.label, res.body);
    }
}

pub fn changed(good: &Path, change: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("x.db");
    std::fs::copy(good, &copy).unwrap();
    let conn = rusqlite::Connection::open(&copy).unwrap();
    conn.execute_batch(change).unwrap();
    conn.close().unwrap();
    assert!(
        integrity_ok(&copy),
        "the hostile copy must pass SQLite's check"
    );
    std::fs::read(&copy).unwrap()
}

/// The family, each made from the real backup `good`.
pub fn family(good: &Path) -> Vec<Hostile> {
    let case = |label, change: &str, says| Hostile {
        label,
        bytes: changed(good, change),
        says,
    };
    vec![
        case(
            "trigger",
            EVIL_TRIGGER,
            "it has an extra trigger `evil` on table `sales`",
        ),
        case(
            "view",
            "CREATE VIEW peek AS SELECT username, password_hash FROM users;",
            "it has an extra view `peek`",
        ),
        case(
            "recursive-view",
            "CREATE VIEW forever AS WITH RECURSIVE n(i) AS
                 (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n;",
            "it has an extra view `forever`",
        ),
        case(
            "table",
            "CREATE TABLE notes (x TEXT);",
            "it has an extra table `notes`",
        ),
        case(
            "extra-column",
            "ALTER TABLE products ADD COLUMN secret TEXT;",
            "it has an extra column `secret` in `products`",
        ),
        case(
            "missing-column",
            "ALTER TABLE customers DROP COLUMN notes;",
            "column `notes` in `customers` is missing",
        ),
        case(
            "column-type",
            "PRAGMA writable_schema = ON;
             UPDATE sqlite_master SET sql = replace(sql, 'email      TEXT', 'email      BLOB')
                 WHERE name = 'customers';
             PRAGMA writable_schema = OFF;",
            "column `email` in `customers` is BLOB NOT NULL DEFAULT",
        ),
        case(
            "index",
            "CREATE INDEX sneaky ON products(stock);",
            "it has an extra index `sneaky` on table `products`",
        ),
        case(
            "version-minus-1",
            "PRAGMA user_version = -1;",
            "schema version -1 is not one Backroom ever wrote",
        ),
        case(
            "version-0",
            "PRAGMA user_version = 0;",
            "schema version 0 is not one Backroom ever wrote",
        ),
        case(
            "version-999",
            "PRAGMA user_version = 999;",
            "made by a newer version of Backroom",
        ),
    ]
}

/// An installation with a few records and a manual backup of them: the real backup the
/// family is made from (the app is returned so its folder lives as long as the file).
pub fn real_backup() -> (TestApp, PathBuf) {
    let a = spawn_app();
    let boss = a.login_as(Role::SuperAdmin);
    boss.add_product("HB-1", "Honest tea", "4.50", "7");
    boss.add_customer("Ada Honest", "555-0199", "ada@example.com");
    let name = make_backup(&boss, "real");
    let path = a.backups_dir().join(name);
    (a, path)
}

/// What must not change when a file is refused: the backups (names and bytes) and the data.
pub struct Unchanged {
    backups: Vec<String>,
    data: String,
}

impl Unchanged {
    pub fn of(backups: &Path, db: &Path) -> Unchanged {
        let mut names = backup_files(backups);
        names.sort();
        Unchanged {
            backups: names,
            data: canonical_dump_sha(db),
        }
    }

    pub fn check(&self, backups: &Path, db: &Path, label: &str) {
        let now = Unchanged::of(backups, db);
        assert_eq!(now.backups, self.backups, "{label}: the backups changed");
        assert_eq!(now.data, self.data, "{label}: the data changed");
        assert!(
            temp_files(backups).is_empty(),
            "{label}: a temp file was left"
        );
    }
}

#[test]
fn hostile_uploads_are_refused_by_name_and_change_nothing() {
    let (_a, good) = real_backup();
    let b = spawn_app();
    let boss = b.login_as(Role::SuperAdmin);
    boss.add_product("B-1", "B's own", "1.00", "1");
    b.wait_for_startup_backup();
    let before = Unchanged::of(&b.backups_dir(), &b.db_path());
    for hostile in family(&good) {
        let res = boss.upload_raw(
            &format!("/api/backups/upload?name={}.db", hostile.label),
            hostile.bytes.clone(),
            None,
        );
        assert_eq!(res.status, 400, "{}: {}", hostile.label, res.body);
        let error = res.json()["error"].as_str().unwrap_or_default().to_string();
        assert!(error.contains(hostile.says), "{}: {error}", hostile.label);
        before.check(&b.backups_dir(), &b.db_path(), hostile.label);
        // The page's upload form says the same.
        let res = boss.upload_form(
            "/backup/upload",
            &format!("{}.db", hostile.label),
            hostile.bytes.clone(),
            &[],
        );
        hostile.refused_on_page(&res);
        before.check(&b.backups_dir(), &b.db_path(), hostile.label);
    }
    // The real backup itself still goes in.
    let res = boss.upload_raw(
        "/api/backups/upload?name=real.db",
        std::fs::read(&good).unwrap(),
        None,
    );
    assert_eq!(res.status, 201, "{}", res.body);
}

#[test]
fn hostile_files_on_the_first_run_page_are_refused_and_no_account_appears() {
    let (_a, good) = real_backup();
    let b = spawn_app().ready();
    let visitor = b.client();
    let before = Unchanged::of(&b.backups_dir(), &b.db_path());
    for hostile in family(&good) {
        let res = visitor.upload_form(
            "/first-run/upload",
            &format!("{}.db", hostile.label),
            hostile.bytes.clone(),
            &[],
        );
        hostile.refused_on_page(&res);
        assert!(
            !res.body.contains("Bring back this data?"),
            "{}",
            hostile.label
        );
        before.check(&b.backups_dir(), &b.db_path(), hostile.label);
        assert_eq!(b.query_i64("SELECT count(*) FROM users"), 0);
    }
    // The first-run page is still there for the real file.
    let res = visitor.upload_form(
        "/first-run/upload",
        "real.db",
        std::fs::read(&good).unwrap(),
        &[],
    );
    assert_eq!(res.status, 200, "{}", res.body);
    assert!(res.body.contains("Bring back this data?"), "{}", res.body);
}

/// Before the check, this backup went in, was restored, and its trigger then rewrote the
/// owner's password hash on the next sale: the owner was locked out of their own shop.
#[test]
fn a_backup_whose_trigger_would_rewrite_the_owners_password_on_a_sale_is_refused() {
    let (_a, good) = real_backup();
    let (b, boss) = spawn_app().ready_as(Role::SuperAdmin);
    let bytes = changed(&good, EVIL_TRIGGER);
    let res = boss.upload_raw("/api/backups/upload?name=shop.db", bytes, None);
    assert_eq!(res.status, 400, "{}", res.body);
    let error = res.json()["error"].as_str().unwrap().to_string();
    assert!(
        error.contains("not a Backroom backup: it has an extra trigger `evil` on table `sales`"),
        "{error}"
    );
    // So nothing of it can be restored, and normal work leaves the password alone.
    let uploaded: Vec<String> = b
        .backup_files()
        .into_iter()
        .filter(|n| n.starts_with("uploaded_"))
        .collect();
    assert!(uploaded.is_empty(), "{uploaded:?}");
    let product = boss.add_product("S-1", "Sold", "2.00", "5");
    let sale = boss.post_form(
        "/sales",
        &[
            ("customer_id", ""),
            ("product_id", &product.to_string()),
            ("quantity", "1"),
            ("unit_price", ""),
        ],
    );
    assert_eq!(sale.status, 303, "{}", sale.body);
    assert_eq!(
        b.query_i64("SELECT count(*) FROM users WHERE password_hash = 'owned'"),
        0
    );
    assert_eq!(b.client().login("super-admin-user", PASSWORD).status, 303);
}

/// A file copied into the backup folder by hand gets no further: its verification fails
/// naming the trigger, a restore of it is refused, and "Look inside" does not open it.
#[test]
fn a_hostile_file_put_in_the_backup_folder_by_hand_is_never_restored_or_opened() {
    let (_a, good) = real_backup();
    let (b, boss) = spawn_app().ready_as(Role::SuperAdmin);
    let name = "manual_20260101_120000_by_hand.db";
    std::fs::write(
        b.backups_dir().join(name),
        changed(
            &good,
            "CREATE VIEW forever AS WITH RECURSIVE n(i) AS
                 (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n;",
        ),
    )
    .unwrap();
    let data = canonical_dump_sha(&b.db_path());
    // Looked inside before any check: refused, the view never queried.
    let inside = boss.get(&format!("/api/backups/{name}/records/products"));
    assert_eq!(inside.status, 409, "{}", inside.body);
    assert!(
        inside.body.contains("extra view `forever`"),
        "{}",
        inside.body
    );
    // Nor is its `users` read for the restore page's account list.
    let page = boss.get(&format!("/backup/{name}/restore"));
    assert_eq!(page.status, 409, "{}", page.body);
    assert!(page.body.contains("extra view `forever`"), "{}", page.body);
    let verified = boss.post_form(&format!("/backup/{name}/verify"), &[]);
    assert!(verified.status < 500, "{}", verified.body);
    let shown = boss.get(&format!("/api/backups/{name}"));
    assert!(
        shown
            .body
            .contains("not a Backroom backup: it has an extra view `forever`"),
        "{}",
        shown.body
    );
    let restored = boss.api_post(
        &format!("/api/backups/{name}/restore"),
        serde_json::json!({}),
    );
    assert!(
        (400..500).contains(&restored.status),
        "{} {}",
        restored.status,
        restored.body
    );
    assert_eq!(canonical_dump_sha(&b.db_path()), data);
}
