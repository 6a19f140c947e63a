//! The portable server: login, roles, CSRF, first run, headers, static files, paths, locks.

use std::time::Duration;

use backroom::auth::Role;

use crate::support::*;

#[test]
fn login_success_failure_and_lockout() {
    let app = spawn_app();
    app.add_user("anna", Role::Staff);
    let client = app.client();

    let wrong = client.login("anna", "wrong-password");
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("Wrong user name or password."));
    assert_eq!(client.get("/products").status, 303, "still anonymous");

    let unknown = client.login("nobody", "whatever-password");
    assert_eq!(unknown.status, 401);
    assert!(
        unknown.body.contains("Wrong user name or password."),
        "same message for unknown names"
    );

    let ok = client.login("anna", PASSWORD);
    assert_eq!(ok.status, 303);
    assert_eq!(ok.location(), "/");
    assert!(ok.header("set-cookie").contains("HttpOnly"));
    assert!(ok.header("set-cookie").contains("SameSite=Strict"));
    let page = client.get("/products");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("anna"));

    // Five failures for a name from this address make it wait, even with the right password.
    app.add_user("bert", Role::Staff);
    let attacker = app.client();
    for _ in 0..5 {
        assert_eq!(attacker.login("bert", "guess-guess").status, 401);
    }
    let locked = attacker.login("bert", PASSWORD);
    assert_eq!(locked.status, 429);
    assert!(
        locked.body.contains("Too many failed attempts"),
        "{}",
        locked.body
    );
    // At the shop's own computer (loopback) other people can still log in.
    assert_eq!(app.client().login("anna", PASSWORD).status, 303);
}

/// Logs in through the in-process app from a made-up address; returns the status.
async fn login_from(
    app: &impl actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
    >,
    address: &str,
    name: &str,
    password: &str,
) -> u16 {
    use actix_web::test::{TestRequest, call_service, read_body};
    let remote: std::net::SocketAddr = address.parse().unwrap();
    let page = call_service(
        app,
        TestRequest::get()
            .uri("/login")
            .peer_addr(remote)
            .to_request(),
    )
    .await;
    let cookie = page.response().cookies().next().unwrap().into_owned();
    let token = extract_csrf(std::str::from_utf8(&read_body(page).await).unwrap()).unwrap();
    let form = [
        ("username", name),
        ("password", password),
        ("csrf_token", token.as_str()),
    ];
    let req = TestRequest::post()
        .uri("/login")
        .peer_addr(remote)
        .cookie(cookie)
        .set_form(form)
        .to_request();
    call_service(app, req).await.status().as_u16()
}

#[actix_web::test]
async fn guessing_from_elsewhere_never_locks_the_owner_out() {
    use actix_web::test::init_service;
    let dir = tempfile::tempdir().unwrap();
    let backroom = backroom::server::Backroom::open(&options(dir.path(), None)).unwrap();
    add_user_to(
        &dir.path().join("business_data.db"),
        "owner",
        Role::SuperAdmin,
    );
    let app = init_service(backroom.app()).await;
    let attacker = "192.0.2.9:5555";
    for _ in 0..5 {
        assert_eq!(
            login_from(&app, attacker, "owner", "guess-guess").await,
            401
        );
    }
    // The attacker's address waits, even with the right password ...
    assert_eq!(login_from(&app, attacker, "owner", PASSWORD).await, 429);
    // ... but the owner, from an address with no failures, always gets in.
    assert_eq!(
        login_from(&app, "198.51.100.7:4444", "owner", PASSWORD).await,
        303
    );
    assert_eq!(
        login_from(&app, "127.0.0.1:4444", "owner", PASSWORD).await,
        303
    );

    // Spraying many names from one address slows that address for every name.
    let sprayer = "203.0.113.5:6666";
    for i in 0..backroom::auth::throttle::FREE_ADDRESS_FAILURES {
        assert_eq!(login_from(&app, sprayer, &format!("n{i}"), "x").await, 401);
    }
    assert_eq!(login_from(&app, sprayer, "owner", PASSWORD).await, 429);
    drop(app);
    backroom.shutdown();
}

#[test]
fn disabled_users_cannot_log_in() {
    let app = spawn_app();
    app.add_user("gone", Role::Admin);
    app.execute("UPDATE users SET active = 0 WHERE username = 'gone'");
    let res = app.client().login("gone", PASSWORD);
    assert_eq!(res.status, 401);
    // The same answer as a wrong password: the form never confirms a guessed password.
    assert!(res.body.contains("Wrong user name or password."));
    assert!(!res.body.contains("disabled"));
}

