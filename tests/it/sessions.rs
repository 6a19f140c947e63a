//! Sessions that must really end (logout, idle, password change, demotion) and login delays
//! that cannot lock the owner out: the holes an outside probe found, each tried the way it
//! was found.

use backroom::auth::Role;
use backroom::clock::ManualClock;

use crate::support::*;

/// A second client that sends exactly the given cookie header (a copy of a browser's cookie).
fn with_cookie(cookie: &str) -> reqwest::blocking::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("cookie", cookie.parse().unwrap());
    http_builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn cookie_of(client: &Client) -> String {
    use reqwest::cookie::CookieStore;
    let url: reqwest::Url = client.base.parse().unwrap();
    client
        .jar()
        .cookies(&url)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap()
}

#[test]
fn a_cookie_copied_before_logout_no_longer_works() {
    let app = spawn_app();
    let boss = app.login_as(Role::SuperAdmin);
    let token = boss.csrf();
    let copied = cookie_of(&boss);
    let thief = with_cookie(&copied);
    assert_eq!(
        thief
            .get(format!("{}/products", app.url))
            .send()
            .unwrap()
            .status(),
        200,
        "the copy works while the session lives"
    );
    assert_eq!(boss.post_form("/logout", &[]).status, 303);
    let page = thief.get(format!("{}/products", app.url)).send().unwrap();
    assert_eq!(page.status(), 303, "pages refuse the old cookie");
    let write = thief
        .post(format!("{}/customers", app.url))
        .form(&[("name", "Written after logout"), ("csrf_token", &token)])
        .send()
        .unwrap();
    let to = write.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/login"), "writes refuse it too: {to}");
    assert_eq!(
        app.query_i64("SELECT count(*) FROM customers WHERE name = 'Written after logout'"),
        0
    );
    let login = boss.get("/login?logged_out=1");
    assert!(login.body.contains("You are logged out"), "{}", login.body);
}

#[test]
fn an_idle_session_ends_on_the_server_after_eight_hours() {
    let clock = ManualClock::new();
    let app = spawn_app_with_clock(&clock, LONG_INTERVAL);
    let staff = app.login_as(Role::Staff);
    let copied = cookie_of(&staff);
    clock.advance(chrono::Duration::hours(7));
    assert_eq!(staff.get("/products").status, 200, "7 idle hours are fine");
    clock.advance(chrono::Duration::hours(8) + chrono::Duration::minutes(1));
    let ended = staff.get("/products");
    assert_eq!(ended.status, 303);
    assert!(ended.location().contains("ended=1"), "{}", ended.location());
    // The session is gone from the server, not just from this browser.
    let thief = with_cookie(&copied);
    clock.advance(chrono::Duration::minutes(1));
    let again = thief.get(format!("{}/products", app.url)).send().unwrap();
    assert_eq!(again.status(), 303);
}

