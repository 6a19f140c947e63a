//! Alerts, against real receivers on loopback: a real SMTP server (Debian's `aiosmtpd`, with a
//! password it checks) and an HTTP receiver in the test for webhooks and heartbeats. The test
//! message, a failing target told once and its recovery, a heartbeat after a good backup and
//! `/fail` after a bad one, a mail server that is down (Backroom keeps working, retries, and
//! the page says so), and secrets never shown.

mod receivers;

use std::path::Path;
use std::time::Duration;

use backroom::auth::Role;
use receivers::{Receiver, SMTP_PASSWORD, Smtp, free_port};

use crate::support::*;

const TOKEN: &str = "TOKEN-S3CRET-2";

/// Starts the app on `dir` with alerts looked for and retried at test speed.
fn start_app(dir: &Path) -> TestApp {
    in_dir_tuned(dir, |o| {
        o.alerts = backroom::alerts::AlertOptions {
            poll: Duration::from_millis(100),
            retry_base: Duration::from_millis(300),
        };
    })
}

fn add_webhook(dir: &Path, name: &str, url: &str) {
    cli_ok(dir, &["alerts", "add", name, "--webhook", url]);
}

/// `alerts add owner`: e-mail to owner@example.com through `smtp`, plain, then `more`.
fn add_owner_email<'a>(smtp: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "alerts",
        "add",
        "owner",
        "--email",
        "owner@example.com",
        "--smtp",
        smtp,
        "--tls",
        "none",
    ];
    args.extend_from_slice(more);
    args
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in [SMTP_PASSWORD, TOKEN] {
        assert!(!text.contains(secret), "{what} shows a secret: {text}");
    }
}

#[test]
fn a_test_message_arrives_by_email_and_webhook_and_no_secret_is_shown() {
    let smtp = Smtp::start(free_port(), Some("shop"));
    let hook = Receiver::start();
    let dir = tempfile::tempdir().unwrap();
    let smtp_addr = format!("127.0.0.1:{}", smtp.port);
    let out = run_cli(
        dir.path(),
        &add_owner_email(&smtp_addr, &["--user", "shop"]),
        Some(&format!("{SMTP_PASSWORD}\n")),
    );
    assert!(out.status.success(), "{out:?}");
    add_webhook(dir.path(), "phone", &hook.url(&format!("/hook/{TOKEN}")));
    // The command line's test: the mail server checked the password and took the message.
    let said = cli_ok(dir.path(), &["alerts", "test", "owner"]);
    assert!(said.contains("owner: test message sent"), "{said}");
    wait_until("the test e-mail", Duration::from_secs(30), || {
        !smtp.messages().is_empty()
    });
    let mail = smtp.messages().remove(0);
    assert!(
        mail.contains("Subject: [Backroom] Backroom test message"),
        "{mail}"
    );
    assert!(mail.contains("To: owner@example.com"), "{mail}");
    // A wrong password is refused by the server, and the command says so.
    let out = run_cli(
        dir.path(),
        &[
            "alerts",
            "add",
            "wrong",
            "--email",
            "owner@example.com",
            "--smtp",
            &smtp_addr,
            "--tls",
            "none",
            "--user",
            "shop",
        ],
        Some("not-the-password\n"),
    );
    assert!(out.status.success(), "{out:?}");
    let out = run_cli(dir.path(), &["alerts", "test", "wrong"], None);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !out.status.success() && said.contains("wrong: FAILED"),
        "{said}"
    );
    assert_eq!(smtp.messages().len(), 1);
    cli_ok(dir.path(), &["alerts", "remove", "wrong"]);
    let listed = cli_ok(dir.path(), &["alerts", "list"]);
    assert!(listed.contains("owner"), "{listed}");
    assert!(listed.contains("webhook to 127.0.0.1"), "{listed}");
    assert_no_secret("alerts list", &listed);
    let toml = std::fs::read_to_string(dir.path().join("backroom.toml")).unwrap();
    assert!(toml.contains("[[alerts.channels]]"), "{toml}");
    assert_no_secret("backroom.toml", &toml);
    let secrets = dir.path().join("alerts-secrets.toml");
    assert!(std::fs::read_to_string(&secrets).unwrap().contains(TOKEN));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secrets).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o077,
            0,
            "alerts-secrets.toml is owner-only: {mode:o}"
        );
    }

    let app = start_app(dir.path());
    app.wait_for_startup_backup();
    // Only super-admins see the page.
    assert_eq!(app.login_as(Role::Admin).get("/alerts").status, 403);
    let boss = app.login_as(Role::SuperAdmin);
    assert!(boss.get("/").body.contains("href=\"/alerts\""));
    let page = boss.get("/alerts").expect_status(200);
    page.assert_shows("e-mail to owner@example.com");
    assert!(page.body.contains("webhook to 127.0.0.1"), "{}", page.body);
    assert_no_secret("the alerts page", &page.body);
    // Send a test from the page: the webhook gets the documented JSON.
    let res = boss.post_form("/alerts/test", &[("name", "phone")]);
    assert_eq!(res.status, 303, "{}", res.body);
    wait_until("the test webhook", Duration::from_secs(30), || {
        hook.count("test") == 1
    });
    let request = hook
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(request.path, format!("/hook/{TOKEN}"));
    let event = &hook.events()[0];
    for field in [
        "event", "severity", "title", "message", "shop", "computer", "at",
    ] {
        assert!(event.get(field).is_some(), "{field} missing: {event}");
    }
    assert_eq!(event["severity"], "info");
    assert_eq!(event["title"], "Backroom test message");
    wait_until(
        "the page to say it was sent",
        Duration::from_secs(30),
        || boss.get("/alerts").body.contains("last sent"),
    );
    // A channel added on the page: its password is kept apart and never shown back.
    let res = boss.post_form(
        "/alerts",
        &[
            ("name", "office"),
            ("kind", "email"),
            ("to", "office@example.com"),
            ("smtp", &smtp_addr),
            ("tls", "none"),
            ("user", "shop"),
            ("password", SMTP_PASSWORD),
        ],
    );
    assert_eq!(res.status, 303, "{}", res.body);
    let refused = boss
        .post_form(
            "/alerts",
            &[
                ("name", "bad"),
                ("kind", "webhook"),
                ("url", "ftp://example.com/TOKEN-S3CRET-2"),
            ],
        )
        .expect_status(400);
    assert_no_secret("the refused form", &refused.body);
    let page = boss.get("/alerts");
    assert!(page.body.contains("office@example.com"), "{}", page.body);
    assert_no_secret("the alerts page", &page.body);
    let res = boss.post_form("/alerts/test", &[("name", "office")]);
    assert_eq!(res.status, 303);
    wait_until("the office's test e-mail", Duration::from_secs(30), || {
        smtp.messages()
            .iter()
            .any(|m| m.contains("To: office@example.com"))
    });
    assert_eq!(boss.post_form("/alerts/office/remove", &[]).status, 303);
    assert!(!boss.get("/alerts").body.contains("office@example.com"));
    for file in ["backroom.toml", "alerts-state.json"] {
        let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
        assert_no_secret(file, &text);
    }
    let log = std::fs::read_to_string(app.backups_dir().join("backup.log")).unwrap();
    assert!(
        log.contains("Alert channel office (e-mail) added by"),
        "{log}"
    );
    assert_no_secret("backup.log", &log);
}