#[test]
fn anonymous_requests_are_sent_to_login() {
    let app = spawn_app();
    app.add_user("anna", Role::Staff);
    let client = app.client();
    let res = client.get("/products?q=tea");
    assert_eq!(res.status, 303);
    assert_eq!(res.location(), "/login?next=%2Fproducts%3Fq%3Dtea");
    assert_eq!(client.get("/").location(), "/login");
    let api = client.get("/api/backups/status");
    assert_eq!(api.status, 401);
    assert_eq!(api.json()["error"], "Please log in.");
    // After login, `next` brings the person back, but only to a local path.
    let token = client.csrf();
    let res = client.post_form_raw(
        "/login",
        &[
            ("username", "anna"),
            ("password", PASSWORD),
            ("next", "/products?q=tea"),
            ("csrf_token", &token),
        ],
    );
    assert_eq!(res.location(), "/products?q=tea");
}

#[test]
fn next_parameter_never_redirects_off_site() {
    let app = spawn_app();
    app.add_user("anna", Role::Staff);
    for next in [
        "//evil.example/x",
        "https://evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
    ] {
        let client = app.client();
        let token = client.csrf();
        let res = client.post_form_raw(
            "/login",
            &[
                ("username", "anna"),
                ("password", PASSWORD),
                ("next", next),
                ("csrf_token", &token),
            ],
        );
        assert_eq!(res.status, 303);
        assert_eq!(res.location(), "/", "next={next}");
    }
}

/// (method, path, lowest role allowed)
const ROUTES: &[(&str, &str, Role)] = &[
    ("GET", "/", Role::Staff),
    ("GET", "/account", Role::Staff),
    ("GET", "/products", Role::Staff),
    ("GET", "/products/new", Role::Staff),
    ("GET", "/customers", Role::Staff),
    ("GET", "/customers/new", Role::Staff),
    ("GET", "/sales", Role::Staff),
    ("GET", "/sales/new", Role::Staff),
    ("GET", "/backup/status", Role::Staff),
    ("GET", "/backup/startup_backup.db", Role::Staff),
    ("GET", "/api/backups", Role::Staff),
    ("GET", "/api/backups/status", Role::Staff),
    ("GET", "/api/backups/startup_backup.db", Role::Staff),
    ("GET", "/products/export.csv", Role::Admin),
    ("GET", "/customers/export.csv", Role::Admin),
    ("GET", "/sales/export.csv", Role::Admin),
    ("GET", "/backup/startup_backup.db/download", Role::Admin),
    ("GET", "/users", Role::SuperAdmin),
    ("GET", "/users/new", Role::SuperAdmin),
    ("GET", "/backup/startup_backup.db/restore", Role::SuperAdmin),
    ("GET", "/backup/emergency-restore", Role::SuperAdmin),
];

#[test]
fn each_role_reaches_only_what_it_may() {
    let app = spawn_app().ready();
    for role in Role::ALL {
        let client = app.login_as(role);
        for (method, path, needed) in ROUTES {
            assert_eq!(*method, "GET");
            let res = client.get(path);
            let expected = if role >= *needed { 200 } else { 403 };
            assert_eq!(
                res.status,
                expected,
                "{} {path} as {role}: {}",
                method,
                &res.body[..res.body.len().min(300)]
            );
        }
        // The sidebar shows Users only to super-admins.
        let home = client.get("/");
        assert_eq!(
            home.body.contains("href=\"/users\""),
            role == Role::SuperAdmin,
            "{role}"
        );
    }
    // State-changing requests are refused the same way (and change nothing).
    let staff = app.login_as(Role::Staff);
    let admin = app.login_as(Role::Admin);
    let settings = [("interval_hours", "1"), ("max_backups", "3")];
    assert_eq!(staff.post_form("/backup/settings", &settings).status, 403);
    assert_eq!(admin.post_form("/backup/settings", &settings).status, 403);
    assert!(!app.data_dir().join("backroom.toml").exists());
    assert_eq!(
        staff
            .post_form("/users", &[("username", "x"), ("role", "staff")])
            .status,
        403
    );
    assert_eq!(
        staff.api_delete("/api/backups/startup_backup.db").status,
        403
    );
    assert_eq!(staff.post_form("/sales/1/void", &[]).status, 403);
    assert_eq!(
        staff
            .post_form(
                "/products/1/adjust",
                &[("delta", "5"), ("reason", "correction")]
            )
            .status,
        403
    );
}