#[test]
fn demotion_and_disable_end_sessions_at_once() {
    let app = spawn_app();
    let boss = app.login_as(Role::SuperAdmin);
    app.add_user("erik", Role::Admin);
    let erik = app.client();
    assert_eq!(erik.login("erik", PASSWORD).status, 303);
    let id = app.query_i64("SELECT id FROM users WHERE username = 'erik'");
    let res = boss.post_form(
        &format!("/users/{id}"),
        &[("role", "staff"), ("active", "1")],
    );
    assert_eq!(res.status, 303);
    let ended = erik.get("/products");
    assert_eq!(ended.status, 303, "a demotion ends the session");
    assert!(ended.location().contains("ended=1"));
    let sessions = rusqlite::Connection::open(app.data_dir().join("sessions.db")).unwrap();
    let live: i64 = sessions
        .query_row(
            "SELECT count(*) FROM sessions WHERE user_id = ?1 AND ended = 0",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(live, 0, "nothing of erik's is left to come back");
}

#[test]
fn the_account_page_has_its_own_counter_and_the_cli_unlocks() {
    let app = spawn_app();
    app.add_user("owner", Role::SuperAdmin);
    let owner = app.client();
    assert_eq!(owner.login("owner", PASSWORD).status, 303);
    for _ in 0..6 {
        let res = owner.post_form(
            "/account",
            &[
                ("current", "wrong-current-pw"),
                ("new_password", "another-password"),
                ("confirm", "another-password"),
            ],
        );
        assert_eq!(res.status, 400);
    }
    let slowed = owner.post_form(
        "/account",
        &[
            ("current", PASSWORD),
            ("new_password", "another-password"),
            ("confirm", "another-password"),
        ],
    );
    assert!(
        slowed.body.contains("Too many failed attempts"),
        "{}",
        slowed.body
    );
    // Logging in is a separate counter: still fine.
    assert_eq!(app.client().login("owner", PASSWORD).status, 303);

    // Five wrong logins at this computer, then `backroom user unlock` clears the wait.
    let guesser = app.client();
    for _ in 0..5 {
        assert_eq!(guesser.login("owner", "bad-guess-123").status, 401);
    }
    assert_eq!(guesser.login("owner", PASSWORD).status, 429);
    let out = run_cli(app.data_dir(), &["user", "unlock", "owner"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("cleared"));
    assert_eq!(guesser.login("owner", PASSWORD).status, 303);
}

#[test]
fn cli_passwd_ends_sessions_and_clears_delays() {
    let app = spawn_app();
    app.add_user("gina", Role::Staff);
    let tablet = app.client();
    assert_eq!(tablet.login("gina", PASSWORD).status, 303);
    let guesser = app.client();
    for _ in 0..5 {
        guesser.login("gina", "guess-guess-1");
    }
    let out = run_cli(
        app.data_dir(),
        &["user", "passwd", "gina"],
        Some("fresh-password-9\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ended = tablet.get("/products");
    assert_eq!(ended.status, 303);
    assert!(ended.location().contains("ended=1"));
    assert_eq!(guesser.login("gina", "fresh-password-9").status, 303);
}

#[test]
fn many_posts_without_following_redirects_never_fail_after_saving() {
    let app = spawn_app();
    let staff = app.login_as(Role::Staff);
    let token = staff.csrf();
    for i in 0..60 {
        let name = format!("Customer number {i} with a fairly long name to fill the cookie");
        let res = staff.post_form_raw("/customers", &[("name", &name), ("csrf_token", &token)]);
        assert_eq!(res.status, 303, "POST {i} answered {}", res.status);
    }
    assert_eq!(app.query_i64("SELECT count(*) FROM customers"), 60);
    // The cookie stays small (the state is on the server) and only a few messages wait.
    assert!(cookie_of(&staff).len() < 400, "{}", cookie_of(&staff));
    let page = staff.get("/customers").body;
    assert_eq!(
        page.matches("class=\"flash flash-ok\"").count(),
        3,
        "{page}"
    );
}

#[test]
fn an_error_from_the_session_layer_is_a_rendered_page_with_security_headers() {
    let app = spawn_app();
    let staff = app.login_as(Role::Staff);
    // Make the session store refuse deletes (as a broken disk would): logout cannot end
    // the session, and must say so properly.
    let sessions = rusqlite::Connection::open(app.data_dir().join("sessions.db")).unwrap();
    sessions
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE DELETE ON sessions BEGIN SELECT RAISE(ABORT, 'refused'); END;",
        )
        .unwrap();
    let res = staff.post_form("/logout", &[]);
    assert_eq!(res.status, 500);
    for header in [
        "content-security-policy",
        "x-frame-options",
        "x-content-type-options",
    ] {
        assert!(!res.header(header).is_empty(), "{header} missing on a 500");
    }
    assert!(
        res.body.contains("Something went wrong on our side"),
        "{}",
        res.body
    );
    sessions.execute_batch("DROP TRIGGER refuse;").unwrap();
    assert_eq!(staff.post_form("/logout", &[]).status, 303);
}

#[test]
fn a_restore_never_brings_back_ended_sessions_or_old_passwords() {
    let (app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    app.add_user("dana", Role::Admin);
    let tablet = app.client();
    assert_eq!(tablet.login("dana", PASSWORD).status, 303);
    let backup = make_backup(&boss, "before the password change");

    // Dana changes her password (the tablet's session ends) and is demoted to staff.
    let laptop = app.client();
    assert_eq!(laptop.login("dana", PASSWORD).status, 303);
    let res = laptop.post_form(
        "/account",
        &[
            ("current", PASSWORD),
            ("new_password", "dana-new-password"),
            ("confirm", "dana-new-password"),
        ],
    );
    assert_eq!(res.status, 303);
    let id = app.query_i64("SELECT id FROM users WHERE username = 'dana'");
    assert_eq!(
        boss.post_form(
            &format!("/users/{id}"),
            &[("role", "staff"), ("active", "1")]
        )
        .status,
        303
    );
    assert_eq!(tablet.get("/products").status, 303);

    // The confirmation page says which accounts differ.
    let confirm = boss.get(&format!("/backup/{backup}/restore"));
    assert!(
        confirm.body.contains("account-differences"),
        "{}",
        confirm.body
    );
    assert!(
        confirm.body.contains("password changed since"),
        "{}",
        confirm.body
    );
    assert!(confirm.body.contains("role now staff, in the backup admin"));
    assert!(
        confirm
            .body
            .contains("Restore accounts exactly as in the backup")
    );

    // Restoring the older data keeps today's accounts: the old password stays dead, the old
    // cookie stays ended, the demotion stays.
    let res = boss.api_post(
        &format!("/api/backups/{backup}/restore"),
        serde_json::json!({}),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json()["accounts_kept"][0], "dana");
    assert_eq!(
        tablet.get("/products").status,
        303,
        "the ended session stays ended"
    );
    assert_eq!(
        app.client().login("dana", PASSWORD).status,
        401,
        "old password"
    );
    assert_eq!(
        app.query_i64("SELECT count(*) FROM users WHERE username = 'dana' AND role = 'staff'"),
        1
    );
    let fresh = app.client();
    assert_eq!(fresh.login("dana", "dana-new-password").status, 303);

    // Asked for explicitly, the accounts come back exactly as in the backup, and the sessions
    // of everyone whose sign-in changed end.
    let res = boss.api_post(
        &format!("/api/backups/{backup}/restore"),
        serde_json::json!({ "accounts": "as_in_backup" }),
    );
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        fresh.get("/products").status,
        303,
        "dana's sign-in changed: ended"
    );
    assert_eq!(app.client().login("dana", PASSWORD).status, 303, "as asked");
    assert_eq!(
        tablet.get("/products").status,
        303,
        "the old cookie is still ended"
    );
}
