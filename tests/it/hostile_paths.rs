//! The hostile backup family (`hostile_backups.rs`) on the other ways in: the command line's
//! `restore --file` (plain and sealed) and `backup upload`, and a copy on a target that was
//! swapped for a hostile one (brought in from the target's list, or from the first-run page
//! on a new computer). Each is refused naming what is wrong, with nothing changed.

use std::path::Path;

use backroom::auth::Role;
use backroom::offsite::keys::Keyring;
use sha2::{Digest, Sha256};

use crate::bring_in::install_a;
use crate::hostile_backups::{EVIL_TRIGGER, Unchanged, changed, family, real_backup};
use crate::support::*;

fn output_of(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn hostile_files_are_refused_by_restore_file_and_backup_upload() {
    let (_a, good) = real_backup();
    let mut b = spawn_app();
    let boss = b.login_as(Role::SuperAdmin);
    boss.add_product("B-1", "B's own", "1.00", "1");
    b.wait_for_startup_backup();
    b.stop();
    let work = tempfile::tempdir().unwrap();
    let before = Unchanged::of(&b.backups_dir(), &b.db_path());
    for hostile in family(&good) {
        let file = work.path().join(format!("{}.db", hostile.label));
        std::fs::write(&file, &hostile.bytes).unwrap();
        for args in [
            ["restore", "--file", file.to_str().unwrap()],
            ["backup", "upload", file.to_str().unwrap()],
        ] {
            let out = run_cli(b.data_dir(), &args, None);
            let said = output_of(&out);
            assert!(!out.status.success(), "{}: {args:?}: {said}", hostile.label);
            assert!(said.contains(hostile.says), "{}: {said}", hostile.label);
            before.check(&b.backups_dir(), &b.db_path(), hostile.label);
        }
    }
    // A sealed copy with its kit is unpacked and then refused the same way.
    let keys = Keyring::generate(chrono::Utc::now());
    let kit = work.path().join("kit.txt");
    std::fs::write(&kit, keys.to_file_text()).unwrap();
    let plain = changed(&good, EVIL_TRIGGER);
    let (_, sealed) =
        backroom::offsite::pipeline::seal(&plain[..], &keys.recipient(), Vec::new()).unwrap();
    let file = work.path().join("copy.db.zst.age");
    std::fs::write(&file, sealed).unwrap();
    let args = [
        "restore",
        "--file",
        file.to_str().unwrap(),
        "--key",
        kit.to_str().unwrap(),
    ];
    let out = run_cli(b.data_dir(), &args, None);
    let said = output_of(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("it has an extra trigger `evil` on table `sales`"),
        "{said}"
    );
    before.check(&b.backups_dir(), &b.db_path(), "sealed");
    // The same command with the real file restores it.
    let out = run_cli(
        b.data_dir(),
        &["restore", "--file", good.to_str().unwrap()],
        None,
    );
    assert!(out.status.success(), "{}", output_of(&out));
}

/// Puts `plain` on the folder target in place of `copy`, sealed to the kit's key, with a
/// manifest that matches it, signed with the kit (someone who holds the kit and can write the
/// target).
fn swap_copy(target: &Path, copy: &str, kit: &str, plain: &[u8]) {
    let keys = Keyring::from_kit(kit).unwrap();
    let (_, sealed) =
        backroom::offsite::pipeline::seal(plain, &keys.recipient(), Vec::new()).unwrap();
    let sha = |b: &[u8]| backroom::backup::copy::hex(&Sha256::digest(b));
    let manifest_path = target.join(format!("{copy}.json"));
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    manifest["plain_size"] = plain.len().into();
    manifest["plain_sha256"] = sha(plain).into();
    manifest["object_size"] = sealed.len().into();
    manifest["object_sha256"] = sha(&sealed).into();
    // Signed again with the kit's secret: this is a copy the shop's own key vouches for, so
    // only the schema check stands between it and the data.
    let mut manifest: backroom::offsite::manifest::Manifest =
        serde_json::from_value(manifest).unwrap();
    backroom::offsite::auth::sign(&mut manifest, &keys);
    std::fs::write(target.join(format!("{copy}.db.zst.age")), &sealed).unwrap();
    std::fs::write(
        &manifest_path,
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
}

#[test]
fn a_hostile_copy_on_a_target_is_refused_by_bring_in_and_on_the_first_run_page() {
    let target = tempfile::tempdir().unwrap();
    let a = spawn_app();
    let (_dump, copy, kit) = install_a(&a, target.path());
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(target.path().join(format!("{copy}.json"))).unwrap(),
    )
    .unwrap();
    let source = a
        .backups_dir()
        .join(manifest["source_backup"].as_str().unwrap());
    let boss = a.login_as(Role::SuperAdmin);
    let before = Unchanged::of(&a.backups_dir(), &a.db_path());
    for hostile in family(&source) {
        swap_copy(target.path(), &copy, &kit, &hostile.bytes);
        let res = boss.post_form(&format!("/backup/offsite/usb/{copy}/bring-in"), &[]);
        hostile.refused_on_page(&res);
        before.check(&a.backups_dir(), &a.db_path(), hostile.label);
    }

    // A new computer connecting to the target on its first-run page: refused, no account.
    swap_copy(target.path(), &copy, &kit, &changed(&source, EVIL_TRIGGER));
    let b = spawn_app().ready();
    let b_before = Unchanged::of(&b.backups_dir(), &b.db_path());
    let visitor = b.client();
    let listed = visitor.post_form(
        "/first-run/connect",
        &[
            ("name", "usb"),
            ("kind", "folder"),
            ("path", target.path().to_str().unwrap()),
            ("kit", &kit),
        ],
    );
    assert_eq!(listed.status, 200, "{}", listed.body);
    let marker = "name=\"token\" value=\"";
    let at = listed.body.find(marker).expect("no token") + marker.len();
    let token = &listed.body[at..at + listed.body[at..].find('"').unwrap()];
    let done = visitor.post_form("/first-run/restore", &[("token", token), ("copy", &copy)]);
    assert_eq!(done.status, 400, "{}", done.body);
    assert!(
        done.body
            .contains("it has an extra trigger `evil` on table `sales`"),
        "{}",
        done.body
    );
    b_before.check(&b.backups_dir(), &b.db_path(), "first run");
    assert_eq!(b.query_i64("SELECT count(*) FROM users"), 0);
}