#[test]
fn posts_without_a_valid_csrf_token_are_refused_and_change_nothing() {
    let (app, client) = spawn_app().ready_as(Role::SuperAdmin);
    let before = app.backup_files();

    let missing = client.post_form_raw("/backup/create", &[("description", "no token")]);
    assert_eq!(missing.status, 403);
    assert!(missing.body.contains("security check failed"));
    let wrong = client.post_form_raw(
        "/backup/create",
        &[("description", "bad"), ("csrf_token", "0000")],
    );
    assert_eq!(wrong.status, 403);
    // A token from another session does not work either.
    let other = app.login_as(Role::Staff);
    let foreign = other.csrf();
    let res = client.post_form_raw(
        "/backup/create",
        &[("description", "foreign"), ("csrf_token", &foreign)],
    );
    assert_eq!(res.status, 403);
    // JSON calls need the header.
    let api = client
        .http
        .post(format!("{}/api/backups", client.base))
        .json(&serde_json::json!({"description": "x"}))
        .send()
        .unwrap();
    assert_eq!(api.status().as_u16(), 403);
    let body: serde_json::Value = api.json().unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("security check failed")
    );
    assert_eq!(app.backup_files(), before, "no backup was made");

    // With the token it works.
    let ok = client.post_form("/backup/create", &[("description", "with token")]);
    assert_eq!(ok.status, 303);
    assert_eq!(app.backup_files().len(), before.len() + 1);
}

#[test]
fn first_run_page_only_while_nobody_has_an_account() {
    let app = spawn_app();
    let client = app.client();
    let page = client.get("/");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Welcome to Backroom"));
    assert!(
        page.body.contains(&app.data_dir().display().to_string()),
        "shows where data lives"
    );

    let bad = client
        .post_form(
            "/first-run",
            &[
                ("username", "boss"),
                ("password", "short"),
                ("password2", "short"),
            ],
        )
        .expect_status(400);
    assert!(bad.body.contains("at least 10 characters"));
    assert!(bad.body.contains("value=\"boss\""), "input kept");
    assert_eq!(app.query_i64("SELECT count(*) FROM users"), 0);

    let ok = client.post_form(
        "/first-run",
        &[
            ("username", "boss"),
            ("password", PASSWORD),
            ("password2", PASSWORD),
        ],
    );
    assert_eq!(ok.status, 303);
    assert_eq!(
        app.query_i64("SELECT count(*) FROM users WHERE role = 'super-admin'"),
        1
    );
    // Logged in straight away.
    assert_eq!(client.get("/users").status, 200);

    // Gone for good.
    let stranger = app.client();
    assert_eq!(stranger.get("/").location(), "/login");
    let again = stranger.post_form(
        "/first-run",
        &[
            ("username", "mallory"),
            ("password", PASSWORD),
            ("password2", PASSWORD),
        ],
    );
    assert_eq!(again.status, 303);
    assert_eq!(again.location(), "/login");
    assert_eq!(app.query_i64("SELECT count(*) FROM users"), 1);
}

