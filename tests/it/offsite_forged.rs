//! A copy planted on a target (#23 item 4): anyone who can write to the folder can encrypt a
//! database to the public key every manifest shows and add a manifest dated later. Such a copy,
//! and an old signed one renamed or re-dated to look newest, is listed as not made by this
//! shop and is never drilled, restored (by `--latest`, by name, or from the first-run page)
//! or removed.

use std::path::Path;

use backroom::auth::Role;
use sha2::{Digest, Sha256};

use crate::bring_in::{first_run_from_target, install_a};
use crate::support::*;

fn sha_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn manifest_of(target: &Path, copy: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(target.join(format!("{copy}.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn write_manifest(target: &Path, copy: &str, m: &serde_json::Value) {
    std::fs::write(
        target.join(format!("{copy}.json")),
        serde_json::to_vec_pretty(m).unwrap(),
    )
    .unwrap();
}

/// Makes the manifest `m` claim to be `copy`, made on 31 Dec 2099, later than any real one.
fn redate(m: &mut serde_json::Value, copy: &str) {
    m["copy"] = copy.into();
    m["source_backup"] = format!("{copy}.db").into();
    m["created_at"] = "2099-12-31T12:00:00Z".into();
    m["uploaded_at"] = "2099-12-31T12:01:00Z".into();
    m["order"] = (m["order"].as_u64().unwrap_or(0) + 100).into();
    m["sequence"] = (m["sequence"].as_u64().unwrap_or(0) + 100).into();
}

/// Plants `copy`: A's backup with its products renamed, encrypted to the public key in the
/// real copy's manifest, with a manifest dated later whose hashes all match (so only the
/// signature can tell) and `mac` as given (`None`: no MAC at all).
fn plant(a: &TestApp, target: &Path, real: &str, copy: &str, mac: Option<&str>) {
    let mut m = manifest_of(target, real);
    let source = a.backups_dir().join(m["source_backup"].as_str().unwrap());
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("theirs.db");
    std::fs::copy(&source, &db).unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("UPDATE products SET name = 'Forged tea'")
        .unwrap();
    drop(conn);
    let plain = std::fs::read(&db).unwrap();
    let recipient: age::x25519::Recipient = m["recipient"].as_str().unwrap().parse().unwrap();
    let (_, sealed) =
        backroom::offsite::pipeline::seal(plain.as_slice(), &recipient, Vec::new()).unwrap();
    std::fs::write(target.join(format!("{copy}.db.zst.age")), &sealed).unwrap();
    redate(&mut m, copy);
    m["plain_size"] = plain.len().into();
    m["plain_sha256"] = sha_hex(&plain).into();
    m["object_size"] = sealed.len().into();
    m["object_sha256"] = sha_hex(&sealed).into();
    match mac {
        Some(mac) => m["mac"] = mac.into(),
        None => {
            m.as_object_mut().unwrap().remove("mac");
        }
    }
    write_manifest(target, copy, &m);
}

fn cli(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = run_cli(dir, args, None);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The line of `copy` in `backroom offsite list`.
fn listed_line(listing: &str, copy: &str) -> String {
    listing
        .lines()
        .find(|l| l.contains(copy))
        .unwrap_or_else(|| panic!("{copy} is not listed: {listing}"))
        .to_string()
}

/// A fresh folder with the kit and the target added from the command line.
fn fresh_with_kit(work: &Path, target: &Path, kit: &str) -> std::path::PathBuf {
    let kit_file = work.join("kit.txt");
    std::fs::write(&kit_file, kit).unwrap();
    let fresh = work.join("fresh");
    let (ok, said) = cli(
        &fresh,
        &[
            "offsite",
            "add",
            "usb",
            "--folder",
            target.to_str().unwrap(),
            "--key",
            kit_file.to_str().unwrap(),
        ],
    );
    assert!(ok, "{said}");
    fresh
}

fn drill(boss: &Client) -> serde_json::Value {
    boss.api_post("/api/offsite/usb/drill", serde_json::json!({}))
        .json()
}

#[test]
fn a_copy_planted_on_the_target_is_not_made_by_this_shop_and_never_restored() {
    let target = tempfile::tempdir().unwrap();
    let a = spawn_app();
    let (a_dump, real, kit) = install_a(&a, target.path());
    let unsigned = "backup_20991230_120000";
    let bad_mac = "backup_20991231_120000";
    plant(&a, target.path(), &real, unsigned, None);
    plant(&a, target.path(), &real, bad_mac, Some(&"0".repeat(64)));

    // Listed, and said to be not made by this shop.
    let (ok, listing) = cli(a.data_dir(), &["offsite", "list", "usb"]);
    assert!(ok, "{listing}");
    for forged in [unsigned, bad_mac] {
        let line = listed_line(&listing, forged);
        assert!(line.contains("NOT MADE BY THIS SHOP"), "{line}");
    }
    assert!(
        !listed_line(&listing, &real).contains("NOT MADE"),
        "{listing}"
    );
    let boss = a.login_as(Role::SuperAdmin);
    let page = boss.get("/backup/offsite/usb");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Not made by this shop"), "{}", page.body);
    assert!(!page.body.contains("AGE-SECRET-KEY"));

    // The drill opens the real newest copy, not the planted ones.
    let drilled = drill(&boss);
    assert_eq!(drilled["ok"], true, "{drilled}");
    assert_eq!(drilled["copy"], real.as_str(), "{drilled}");

    // A new computer with the kit: --latest brings back the real data; naming a planted copy
    // is refused and restores nothing.
    let work = tempfile::tempdir().unwrap();
    let fresh = fresh_with_kit(work.path(), target.path(), &kit);
    let (_, listing) = cli(&fresh, &["offsite", "list", "usb"]);
    assert!(
        listed_line(&listing, bad_mac).contains("NOT MADE BY THIS SHOP"),
        "{listing}"
    );
    let (ok, said) = cli(&fresh, &["restore", "--offsite", "usb", bad_mac]);
    assert!(!ok, "{said}");
    assert!(said.contains("not made by this shop"), "{said}");
    assert!(!fresh.join("business_data.db").exists(), "nothing restored");
    let (ok, said) = cli(&fresh, &["restore", "--offsite", "usb", "--latest"]);
    assert!(ok, "{said}");
    assert_eq!(canonical_dump_sha(&fresh.join("business_data.db")), a_dump);

    // The first-run page lists the planted copies without a button and brings back the real.
    let b = spawn_app().ready();
    let path = target.path().to_str().unwrap().to_string();
    let fields = [("kind", "folder"), ("name", "usb"), ("path", path.as_str())];
    let mut with_kit = fields.to_vec();
    with_kit.push(("kit", &kit));
    let listed = b.client().post_form("/first-run/connect", &with_kit);
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert!(
        listed
            .body
            .contains("Not made by this shop: cannot be brought back"),
        "{}",
        listed.body
    );
    assert_eq!(first_run_from_target(&b, &fields, &kit), real);
    assert_eq!(canonical_dump_sha(&b.db_path()), a_dump);

    // Retention never touched them.
    for forged in [unsigned, bad_mac] {
        assert!(target.path().join(format!("{forged}.json")).exists());
        assert!(target.path().join(format!("{forged}.db.zst.age")).exists());
    }
}

#[test]
fn an_old_signed_copy_renamed_or_re_dated_to_look_newest_is_caught() {
    let target = tempfile::tempdir().unwrap();
    let a = spawn_app();
    let (a_dump, real, kit) = install_a(&a, target.path());
    let signed = manifest_of(target.path(), &real);
    assert!(signed["mac"].is_string(), "{signed}");
    assert!(signed["sequence"].is_u64(), "{signed}");
    // Renamed: both files copied under a later name, the manifest as it was.
    let renamed = "backup_20991230_120000";
    // Re-dated: the manifest made to claim the later name, date and order, MAC kept.
    let redated = "backup_20991231_120000";
    for copy in [renamed, redated] {
        std::fs::copy(
            target.path().join(format!("{real}.db.zst.age")),
            target.path().join(format!("{copy}.db.zst.age")),
        )
        .unwrap();
    }
    write_manifest(target.path(), renamed, &signed);
    let mut changed = signed.clone();
    redate(&mut changed, redated);
    write_manifest(target.path(), redated, &changed);

    let (ok, listing) = cli(a.data_dir(), &["offsite", "list", "usb"]);
    assert!(ok, "{listing}");
    let line = listed_line(&listing, renamed);
    assert!(
        line.contains("NOT MADE BY THIS SHOP") && line.contains("renamed"),
        "{line}"
    );
    let line = listed_line(&listing, redated);
    assert!(
        line.contains("NOT MADE BY THIS SHOP") && line.contains("signature does not match"),
        "{line}"
    );
    let boss = a.login_as(Role::SuperAdmin);
    let drilled = drill(&boss);
    assert_eq!(drilled["ok"], true, "{drilled}");
    assert_eq!(drilled["copy"], real.as_str(), "{drilled}");

    let work = tempfile::tempdir().unwrap();
    let fresh = fresh_with_kit(work.path(), target.path(), &kit);
    for copy in [renamed, redated] {
        let (ok, said) = cli(&fresh, &["restore", "--offsite", "usb", copy]);
        assert!(!ok, "{said}");
        assert!(said.contains("not made by this shop"), "{said}");
    }
    let (ok, said) = cli(&fresh, &["restore", "--offsite", "usb", "--latest"]);
    assert!(ok, "{said}");
    assert!(said.contains("Restored uploaded_"), "{said}");
    assert_eq!(canonical_dump_sha(&fresh.join("business_data.db")), a_dump);
}