/// The target's failure count in `offsite-state.json`.
fn failures(dir: &Path) -> u64 {
    let text = std::fs::read_to_string(dir.join("offsite-state.json")).unwrap_or_default();
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["targets"]["usb"]["failures"].as_u64())
        .unwrap_or(0)
}

#[test]
fn a_failing_target_is_told_once_and_its_recovery_too() {
    let hook = Receiver::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("backroom.toml"),
        "[alerts]\nafter_minutes = 0\n",
    )
    .unwrap();
    add_webhook(dir.path(), "phone", &hook.url("/hook"));
    let app = start_app(dir.path());
    app.wait_for_startup_backup();
    let parent = tempfile::tempdir().unwrap();
    let target = parent.path().join("usb");
    std::fs::create_dir(&target).unwrap();
    app.protect_off_site(&target);
    let boss = app.login_as(Role::SuperAdmin);
    // The drive is pulled (its folder is a file now).
    let away = parent.path().join("unplugged");
    std::fs::rename(&target, &away).unwrap();
    std::fs::write(&target, b"not a folder").unwrap();
    make_backup(&boss, "while away");
    let told = hook.told_once("target-failing", Duration::from_secs(60));
    assert_eq!(told["severity"], "warning");
    assert!(told["title"].as_str().unwrap().contains("usb"), "{told}");
    // It keeps failing and being retried: still told only once.
    let seen = failures(dir.path());
    wait_until("two more failed tries", Duration::from_secs(60), || {
        failures(dir.path()) >= seen + 2
    });
    assert_eq!(hook.count("target-failing"), 1, "{:?}", hook.events());
    // Back again: told that it works, with the copies that caught up.
    std::fs::remove_file(&target).unwrap();
    std::fs::rename(&away, &target).unwrap();
    let over = hook.told_once("target-failing-over", Duration::from_secs(60));
    assert_eq!(over["severity"], "resolved");
    let message = over["message"].as_str().unwrap();
    assert!(message.starts_with("usb works again: "), "{message}");
    assert!(message.contains("copies caught up"), "{message}");
    assert_eq!(hook.count("target-failing"), 1);
}