#[actix_web::test]
async fn first_run_is_refused_to_clients_on_other_machines() {
    use actix_web::test::{TestRequest, call_service, init_service, read_body};
    let dir = tempfile::tempdir().unwrap();
    let backroom = backroom::server::Backroom::open(&options(dir.path(), None)).unwrap();
    let app = init_service(backroom.app()).await;
    let remote: std::net::SocketAddr = "192.0.2.7:40000".parse().unwrap();
    let local: std::net::SocketAddr = "127.0.0.1:40000".parse().unwrap();

    let res = call_service(
        &app,
        TestRequest::get().uri("/").peer_addr(remote).to_request(),
    )
    .await;
    assert_eq!(res.status(), 403);
    let body = String::from_utf8(read_body(res).await.to_vec()).unwrap();
    assert!(body.contains("computer it runs on"), "{body}");

    let res = call_service(
        &app,
        TestRequest::get().uri("/").peer_addr(local).to_request(),
    )
    .await;
    assert_eq!(res.status(), 200);
    let cookie = res.response().cookies().next().unwrap().into_owned();
    let body = String::from_utf8(read_body(res).await.to_vec()).unwrap();
    let token = extract_csrf(&body).unwrap();
    let form = [
        ("username", "boss"),
        ("password", PASSWORD),
        ("password2", PASSWORD),
        ("csrf_token", token.as_str()),
    ];
    let res = call_service(
        &app,
        TestRequest::post()
            .uri("/first-run")
            .peer_addr(remote)
            .cookie(cookie.clone())
            .set_form(form)
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), 403);
    // Nor can data be brought back from there (issue 14): the address rule, not the CSRF
    // guard, refuses each route (the token is right).
    let requests = [
        (
            "/first-run/connect",
            "application/x-www-form-urlencoded",
            "kind=folder&name=x&path=/tmp",
        ),
        (
            "/first-run/restore",
            "application/x-www-form-urlencoded",
            "token=a&copy=b",
        ),
        (
            "/first-run/upload",
            "multipart/form-data; boundary=xyz",
            "--xyz--\r\n",
        ),
    ];
    for (path, content_type, body) in requests {
        let res = call_service(
            &app,
            TestRequest::post()
                .uri(path)
                .peer_addr(remote)
                .cookie(cookie.clone())
                .insert_header(("X-CSRF-Token", token.as_str()))
                .insert_header(("Content-Type", content_type))
                .set_payload(body)
                .to_request(),
        )
        .await;
        assert_eq!(res.status(), 403, "{path}");
        let body = String::from_utf8(read_body(res).await.to_vec()).unwrap();
        assert!(body.contains("computer Backroom runs on"), "{path}: {body}");
    }
    drop(app);
    let state = backroom.state();
    let users = state
        .db
        .with_conn(|c| backroom::auth::users::count(c))
        .unwrap();
    assert_eq!(users, 0);
    backroom.shutdown();
}

