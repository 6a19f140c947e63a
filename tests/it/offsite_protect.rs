//! Protection that never quietly thins out (issue 22): a copy of a backup marked Keep stays
//! off-site and is sent once, not again every round; a folder on the data's own disk is not
//! off-site, and a missing folder is not made up; two installations sharing a target leave
//! each other's copies alone.

use std::path::Path;
use std::time::Duration;

use backroom::auth::Role;

use crate::offsite::{add_folder, copies_in, health};
use crate::support::*;

/// Tightens the first target's retention in `backroom.toml` to the newest `last` copies.
fn keep_only_newest(app: &TestApp, last: u32) {
    let path = app.data_dir().join("backroom.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("keep_last = 10"), "{text}");
    std::fs::write(
        &path,
        text.replace("keep_last = 10", &format!("keep_last = {last}")),
    )
    .unwrap();
}

/// Waits until the worker has finished `rounds` more rounds on the first target (each
/// success stamps its time).
fn wait_for_rounds(boss: &Client, rounds: usize) {
    let stamp =
        || boss.get("/api/offsite").json()["offsite"]["targets"][0]["last_success_at"].clone();
    let mut seen = vec![stamp()];
    wait_until("several rounds", Duration::from_secs(60), || {
        let now = stamp();
        if !seen.contains(&now) {
            seen.push(now);
        }
        seen.len() > rounds
    });
}

/// How often backup.log says `copy` was sent to `target`.
fn sends(app: &TestApp, target: &str, copy: &str) -> usize {
    let log = std::fs::read_to_string(app.backups_dir().join("backup.log")).unwrap();
    log.matches(&format!("Off-site copy sent to {target}: {copy} ("))
        .count()
}

fn copy_of(backup: &str) -> String {
    backup.strip_suffix(".db").unwrap().to_string()
}

fn wait_for_copy(dir: &Path, copy: &str) {
    wait_until("the copy", Duration::from_secs(60), || {
        copies_in(dir).iter().any(|c| c == copy)
    });
}

#[test]
fn a_kept_backup_is_sent_once_and_stays_while_newer_copies_come_and_go() {
    let (app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    let target = tempfile::tempdir().unwrap();
    assert_eq!(add_folder(&boss, "usb", target.path()).status, 303);
    keep_only_newest(&app, 2);
    let kept = make_backup(&boss, "year end");
    let res = boss.api_post(
        &format!("/api/backups/{kept}/keep"),
        serde_json::json!({"keep": true}),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    let newer: Vec<String> = (0..3)
        .map(|i| make_backup(&boss, &format!("newer {i}")))
        .collect();
    wait_for_copy(target.path(), &copy_of(newer.last().unwrap()));
    wait_for_rounds(&boss, 5);

    let on_target = copies_in(target.path());
    assert!(on_target.contains(&copy_of(&kept)), "{on_target:?}");
    assert_eq!(sends(&app, "usb", &copy_of(&kept)), 1, "sent once");
    // The newer ones beyond the newest two go (at most once sent, never again).
    for backup in &newer {
        assert!(sends(&app, "usb", &copy_of(backup)) <= 1, "{backup}");
    }
    assert!(!on_target.contains(&copy_of(&newer[0])), "{on_target:?}");
    let shown = boss.get("/api/offsite").json()["offsite"]["targets"][0].clone();
    assert_eq!(shown["pending"], 0, "nothing waits to be sent: {shown}");
}

#[test]
fn a_backup_retention_would_remove_at_once_is_never_sent() {
    let (mut app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    // Three backups before the target: with the newest two kept, the oldest is not sent.
    let made: Vec<String> = (0..3)
        .map(|i| make_backup(&boss, &format!("before {i}")))
        .collect();
    // The target is set up with the server stopped, its keep_last lowered before any round
    // runs (added from the page, a round could send everything under the default first).
    let target = tempfile::tempdir().unwrap();
    app.stop();
    cli_ok(
        app.data_dir(),
        &[
            "offsite",
            "add",
            "usb",
            "--folder",
            target.path().to_str().unwrap(),
        ],
    );
    keep_only_newest(&app, 2);
    app.restart();
    app.wait_for_startup_backup_attempt();
    let boss = app.login_as(Role::SuperAdmin);
    let next = make_backup(&boss, "after");
    wait_for_copy(target.path(), &copy_of(&next));
    wait_for_rounds(&boss, 5);
    for backup in made.iter().chain([&next]) {
        assert!(sends(&app, "usb", &copy_of(backup)) <= 1, "{backup}");
    }
    // Once gone, an older backup is not sent again.
    assert!(!copies_in(target.path()).contains(&copy_of(&made[0])));
    assert!(!copies_in(target.path()).contains(&copy_of(&made[1])));
    // Asked for by name, it is refused with the reason rather than sent to be removed.
    app.stop();
    let push = run_cli(app.data_dir(), &["offsite", "push", &made[0]], None);
    let out = String::from_utf8_lossy(&push.stdout).into_owned();
    assert!(push.status.success(), "{out}");
    assert!(out.contains("retention would remove it at once"), "{out}");
    assert!(!copies_in(target.path()).contains(&copy_of(&made[0])));
}

/// A folder on another disk than the data (tmpfs `/dev/shm` here), when there is one.
fn folder_on_another_disk(data: &Path) -> Option<tempfile::TempDir> {
    use std::os::unix::fs::MetadataExt;
    let shm = Path::new("/dev/shm");
    let dev = |p: &Path| std::fs::metadata(p).ok().map(|m| m.dev());
    (dev(shm).is_some() && dev(shm) != dev(data))
        .then(|| tempfile::tempdir_in(shm).ok())
        .flatten()
}

#[test]
fn a_folder_on_the_datas_own_disk_keeps_the_health_line_amber_and_says_why() {
    let (app, boss) = spawn_app_checking_disks().ready_as(Role::SuperAdmin);
    let beside = app.data_dir().join("copies");
    std::fs::create_dir(&beside).unwrap();
    assert_eq!(add_folder(&boss, "usb", &beside).status, 303);
    boss.post_form("/backup/offsite/kit/confirm", &[]);
    wait_until("a copy", Duration::from_secs(60), || {
        !copies_in(&beside).is_empty()
    });
    let reason = "usb is on the same disk as the data: it does not protect against a dead disk";
    let (level, message) = health(&boss);
    assert_eq!(level, "amber", "{message}");
    assert!(message.contains(reason), "{message}");
    let page = boss.get("/backup/status").body;
    assert!(page.contains(reason), "the card says so too");
    let log = std::fs::read_to_string(app.backups_dir().join("backup.log")).unwrap();
    assert!(log.contains(reason), "{log}");
    // A folder on another disk turns it green.
    let Some(other) = folder_on_another_disk(app.data_dir()) else {
        println!("no second disk (/dev/shm) here: the green half is skipped");
        return;
    };
    assert_eq!(boss.api_delete("/api/offsite/usb").status, 200);
    assert_eq!(add_folder(&boss, "usb", other.path()).status, 303);
    // The saved kit names the old folder: it is asked for again, then the line turns green.
    wait_until("the kit asked for again", Duration::from_secs(60), || {
        let (level, message) = health(&boss);
        level == "amber" && message.contains("save it again") && !message.contains(reason)
    });
    boss.post_form("/backup/offsite/kit/confirm", &[]);
    wait_until("a green line", Duration::from_secs(60), || {
        health(&boss).0 == "green"
    });
}

#[test]
fn a_missing_folder_is_refused_unless_making_it_is_asked_for() {
    let (app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    let parent = tempfile::tempdir().unwrap();
    let typo = parent.path().join("usb-stcik");
    let res = add_folder(&boss, "usb", &typo);
    assert_eq!(res.status, 400, "{}", res.body);
    assert!(res.body.contains("does not exist"), "{}", res.body);
    assert!(
        res.body.contains("Is the USB stick plugged in"),
        "{}",
        res.body
    );
    assert!(!typo.exists(), "nothing is created");
    let settings =
        std::fs::read_to_string(app.data_dir().join("backroom.toml")).unwrap_or_default();
    assert!(!settings.contains("usb-stcik"), "{settings}");
    // The command line refuses it the same way.
    let cli = run_cli(
        app.data_dir(),
        &["offsite", "add", "usb", "--folder", typo.to_str().unwrap()],
        None,
    );
    assert!(!cli.status.success());
    assert!(
        String::from_utf8_lossy(&cli.stderr).contains("Is the USB stick plugged in"),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    assert!(!typo.exists(), "nothing is created");
    // Asked for explicitly, the folder is made and gets the copies.
    let res = boss.post_form(
        "/backup/offsite/targets",
        &[
            ("kind", "folder"),
            ("name", "usb"),
            ("path", typo.to_str().unwrap()),
            ("create_folder", "true"),
        ],
    );
    assert_eq!(res.status, 303, "{}", res.body);
    assert!(typo.is_dir());
    wait_until("a copy", Duration::from_secs(60), || {
        !copies_in(&typo).is_empty()
    });
    // Once set up, a folder that goes away is not made again behind the user's back.
    let away = parent.path().join("unplugged");
    std::fs::rename(&typo, &away).unwrap();
    make_backup(&boss, "while the stick is out");
    let error = wait_until_error(&boss);
    assert!(error.contains("is not there"), "{error}");
    assert!(!typo.exists(), "the folder is not made again");
}

fn wait_until_error(boss: &Client) -> String {
    let last_error =
        || boss.get("/api/offsite").json()["offsite"]["targets"][0]["last_error"].clone();
    wait_until("the failure", Duration::from_secs(60), || {
        last_error().is_string()
    });
    last_error().as_str().unwrap().to_string()
}

fn installation_id(app: &TestApp) -> String {
    let text = std::fs::read_to_string(app.data_dir().join("installation.json")).unwrap();
    serde_json::from_str::<serde_json::Value>(&text).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The installation id in each manifest on a folder target, by copy.
fn senders(dir: &Path) -> Vec<(String, String)> {
    copies_in(dir)
        .into_iter()
        .map(|copy| {
            let text = std::fs::read_to_string(dir.join(format!("{copy}.json"))).unwrap();
            let m: serde_json::Value = serde_json::from_str(&text).unwrap();
            let id = m["installation"]["id"].as_str().unwrap_or("").to_string();
            (copy, id)
        })
        .collect()
}

#[test]
fn two_installations_on_one_target_never_remove_or_drill_each_others_copies() {
    let shared = tempfile::tempdir().unwrap();
    let a = spawn_app();
    let b = spawn_app();
    let mut made = Vec::new();
    for (app, who) in [(&a, "a"), (&b, "b")] {
        app.wait_for_startup_backup();
        let boss = app.login_as(Role::SuperAdmin);
        assert_eq!(add_folder(&boss, "usb", shared.path()).status, 303);
        keep_only_newest(app, 2);
        let names: Vec<String> = (0..3)
            .map(|i| copy_of(&make_backup(&boss, &format!("{who} {i}"))))
            .collect();
        wait_for_copy(shared.path(), names.last().unwrap());
        made.push(names);
    }
    let (id_a, id_b) = (installation_id(&a), installation_id(&b));
    assert_ne!(id_a, id_b);
    let (boss_a, boss_b) = (a.login_as(Role::SuperAdmin), b.login_as(Role::SuperAdmin));
    wait_for_rounds(&boss_a, 5);
    wait_for_rounds(&boss_b, 5);
    // Each keeps its own newest two; neither thinned out the other's.
    let on_target = senders(shared.path());
    for (names, id) in made.iter().zip([&id_a, &id_b]) {
        for copy in &names[1..] {
            assert!(
                on_target.iter().any(|(c, i)| c == copy && i == id),
                "{copy} of {id}: {on_target:?}"
            );
        }
        assert!(
            !on_target.iter().any(|(c, _)| *c == names[0]),
            "{on_target:?}"
        );
    }
    // A's drill opens A's newest copy, not B's (which A's key cannot open).
    let drill = boss_a
        .api_post("/api/offsite/usb/drill", serde_json::json!({}))
        .json();
    assert_eq!(drill["ok"], true, "{drill}");
    assert_eq!(drill["copy"], made[0][2].as_str(), "{drill}");
    let shown = boss_a.get("/api/offsite").json()["offsite"]["targets"][0].clone();
    assert_eq!(shown["installations"], 2, "{shown}");
    assert!(
        boss_a
            .get("/backup/status")
            .body
            .contains("2 installations send here")
    );
    // A new computer with A's kit is not handed B's newer copy as "the latest".
    let work = tempfile::tempdir().unwrap();
    let kit = work.path().join("kit.txt");
    std::fs::write(&kit, boss_a.get("/backup/offsite/kit/download").body).unwrap();
    let fresh = work.path().join("fresh");
    let add = run_cli(
        &fresh,
        &[
            "offsite",
            "add",
            "usb",
            "--folder",
            shared.path().to_str().unwrap(),
            "--key",
            kit.to_str().unwrap(),
        ],
        None,
    );
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    let list = run_cli(&fresh, &["offsite", "list", "usb"], None);
    let listed = String::from_utf8_lossy(&list.stdout).into_owned();
    for id in [&id_a, &id_b] {
        assert!(
            listed.contains(&format!("installation {}", &id[..8])),
            "{listed}"
        );
    }
    // B's copies are sealed to B's key: A's kit cannot show B made them (#23 item 4), so
    // they are listed as not made by this shop and the latest is A's newest.
    assert!(
        listed
            .lines()
            .filter(|l| made[1][1..].iter().any(|c| l.contains(c.as_str())))
            .all(|l| l.contains("NOT MADE BY THIS SHOP")),
        "{listed}"
    );
    let latest = run_cli(&fresh, &["restore", "--offsite", "usb", "--latest"], None);
    let said = String::from_utf8_lossy(&latest.stderr).into_owned();
    assert!(latest.status.success(), "{said}");
    assert_eq!(
        canonical_dump_sha(&fresh.join("business_data.db")),
        canonical_dump_sha(&a.backups_dir().join(format!("{}.db", made[0][2]))),
        "A's newest copy was restored"
    );
    // The first-run page of a new install lists both, saying who sent each copy.
    let c = spawn_app();
    let visitor = c.client();
    assert_eq!(visitor.get("/").status, 200);
    let kit_text = std::fs::read_to_string(&kit).unwrap();
    let listed = visitor.post_form(
        "/first-run/connect",
        &[
            ("kind", "folder"),
            ("name", "usb"),
            ("path", shared.path().to_str().unwrap()),
            ("kit", &kit_text),
        ],
    );
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert!(listed.body.contains("Sent by"), "{}", listed.body);
    for id in [&id_a, &id_b] {
        assert!(
            listed.body.contains(&format!("installation {}", &id[..8])),
            "{}",
            listed.body
        );
    }
}