#[test]
fn a_heartbeat_after_a_good_backup_and_fail_after_a_bad_one() {
    let beat = Receiver::start();
    let hook = Receiver::start();
    let dir = tempfile::tempdir().unwrap();
    cli_ok(
        dir.path(),
        &[
            "alerts",
            "add",
            "watchdog",
            "--heartbeat",
            &beat.url("/ping/abc"),
        ],
    );
    add_webhook(dir.path(), "phone", &hook.url("/hook"));
    let app = start_app(dir.path());
    app.wait_for_startup_backup();
    let pings = |path: &str| {
        beat.requests()
            .iter()
            .filter(|r| r.method == "GET" && r.path == path)
            .count()
    };
    wait_until(
        "the heartbeat after the startup backup",
        Duration::from_secs(30),
        || pings("/ping/abc") >= 1,
    );
    assert_eq!(pings("/ping/abc/fail"), 0);
    let boss = app.login_as(Role::SuperAdmin);
    // The backup folder is replaced by a file: the next backup fails.
    let moved = app.data_dir().join("moved_backups");
    std::fs::rename(app.backups_dir(), &moved).unwrap();
    std::fs::write(app.backups_dir(), b"not a folder").unwrap();
    let res = boss.api_post("/api/backups", serde_json::json!({}));
    assert!(res.status >= 500, "{}", res.body);
    wait_until("the /fail heartbeat", Duration::from_secs(30), || {
        pings("/ping/abc/fail") == 1
    });
    wait_until("the failed backup told", Duration::from_secs(30), || {
        hook.count("backup-failed") == 1
    });
    std::fs::remove_file(app.backups_dir()).unwrap();
    std::fs::rename(&moved, app.backups_dir()).unwrap();
    let good = pings("/ping/abc");
    let backup = make_backup(&boss, "works again");
    wait_until(
        "the heartbeat after the good backup",
        Duration::from_secs(30),
        || pings("/ping/abc") > good,
    );
    wait_until(
        "backups told to work again",
        Duration::from_secs(30),
        || hook.count("backup-failed-over") == 1,
    );
    assert_eq!(pings("/ping/abc/fail"), 1);
    // A heartbeat channel gets pings, never messages.
    assert!(beat.requests().iter().all(|r| r.method == "GET"));
    // A restore is told: who, and from which backup.
    let res = boss.api_post(
        &format!("/api/backups/{backup}/restore"),
        serde_json::json!({}),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    let told = hook.told_once("restore-done", Duration::from_secs(30));
    assert!(
        told["title"].as_str().unwrap().contains("super-admin-user"),
        "{told}"
    );
    assert!(
        told["message"].as_str().unwrap().contains(&backup),
        "{told}"
    );
}

#[test]
fn with_the_mail_server_down_backroom_keeps_working_retries_and_the_page_says_so() {
    let port = free_port();
    let dead_hook = free_port();
    let dir = tempfile::tempdir().unwrap();
    cli_ok(
        dir.path(),
        &add_owner_email(&format!("127.0.0.1:{port}"), &[]),
    );
    add_webhook(
        dir.path(),
        "hook",
        &format!("http://127.0.0.1:{dead_hook}/{TOKEN}"),
    );
    let app = start_app(dir.path());
    app.wait_for_startup_backup();
    let boss = app.login_as(Role::SuperAdmin);
    assert_eq!(boss.post_form("/alerts/test", &[]).status, 303);
    wait_until(
        "the page to say alerts cannot be sent",
        Duration::from_secs(30),
        || {
            let page = boss.get("/alerts").body;
            page.contains("Alerts cannot be sent right now") && page.contains("owner (")
        },
    );
    // Backroom itself keeps working meanwhile.
    make_backup(&boss, "while mail is down");
    assert_eq!(boss.get("/products").status, 200);
    let page = boss.get("/alerts").body;
    assert_no_secret("the alerts page", &page);
    // The mail server comes up: the waiting message is retried and arrives.
    let smtp = Smtp::start(port, None);
    wait_until("the retried test e-mail", Duration::from_secs(60), || {
        !smtp.messages().is_empty()
    });
    assert!(smtp.messages()[0].contains("Backroom test message"));
    wait_until(
        "the page to name only the dead webhook",
        Duration::from_secs(30),
        || {
            let page = boss.get("/alerts").body;
            !page.contains("owner (") && page.contains("hook (")
        },
    );
    let log = std::fs::read_to_string(app.backups_dir().join("backup.log")).unwrap();
    assert!(
        log.contains("Alerts cannot be sent to channel owner"),
        "{log}"
    );
    assert!(log.contains("Alerts reach channel owner again"), "{log}");
    assert!(
        log.contains("Alerts cannot be sent to channel hook"),
        "{log}"
    );
    assert_no_secret("backup.log", &log);
    let state = std::fs::read_to_string(dir.path().join("alerts-state.json")).unwrap();
    assert_no_secret("alerts-state.json", &state);
}
