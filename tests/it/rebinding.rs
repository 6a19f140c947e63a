//! DNS rebinding and cross-site forms (issue 23, item 1): a request naming another host gets
//! 421 before any handler runs, and a browser's state-changing request from another site is
//! refused, while the normal clients (no Origin, or a same-origin one) keep working.

use backroom::auth::Role;

use crate::support::*;

/// Sends a request exactly as written, with `client`'s cookies; `(status, body)`.
fn send(
    client: &Client,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    use reqwest::cookie::CookieStore;
    use std::io::{Read, Write};
    let url: reqwest::Url = client.base.parse().unwrap();
    let cookies = client
        .jar()
        .cookies(&url)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let mut request = format!("{method} {path} HTTP/1.1\r\nCookie: {cookies}\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!(
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    let mut stream =
        std::net::TcpStream::connect((url.host_str().unwrap(), url.port().unwrap())).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn own_host(app: &TestApp) -> String {
    app.url.trim_start_matches("http://").to_string()
}

#[test]
fn a_rebinding_host_cannot_take_over_a_fresh_install() {
    let app = spawn_app();
    let client = app.client();
    let token = client.csrf();
    let (status, body) = send(&client, "GET", "/", &[("Host", "evil.example")], "");
    assert_eq!(status, 421, "{body}");
    assert!(!body.contains("Welcome to Backroom"));
    assert!(body.contains("not this Backroom server"), "{body}");
    let form =
        format!("username=mallory&password={PASSWORD}&password2={PASSWORD}&csrf_token={token}");
    for host in ["evil.example", "evil.example:80", "localhost.evil.example"] {
        let (status, _) = send(&client, "POST", "/first-run", &[("Host", host)], &form);
        assert_eq!(status, 421, "{host}");
    }
    assert_eq!(
        app.query_i64("SELECT count(*) FROM users"),
        0,
        "nothing changed"
    );
    // The same form under this server's own name works (so the refusal above was the Host).
    let own = own_host(&app);
    let (status, body) = send(&client, "POST", "/first-run", &[("Host", &own)], &form);
    assert_eq!(status, 303, "{body}");
    assert_eq!(app.query_i64("SELECT count(*) FROM users"), 1);
}

#[test]
fn a_rebinding_host_reaches_no_api_and_no_page() {
    let app = spawn_app();
    let boss = app.login_as(Role::SuperAdmin);
    let token = boss.csrf();
    let (status, body) = send(
        &boss,
        "GET",
        "/api/backups",
        &[("Host", "evil.example:5000")],
        "",
    );
    assert_eq!(status, 421, "{body}");
    assert!(!body.contains("\"name\""), "{body}");
    let before = app.backup_files().len();
    let (status, _) = send(
        &boss,
        "POST",
        "/api/backups",
        &[("Host", "evil.example"), ("X-CSRF-Token", &token)],
        "",
    );
    assert_eq!(status, 421);
    assert_eq!(app.backup_files().len(), before, "no backup made");
    // localhost and [::1] name this server, with any port.
    for host in ["localhost:1", "[::1]:5000", "127.0.0.1"] {
        let (status, _) = send(&boss, "GET", "/api/backups", &[("Host", host)], "");
        assert_eq!(status, 200, "{host}");
    }
}

#[test]
fn a_form_sent_from_another_site_is_refused() {
    let app = spawn_app();
    let boss = app.login_as(Role::SuperAdmin);
    let token = boss.csrf();
    let own = own_host(&app);
    let form = format!("sku=X1&name=Cross&price=1.00&stock=1&reorder_level=1&csrf_token={token}");
    for headers in [
        vec![("Host", own.as_str()), ("Origin", "http://evil.example")],
        vec![("Host", own.as_str()), ("Origin", "null")],
        vec![("Host", own.as_str()), ("Sec-Fetch-Site", "cross-site")],
        vec![("Host", own.as_str()), ("Sec-Fetch-Site", "same-site")],
    ] {
        let (status, body) = send(&boss, "POST", "/products", &headers, &form);
        assert_eq!(status, 403, "{headers:?}: {body}");
        assert!(body.contains("another web site"), "{body}");
    }
    assert_eq!(
        app.query_i64("SELECT count(*) FROM products WHERE sku = 'X1'"),
        0
    );
    // A browser's own form (same Origin, same-origin fetch) works.
    let origin = app.url.clone();
    let headers = [
        ("Host", own.as_str()),
        ("Origin", origin.as_str()),
        ("Sec-Fetch-Site", "same-origin"),
    ];
    let (status, body) = send(&boss, "POST", "/products", &headers, &form);
    assert_eq!(status, 303, "{body}");
    assert_eq!(
        app.query_i64("SELECT count(*) FROM products WHERE sku = 'X1'"),
        1
    );
}
