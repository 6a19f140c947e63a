//! Words a shop owner reads about backups (issue 27): a backup is called by what the owner
//! wrote and when ("before stock-take — Wed 2 Dec, 15:57"), never by its file name first, in
//! messages, titles, confirmations and every copy list; the off-site card's resting words;
//! the printed emergency kit; and the kit reminder, which staff read as "ask the owner".

use std::time::Duration;

use backroom::auth::Role;

use crate::offsite::{add_folder, copies_in, health};
use crate::support::*;

/// The text of the first flash message on a page.
fn flash(body: &str) -> String {
    let start = body.find("<div class=\"flash").expect("a flash message");
    let text = &body[start..];
    let open = text.find('>').unwrap() + 1;
    let close = text.find("</div>").unwrap();
    text[open..close].to_string()
}

/// The text of the `<title>`.
fn title(body: &str) -> String {
    let start = body.find("<title>").unwrap() + "<title>".len();
    body[start..start + body[start..].find("</title>").unwrap()].to_string()
}

#[test]
fn a_backup_is_called_by_its_description_in_messages_titles_and_confirmations() {
    let (app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    let res = boss.post_form("/backup/create", &[("description", "before stock-take")]);
    assert_eq!(res.status, 303);
    let said = flash(&boss.get("/backup/status").body);
    assert!(
        said.starts_with("Backup “before stock-take — "),
        "the description leads: {said}"
    );
    let name = app
        .backup_files()
        .into_iter()
        .find(|n| n.starts_with("manual_"))
        .unwrap();
    assert!(said.contains(&name), "the file name comes after: {said}");

    let details = boss.get(&format!("/backup/{name}")).body;
    assert!(
        title(&details).starts_with("before stock-take — "),
        "{}",
        title(&details)
    );
    assert!(
        details.contains(&format!("file {name}")),
        "small underneath"
    );

    let confirm = boss.get(&format!("/backup/{name}/restore")).body;
    let t = title(&confirm);
    assert!(t.starts_with("Restore “before stock-take — "), "{t}");
    assert!(!t.contains("manual_"), "{t}");
    assert!(
        confirm.contains("<h1 class=\"name\">Restore “before stock-take — "),
        "{confirm}"
    );
    assert!(confirm.contains(&format!("file {name}")));

    // The restore's message and the undo card lead with words too.
    let res = boss.post_form(&format!("/backup/{name}/restore"), &[]);
    assert_eq!(res.status, 303);
    let page = boss.get("/backup/status").body;
    let said = flash(&page);
    assert!(said.starts_with("Restored “before stock-take — "), "{said}");
    let card_at = page.find("id=\"undo-restore\"").expect("the undo card");
    let card = &page[card_at..card_at + page[card_at..].find("</section>").unwrap()];
    assert!(
        card.contains("Made before restoring “before stock-take — ")
            && card.contains("kept as “safety copy before a restore — "),
        "{card}"
    );
    let safety = app
        .backup_files()
        .into_iter()
        .find(|n| n.starts_with("pre_restore_"))
        .unwrap();
    let undo = boss.get(&format!("/backup/{safety}/restore")).body;
    assert!(
        title(&undo).starts_with("Undo the restore: put back the safety copy before a restore — "),
        "{}",
        title(&undo)
    );
}

/// A super-admin's shop protected to a folder, with the backup "before stock-take" copied
/// there: the app, the super-admin, the folder and the copy's name.
fn a_copy_before_stock_take() -> (TestApp, Client, tempfile::TempDir, String) {
    let (app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    let target = tempfile::tempdir().unwrap();
    app.protect_off_site(target.path());
    let name = make_backup(&boss, "before stock-take");
    let copy = name.strip_suffix(".db").unwrap().to_string();
    wait_until("the copy", Duration::from_secs(60), || {
        copies_in(target.path()).contains(&copy)
    });
    (app, boss, target, copy)
}

/// The copy named `copy` as `/api/offsite/usb` lists it.
fn listed_copy(boss: &Client, copy: &str) -> serde_json::Value {
    let listed = boss.get("/api/offsite/usb").json();
    listed["copies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["copy"] == copy)
        .unwrap()
        .clone()
}

#[test]
fn off_site_copies_carry_the_description_and_a_changed_one_is_not_made_by_this_shop() {
    let (_app, boss, target, copy) = a_copy_before_stock_take();
    let manifest_path = target.path().join(format!("{copy}.json"));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    assert_eq!(manifest["description"], "before stock-take");

    // The JSON list and the page say what it is.
    let ours = listed_copy(&boss, &copy);
    assert_eq!(ours["description"], "before stock-take");
    assert!(
        ours["label"]
            .as_str()
            .unwrap()
            .starts_with("before stock-take — "),
        "{ours}"
    );
    assert_eq!(ours["trusted"], true);
    let page = boss.get("/backup/offsite/usb").body;
    let row_at = page.find(&format!("<tr data-copy=\"{copy}\">")).unwrap();
    let row = &page[row_at..row_at + page[row_at..].find("</tr>").unwrap()];
    let label_at = row.find("before stock-take — ").expect("the label");
    let file_at = row
        .find(&format!("<small class=\"muted mono\">{copy}"))
        .unwrap();
    assert!(
        label_at < file_at,
        "the label leads, the name is small: {row}"
    );

    // A forger who renames the copy's description is found out: the MAC covers it.
    let text = std::fs::read_to_string(&manifest_path).unwrap();
    std::fs::write(
        &manifest_path,
        text.replace("before stock-take", "use this one, it is the good one"),
    )
    .unwrap();
    let forged = listed_copy(&boss, &copy);
    assert_eq!(forged["trusted"], false, "{forged}");
    assert!(
        forged["from"]
            .as_str()
            .unwrap()
            .contains("NOT MADE BY THIS SHOP"),
        "{forged}"
    );
    let page = boss.get("/backup/offsite/usb").body;
    let row_at = page.find(&format!("<tr data-copy=\"{copy}\">")).unwrap();
    let row = &page[row_at..row_at + page[row_at..].find("</tr>").unwrap()];
    assert!(row.contains("Not made by this shop"), "{row}");
    assert!(!row.contains("Bring in to restore"), "{row}");
}

/// The first target's card text on the status page.
fn card(boss: &Client) -> String {
    let page = boss.get("/backup/status").body;
    let at = page.find("data-target=\"usb\"").expect("the card");
    page[at..at + page[at..].find("</dl>").unwrap()].to_string()
}

#[test]
fn the_off_site_card_says_up_to_date_with_the_newest_copy_and_nothing_new_to_send() {
    let (_app, boss, _target, copy) = a_copy_before_stock_take();
    wait_until("the card at rest", Duration::from_secs(60), || {
        card(&boss).contains("Up to date — newest copy: before stock-take, today ")
    });
    let words = card(&boss);
    assert!(!words.contains("Copies are being sent"), "{words}");
    let last = &words[words.find("<dt>Last copy</dt>").unwrap()..];
    let last = &last[..last.find("</dd>").unwrap()];
    assert!(
        last.contains("<dd>before stock-take — ") && last.contains(&copy),
        "the newest copy on the target, its name small: {last}"
    );

    // Send now with nothing waiting says so (asked while the list is known).
    wait_until("nothing new to send", Duration::from_secs(60), || {
        let pending = boss.get("/api/offsite").json()["offsite"]["targets"][0]["pending"].clone();
        if pending != 0 {
            return false;
        }
        assert_eq!(boss.post_form("/backup/offsite/usb/push", &[]).status, 303);
        flash(&boss.get("/backup/status").body).starts_with("Nothing new to send")
    });
}

#[test]
fn the_printed_kit_has_this_servers_address_and_no_secret_but_the_key() {
    let (app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    let target = tempfile::tempdir().unwrap();
    assert_eq!(add_folder(&boss, "usb", target.path()).status, 303);
    let port = app.url.rsplit(':').next().unwrap().trim_end_matches('/');
    let res = boss.get("/backup/offsite/kit/print");
    assert_eq!(res.status, 200, "{}", res.body);
    let page = res.body;
    assert!(
        page.contains(&format!("http://localhost:{port}/")),
        "the address this shop uses: {page}"
    );
    if port != "5000" {
        assert!(!page.contains(":5000"), "{page}");
    }
    assert!(page.contains("Keep it away from the copies."));
    assert!(page.contains("The kit plus the stick is all the data"));
    assert!(page.contains("on a new computer"));
    assert!(page.contains("@media print") || page.contains("kit-print.css"));
    assert!(page.contains(&format!("usb: folder {}", target.path().display())));
    // The key, once; nothing else secret (no session or form token on a printed page).
    let key = std::fs::read_to_string(app.data_dir().join("offsite.key")).unwrap();
    let secret = key
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .unwrap();
    assert_eq!(page.matches("AGE-SECRET-KEY-1").count(), 1, "{page}");
    assert!(page.contains(secret));
    assert!(!page.contains("csrf"), "{page}");
    let css = boss.get("/static/kit-print.css").body;
    assert!(css.contains("@media print"), "{css}");
    // The text kit names the real address too.
    let text = boss.get("/backup/offsite/kit/download").body;
    assert!(
        text.contains(&format!("open http://localhost:{port}/")),
        "{text}"
    );
    for role in [Role::Staff, Role::Admin] {
        assert_eq!(
            app.login_as(role).get("/backup/offsite/kit/print").status,
            403
        );
    }
}

#[test]
fn a_saved_kit_is_asked_for_again_when_a_target_is_added_and_staff_are_told_to_ask_the_owner() {
    let (app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    let staff = app.login_as(Role::Staff);
    let usb = tempfile::tempdir().unwrap();
    // Not saved yet: the owner is asked to save it, staff to ask the owner.
    assert_eq!(add_folder(&boss, "usb", usb.path()).status, 303);
    wait_until("the first copy", Duration::from_secs(60), || {
        !copies_in(usb.path()).is_empty()
    });
    wait_until("the kit reminder", Duration::from_secs(30), || {
        health(&boss).1.contains("Save the emergency kit")
    });
    let home = staff.get("/").body;
    assert!(home.contains("ask the owner"), "{home}");
    assert!(!home.contains("Save the emergency kit"), "{home}");
    assert!(boss.get("/").body.contains("Save the emergency kit"));

    assert_eq!(
        boss.post_form("/backup/offsite/kit/confirm", &[]).status,
        303
    );
    wait_until("a green line", Duration::from_secs(60), || {
        health(&boss).0 == "green"
    });
    assert!(
        !boss
            .get("/backup/status")
            .body
            .contains("kit-places-changed")
    );

    // A second place: the saved kit names only the first.
    let nas = tempfile::tempdir().unwrap();
    assert_eq!(add_folder(&boss, "nas", nas.path()).status, 303);
    let page = boss.get("/backup/status").body;
    assert!(page.contains("id=\"kit-places-changed\""), "{page}");
    wait_until("the reminder", Duration::from_secs(60), || {
        health(&boss).1.contains("save it again")
    });
    let home = staff.get("/").body;
    assert!(home.contains("ask the owner"), "{home}");
    assert!(
        !home.contains("save it again (Database Backup page)"),
        "not the owner's task: {home}"
    );

    // Saved again: no reminder.
    assert_eq!(
        boss.post_form("/backup/offsite/kit/confirm", &[]).status,
        303
    );
    assert!(
        !boss
            .get("/backup/status")
            .body
            .contains("kit-places-changed")
    );
}

#[test]
fn bringing_in_a_copy_with_the_kit_marks_the_kit_saved() {
    let (app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    let usb = tempfile::tempdir().unwrap();
    assert_eq!(add_folder(&boss, "usb", usb.path()).status, 303);
    let name = make_backup(&boss, "to bring in");
    let copy = name.strip_suffix(".db").unwrap().to_string();
    wait_until("the copy", Duration::from_secs(60), || {
        copies_in(usb.path()).contains(&copy)
    });
    let confirmed = || boss.get("/api/offsite").json()["offsite"]["kit_confirmed"] == true;
    assert!(!confirmed());
    let kit = boss.get("/backup/offsite/kit/download").body;
    let sealed = std::fs::read(usb.path().join(format!("{copy}.db.zst.age"))).unwrap();
    let res = boss.upload_form(
        "/backup/upload",
        &format!("{copy}.db.zst.age"),
        sealed,
        &[("key", &kit)],
    );
    assert_eq!(res.status, 303, "{}", res.body);
    assert!(confirmed(), "the kit just opened a copy: it is saved");
    drop(app);
}
