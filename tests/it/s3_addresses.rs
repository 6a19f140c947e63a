//! The S3 form cannot be used to map this computer (issue 23 item 7): plain `http://` only
//! when the target allows it, and a closed port, a port of another kind of server and a
//! server that hangs up all read the same.

use std::io::Write;
use std::net::TcpListener;
use std::time::Duration;

use backroom::auth::Role;
use backroom::offsite::s3::{S3Config, S3Store};
use backroom::offsite::store::Store;

use crate::support::*;

fn config(endpoint: String) -> S3Config {
    S3Config {
        endpoint,
        region: "garage".into(),
        bucket: "shop".into(),
        prefix: String::new(),
        path_style: true,
        allow_http: true,
        access_key_id: "GK0000".into(),
        secret_access_key: "not-a-real-secret".into(),
    }
}

/// A port that answers like an SSH server and hangs up; stopped when the test ends.
struct NotHttp {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl NotHttp {
    fn start() -> NotHttp {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + Duration::from_secs(120);
            while !flag.load(std::sync::atomic::Ordering::SeqCst)
                && std::time::Instant::now() < deadline
            {
                match listener.accept() {
                    Ok((mut s, _)) => {
                        let _ = s.write_all(b"SSH-2.0-OpenSSH_9.2p1\r\n");
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        NotHttp {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for NotHttp {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn a_closed_port_and_a_port_that_speaks_no_http_read_the_same() {
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let ssh = NotHttp::start();
    let said = |port: u16| {
        let endpoint = format!("http://127.0.0.1:{port}");
        let store = S3Store::new(config(endpoint.clone())).unwrap();
        let error = store.list().map(|_| ()).expect_err("no store there");
        error.to_string().replace(&endpoint, "ENDPOINT")
    };
    let (a, b) = (said(closed), said(ssh.port));
    assert_eq!(a, b, "the wording tells the ports apart");
    assert!(a.contains("cannot be reached"), "{a}");
}

#[test]
fn plain_http_is_refused_unless_the_target_allows_it() {
    let mut plain = config("http://127.0.0.1:3900".into());
    plain.allow_http = false;
    let refused = S3Store::new(plain).err().expect("refused");
    assert!(refused.to_string().contains("own network"), "{refused}");

    let app = spawn_app();
    let boss = app.login_as(Role::SuperAdmin);
    let fields = [
        ("kind", "s3"),
        ("name", "nas"),
        ("endpoint", "http://127.0.0.1:3900"),
        ("bucket", "b"),
        ("path_style", "1"),
        ("access_key_id", "GK0000"),
        ("secret_access_key", "not-a-real-secret"),
    ];
    let res = boss.post_form("/backup/offsite/targets", &fields);
    assert_eq!(res.status, 400, "{}", res.body);
    assert!(res.body.contains("own network"), "{}", res.body);
    let settings =
        std::fs::read_to_string(app.data_dir().join("backroom.toml")).unwrap_or_default();
    assert!(!settings.contains("nas"), "nothing saved: {settings}");

    let out = run_cli(
        app.data_dir(),
        &[
            "offsite",
            "add",
            "nas",
            "--s3",
            "--endpoint",
            "http://127.0.0.1:3900",
            "--bucket",
            "b",
        ],
        Some("GK0000\nnot-a-real-secret\n"),
    );
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("own network"), "{text}");
}