#[test]
fn security_headers_on_every_kind_of_response() {
    let app = spawn_app();
    let client = app.login_as(Role::Staff);
    for path in [
        "/",
        "/backup/status",
        "/api/backups/status",
        "/static/app.css",
        "/no-such-page",
        "/api/nope",
        "/login",
    ] {
        let res = client.get(path);
        assert!(
            res.header("content-security-policy")
                .starts_with("default-src 'self'"),
            "{path}: {:?}",
            res.headers
        );
        assert!(
            !res.header("content-security-policy").contains("http"),
            "{path}"
        );
        assert_eq!(res.header("x-frame-options"), "DENY", "{path}");
        assert_eq!(res.header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(res.header("referrer-policy"), "same-origin", "{path}");
    }
    let not_found = client.get("/no-such-page");
    assert_eq!(not_found.status, 404);
    assert!(not_found.body.contains("Page not found"));
    let api_not_found = client.get("/api/nope");
    assert_eq!(api_not_found.status, 404);
    assert_eq!(api_not_found.json()["error"], "Page not found.");
}

#[test]
fn static_assets_have_types_cache_headers_and_no_external_urls() {
    let app = spawn_app();
    let client = app.client();
    let login = client.get("/login");
    let css_link = login
        .body
        .split("href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    assert!(css_link.starts_with("/static/app.css?v="), "{css_link}");
    let css = client.get(&css_link);
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").starts_with("text/css"));
    assert!(css.header("cache-control").contains("immutable"));
    let plain = client.get("/static/app.js");
    assert!(plain.header("content-type").contains("javascript"));
    assert_eq!(plain.header("cache-control"), "no-cache");
    let svg = client.get("/static/favicon.svg");
    assert_eq!(svg.header("content-type"), "image/svg+xml");
    assert_eq!(client.get("/static/..%2fCargo.toml").status, 404);
    // Offline: nothing links outside the app.
    for body in [login.body, css.body, plain.body] {
        assert!(
            !body.contains("http://") && !body.contains("https://") && !body.contains("//cdn"),
            "external URL found"
        );
    }
}

#[test]
fn logout_ends_the_session_and_tampered_cookies_are_anonymous() {
    let app = spawn_app();
    let client = app.login_as(Role::Admin);
    assert_eq!(client.get("/products").status, 200);
    assert_eq!(client.post_form("/logout", &[]).status, 303);
    assert_eq!(client.get("/products").status, 303);

    // A made-up or altered cookie is just ignored.
    let forged = http_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for cookie in [
        "backroom_session=garbage",
        "backroom_session=eyJ1aWQiOjF9",
        "backroom_session=",
    ] {
        let res = forged
            .get(format!("{}/products", app.url))
            .header("cookie", cookie)
            .send()
            .unwrap();
        assert_eq!(res.status().as_u16(), 303, "{cookie}");
    }
}

#[test]
fn data_lives_next_to_a_copied_binary_run_from_elsewhere() {
    let install = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let exe = install.path().join("backroom");
    std::fs::copy(binary(), &exe).unwrap();
    let mut server = ServerProcess::start(&exe, None, elsewhere.path(), &[]);
    let client = Client::new(&server.url);
    let page = client.get("/");
    assert_eq!(page.status, 200, "first-run page");
    assert!(
        page.body.contains(backroom::VERSION_LINE),
        "version in the footer"
    );
    // Static files come from inside the binary: there is no static/ folder here.
    let css = client.get("/static/app.css");
    assert_eq!(css.status, 200);
    assert!(css.body.contains("Backroom"));
    let startup = install.path().join("database_backups/startup_backup.db");
    wait_until("the startup backup", Duration::from_secs(20), || {
        startup.exists()
    });
    server.kill9();
    assert!(install.path().join("business_data.db").exists());
    assert!(
        install
            .path()
            .join("database_backups/RECOVERY.txt")
            .exists()
    );
    assert_eq!(
        std::fs::read_dir(elsewhere.path()).unwrap().count(),
        0,
        "nothing in the current directory"
    );
}

#[test]
fn a_second_server_on_the_same_data_folder_is_refused() {
    let app = spawn_app();
    let out = run_cli(app.data_dir(), &["--port", "0"], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already running"), "{err}");
    assert_eq!(
        app.client().get("/login").status,
        200,
        "the first keeps serving"
    );
}

#[test]
fn a_database_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("business_data.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("PRAGMA user_version = 999;").unwrap();
    }
    let out = run_cli(dir.path(), &["--port", "0"], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("newer version of Backroom"), "{err}");
    assert!(err.contains("backroom restore --latest"), "{err}");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 999, "left untouched");
}

#[test]
fn a_port_in_use_gives_a_one_line_answer() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = run_cli(dir.path(), &["--port", &port], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("Port {port} is already in use")),
        "{err}"
    );
    assert!(err.contains("--port"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn an_unwritable_data_folder_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let out = run_cli(&file.join("data"), &["--port", "0"], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not writable"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn version_and_help_are_clear() {
    let out = std::process::Command::new(binary())
        .arg("--version")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(backroom::VERSION), "{text}");
    assert!(text.contains(backroom::GIT_COMMIT), "{text}");
    for args in [
        vec!["--help"],
        vec!["backup", "--help"],
        vec!["restore", "--help"],
        vec!["user", "add", "--help"],
    ] {
        let out = std::process::Command::new(binary())
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{args:?}"
        );
    }
}

#[test]
fn a_panicking_handler_gets_a_500_page_not_a_dropped_connection() {
    use actix_web::middleware::from_fn;
    use actix_web::{App, HttpResponse, HttpServer, web};
    async fn boom() -> HttpResponse {
        panic!("boom in a handler")
    }
    // The real middleware in front of a handler that panics, served over real HTTP.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(|| {
                App::new()
                    .wrap(from_fn(backroom::web::http::middleware::catch_panics))
                    .route("/boom", web::get().to(boom))
                    .route("/api/boom", web::get().to(boom))
                    .route(
                        "/fine",
                        web::get().to(|| async { HttpResponse::Ok().body("fine") }),
                    )
            })
            .workers(1)
            .disable_signals()
            .bind("127.0.0.1:0")
            .unwrap();
            tx.send((server.addrs()[0], ())).unwrap();
            server.run().await.unwrap();
        });
    });
    let (addr, ()) = rx.recv().unwrap();
    let client = Client::new(&format!("http://{addr}"));
    let res = client.get("/boom");
    assert_eq!(res.status, 500);
    assert!(
        res.body.contains("Something went wrong on our side"),
        "{}",
        res.body
    );
    assert!(
        !res.body.contains("boom in a handler"),
        "internal details stay in the log"
    );
    assert_eq!(res.header("x-frame-options"), "DENY");
    assert!(
        res.header("content-security-policy")
            .starts_with("default-src 'self'")
    );
    let api = client.get("/api/boom");
    assert_eq!(api.status, 500);
    assert!(
        api.json()["error"]
            .as_str()
            .unwrap()
            .starts_with("Something went wrong")
    );
    for _ in 0..3 {
        assert_eq!(client.get("/fine").status, 200, "the server keeps serving");
        assert_eq!(client.get("/boom").status, 500);
    }
}

