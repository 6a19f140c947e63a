//! Passwords: the minimum for new ones (length and the most common passwords), accounts with
//! older, shorter passwords still working, and a password chosen by a super-admin that the
//! person must replace at their first login before they can do anything else.

use backroom::auth::{Role, password, users};

use crate::support::*;

#[test]
fn new_passwords_need_ten_characters_and_not_a_common_one() {
    let app = spawn_app();
    let boss = app.login_as(Role::SuperAdmin);
    for (weak, why) in [
        ("nine-char", "at least 10 characters"),
        ("1234567890", "first that guessing tools try"),
        ("Password123", "first that guessing tools try"),
        ("zzzzzzzzzzzz", "first that guessing tools try"),
    ] {
        let res = boss.post_form(
            "/users",
            &[
                ("username", "newbie"),
                ("role", "staff"),
                ("password", weak),
                ("password2", weak),
            ],
        );
        assert_eq!(res.status, 400, "{weak}");
        assert!(res.body.contains(why), "{weak}: {why}");
        // Why the password fields came back empty.
        assert!(
            res.body
                .contains("a password is never sent back to the browser")
        );
        assert!(!res.body.contains(weak), "{weak} is not echoed");
        assert!(res.body.contains("value=\"newbie\""), "the name is kept");
    }
    assert_eq!(
        app.query_i64("SELECT count(*) FROM users WHERE username = 'newbie'"),
        0
    );
    // The same rule for one's own new password and for a reset.
    let staff = app.login_as(Role::Staff);
    let res = staff.post_form(
        "/account",
        &[
            ("current", PASSWORD),
            ("new_password", "qwertyuiop"),
            ("confirm", "qwertyuiop"),
        ],
    );
    assert_eq!(res.status, 400);
    assert!(res.body.contains("first that guessing tools try"));
    assert!(
        res.body.contains("aria-invalid=\"true\""),
        "the field is marked"
    );
    let id = app.query_i64("SELECT id FROM users WHERE username = 'staff-user'");
    let res = boss.post_form(&format!("/users/{id}/password"), &[("password", "short")]);
    assert_eq!(res.status, 400);
    assert!(res.body.contains("at least 10 characters"));
    assert!(res.body.contains("The password field is empty again"));
}

#[test]
fn an_account_with_an_older_shorter_password_still_logs_in() {
    let app = spawn_app();
    let hash = password::hash_password("eight-ch").unwrap();
    let conn = rusqlite::Connection::open(app.db_path()).unwrap();
    users::create(&conn, "veteran", &hash, Role::Staff).unwrap();
    drop(conn);
    let client = app.client();
    assert_eq!(client.login("veteran", "eight-ch").status, 303);
    assert_eq!(client.get("/products").status, 200);
}

