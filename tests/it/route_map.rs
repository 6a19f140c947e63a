//! What the route map's scopes answer (`src/web/routes.rs`): a route is public by its place
//! in the map, and what no route matches is answered by the scope around it, so anonymous
//! visitors are sent to the login page (401 under `/api/`) before any CSRF check, and a
//! signed-in person gets a 404.

use backroom::auth::Role;

use crate::support::*;

#[test]
fn anonymous_visitors_meet_the_login_gate_before_the_csrf_check() {
    let app = spawn_app();
    app.add_user("anna", Role::Staff);
    let client = app.client();
    let page = client.get("/no-such-page");
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), "/login?next=%2Fno-such-page");
    let api = client.get("/api/no-such-thing");
    assert_eq!(api.status, 401);
    assert_eq!(api.json()["error"], "Please log in.");
    // No token at all: still the login gate's answer, not the CSRF check's 403.
    let post = client.post_form_raw("/backup/create", &[]);
    assert_eq!(post.status, 303);
    assert_eq!(post.location(), "/login?next=%2F");
    assert_eq!(client.raw("DELETE", "/api/backups/any.db"), 401);
    // Public routes answer for themselves.
    assert_eq!(client.get("/login").status, 200);
    assert_eq!(client.get("/first-run/upload").status, 404);
    assert_eq!(client.get("/static/no-such-file.css").status, 404);
    assert_eq!(client.get("/favicon.ico").status, 404);
    // Their changes still need the token.
    assert_eq!(client.post_form_raw("/static/app.css", &[]).status, 403);
    assert_eq!(client.post_form_raw("/first-run/upload", &[]).status, 403);
}

#[test]
fn signed_in_people_get_404s_and_the_csrf_check_where_no_route_matches() {
    let app = spawn_app();
    let boss = app.login_as(Role::SuperAdmin);
    let page = boss.get("/no-such-page");
    assert_eq!(page.status, 404);
    assert!(page.body.contains("Page not found."), "{}", page.body);
    let api = boss.get("/api/no-such-thing");
    assert_eq!(api.status, 404);
    assert_eq!(api.json()["error"], "Page not found.");
    assert_eq!(
        boss.post_form_raw("/no-such-page", &[]).status,
        403,
        "a change without the token is refused even where nothing would change"
    );
    assert_eq!(boss.raw("HEAD", "/backup/status"), 200);
    assert_eq!(
        boss.raw("POST", "/backup/offsite/nowhere/no-such-button"),
        404
    );
}

#[test]
fn each_target_button_has_its_own_route() {
    let app = spawn_app();
    let boss = app.login_as(Role::SuperAdmin);
    let dir = tempfile::tempdir().unwrap();
    app.protect_off_site(dir.path());
    let name = "usb";
    let off = boss.post_form(&format!("/backup/offsite/{name}/enabled"), &[]);
    assert_eq!(off.status, 400, "{}", off.body);
    assert!(off.body.contains("enabled=1"), "{}", off.body);
    for (button, field) in [
        ("enabled", Some("0")),
        ("enabled", Some("1")),
        ("push", None),
    ] {
        let fields: Vec<(&str, &str)> = field.map(|v| ("enabled", v)).into_iter().collect();
        let res = boss.post_form(&format!("/backup/offsite/{name}/{button}"), &fields);
        assert_eq!(res.status, 303, "{button}: {}", res.body);
        assert_eq!(res.location(), "/backup/status#offsite", "{button}");
    }
    let staff = app.login_as(Role::Staff);
    assert_eq!(
        staff
            .post_form(&format!("/backup/offsite/{name}/remove"), &[])
            .status,
        403
    );
    let removed = boss.post_form(&format!("/backup/offsite/{name}/remove"), &[]);
    assert_eq!(removed.status, 303);
    let after = boss.get("/api/offsite").json();
    assert_eq!(
        after["offsite"]["targets"].as_array().map(Vec::len),
        Some(0)
    );
}