#[test]
fn binding_beyond_loopback_prints_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(binary())
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--bind", "0.0.0.0", "--port", "0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.starts_with("WARNING: listening on 0.0.0.0"), "{line}");
    assert!(line.contains("--bind 127.0.0.1"), "{line}");
}

#[test]
fn cli_manages_users_and_lists_backups() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_cli(
        dir.path(),
        &["user", "add", "erin", "--role", "admin"],
        Some("erin-password-1\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let weak = run_cli(
        dir.path(),
        &["user", "add", "weak", "--role", "staff"],
        Some("short\n"),
    );
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("at least 10 characters"));
    let dup = run_cli(
        dir.path(),
        &["user", "add", "ERIN"],
        Some("another-password\n"),
    );
    assert!(!dup.status.success());
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already taken"));
    let list = run_cli(dir.path(), &["user", "list"], None);
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        text.contains("erin") && text.contains("admin") && text.contains("active"),
        "{text}"
    );
    let passwd = run_cli(
        dir.path(),
        &["user", "passwd", "erin"],
        Some("new-erin-password\n"),
    );
    assert!(passwd.status.success());
    let unknown = run_cli(
        dir.path(),
        &["user", "passwd", "nobody"],
        Some("new-erin-password\n"),
    );
    assert!(!unknown.status.success());

    let created = run_cli(
        dir.path(),
        &["backup", "create", "--description", "from the CLI"],
        None,
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let progress = String::from_utf8_lossy(&created.stderr);
    assert!(
        progress.starts_with("Backing up "),
        "plain progress lines: {progress}"
    );
    let list = run_cli(dir.path(), &["backup", "list"], None);
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(text.starts_with("NAME"), "{text}");
    assert!(
        text.contains("_from_the_cli.db") && text.contains("manual") && text.contains("verified"),
        "{text}"
    );
    let verify = run_cli(dir.path(), &["backup", "verify", "--all", "--full"], None);
    assert!(verify.status.success());
    assert!(String::from_utf8_lossy(&verify.stdout).starts_with("ok "));
    let missing = run_cli(
        dir.path(),
        &["backup", "verify", "manual_20200101_000000.db"],
        None,
    );
    assert!(!missing.status.success());
    // The new password works.
    let app = TestApp::in_dir(dir.path());
    assert_eq!(app.client().login("erin", "new-erin-password").status, 303);
}

#[test]
fn changing_a_password_ends_the_other_sessions() {
    let app = spawn_app();
    app.add_user("dana", Role::Staff);
    let laptop = app.client();
    let tablet = app.client();
    assert_eq!(laptop.login("dana", PASSWORD).status, 303);
    assert_eq!(tablet.login("dana", PASSWORD).status, 303);
    let res = laptop.post_form(
        "/account",
        &[
            ("current", PASSWORD),
            ("new_password", "brand-new-pass"),
            ("confirm", "brand-new-pass"),
        ],
    );
    assert_eq!(res.status, 303);
    assert_eq!(
        laptop.get("/products").status,
        200,
        "this session continues"
    );
    let ended = tablet.get("/products");
    assert_eq!(ended.status, 303);
    assert!(ended.location().contains("ended=1"), "{}", ended.location());
}

#[test]
fn parallel_guesses_cannot_slip_past_the_lockout() {
    let app = spawn_app();
    app.add_user("target", Role::SuperAdmin);
    let clients: Vec<Client> = (0..12).map(|_| app.client()).collect();
    let tokens: Vec<String> = clients.iter().map(Client::csrf).collect();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(clients.len()));
    let handles: Vec<_> = clients
        .into_iter()
        .zip(tokens)
        .map(|(c, token)| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                c.post_form_raw(
                    "/login",
                    &[
                        ("username", "target"),
                        ("password", "wrong-guess"),
                        ("csrf_token", &token),
                    ],
                )
                .status
            })
        })
        .collect();
    let statuses: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        7,
        "{statuses:?}"
    );
}