#[test]
fn a_password_set_by_a_super_admin_must_be_replaced_at_the_first_login() {
    let app = spawn_app();
    let boss = app.login_as(Role::SuperAdmin);
    let form = boss.get("/users/new");
    assert!(
        form.body
            .contains("name=\"must_change\" value=\"1\" checked"),
        "asked by default"
    );
    let res = boss.post_form(
        "/users",
        &[
            ("username", "nina"),
            ("role", "staff"),
            ("password", "temporary-pass-1"),
            ("password2", "temporary-pass-1"),
            ("must_change", "1"),
        ],
    );
    assert_eq!(res.status, 303, "{}", res.body);
    assert!(
        boss.get("/users")
            .body
            .contains("must choose a new password")
    );

    let nina = app.client();
    assert_eq!(nina.login("nina", "temporary-pass-1").status, 303);
    // Everything but the account page sends her there first.
    for path in ["/", "/products", "/sales/new", "/backup/status"] {
        let res = nina.get(path);
        assert_eq!(res.status, 303, "{path}");
        assert_eq!(res.location(), "/account", "{path}");
    }
    let api = nina.get("/api/backups/status");
    assert_eq!(api.status, 403);
    assert!(
        api.json()["error"]
            .as_str()
            .unwrap()
            .contains("new password")
    );
    let page = nina.get("/account");
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("Please choose your own password before you go on")
    );
    assert!(
        !page.body.contains("href=\"/products\""),
        "no menu to pages she cannot open"
    );
    let res = nina.post_form(
        "/account",
        &[
            ("current", "temporary-pass-1"),
            ("new_password", "ninas-own-secret"),
            ("confirm", "ninas-own-secret"),
        ],
    );
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(nina.get("/products").status, 200);
    assert_eq!(
        app.query_i64("SELECT must_change_password FROM users WHERE username = 'nina'"),
        0
    );

    // A reset can ask again; her sessions end and the next login goes to the account page.
    let id = app.query_i64("SELECT id FROM users WHERE username = 'nina'");
    let res = boss.post_form(
        &format!("/users/{id}/password"),
        &[("password", "another-temp-2"), ("must_change", "1")],
    );
    assert_eq!(res.status, 303);
    let again = app.client();
    assert_eq!(again.login("nina", "another-temp-2").status, 303);
    assert_eq!(again.get("/sales").location(), "/account");
    // Logging out still works.
    assert_eq!(
        again.post_form("/logout", &[]).location(),
        "/login?logged_out=1"
    );
    let login = app.client().get("/login?logged_out=1");
    assert!(login.body.contains("You are logged out."));
}

#[test]
fn a_hash_with_a_huge_cost_from_a_backup_is_never_worked_on_and_the_owner_is_told() {
    let app = spawn_app();
    // Verifying this would take minutes: t=30000 passes instead of our 2.
    let hash = password::hash_password(PASSWORD)
        .unwrap()
        .replacen("t=2", "t=30000", 1);
    let conn = rusqlite::Connection::open(app.db_path()).unwrap();
    users::create(&conn, "imported", &hash, Role::Staff).unwrap();
    drop(conn);

    let started = std::time::Instant::now();
    let res = app.client().login("imported", PASSWORD);
    let took = started.elapsed();
    assert_eq!(res.status, 401);
    assert!(res.body.contains("Wrong user name or password."));
    assert!(
        !res.body.contains("backup"),
        "the visitor learns nothing more"
    );
    assert!(took.as_secs_f64() < 2.0, "the hash was worked on: {took:?}");

    let boss = app.login_as(Role::SuperAdmin);
    let page = boss.get("/users");
    assert!(
        page.body.contains(
            "the password of imported came from a backup with unusual settings; \
             set a new one with `backroom user passwd imported`"
        ),
        "{}",
        page.body
    );
    // A new password ends it.
    let id = app.query_i64("SELECT id FROM users WHERE username = 'imported'");
    let res = boss.post_form(
        &format!("/users/{id}/password"),
        &[("password", "a-fresh-password-1")],
    );
    assert_eq!(res.status, 303);
    assert!(!boss.get("/users").body.contains("unusual settings"));
    assert_eq!(
        app.client().login("imported", "a-fresh-password-1").status,
        303
    );
}

/// The `role="alert"` message of a login page.
fn login_error(body: &str) -> String {
    let start = body.find("role=\"alert\">").expect("an error message") + 13;
    let end = start + body[start..].find("</p>").expect("the message ends");
    body[start..end].to_string()
}

#[test]
fn a_disabled_account_answers_a_right_password_like_a_wrong_one() {
    let app = spawn_app();
    app.add_user("cy", Role::Staff);
    app.execute("UPDATE users SET active = 0 WHERE username = 'cy'");
    let cy = app.client();
    let right = cy.login("cy", PASSWORD);
    let wrong = app.client().login("cy", "not-the-password-1");
    assert_eq!(right.status, wrong.status);
    assert_eq!(right.status, 401);
    assert_eq!(login_error(&right.body), login_error(&wrong.body));
    assert!(!right.body.contains("disabled"), "{}", right.body);
    assert_eq!(cy.get("/products").status, 303, "not logged in");
}
