//! Files arriving over HTTP cannot fill the disk or hold the server (issue 23 item 5): the
//! first-run upload is refused before a byte of its body is read once accounts exist; only
//! so many uploads arrive at once; a body that pauses is given up and its temp file removed;
//! uploads side by side stop at one floor of free space.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use backroom::auth::Role;
use reqwest::cookie::CookieStore;

use crate::support::*;

/// A connection that has sent an upload's headers (announcing `length` bytes) and `body`.
fn start_upload(app: &TestApp, who: &Client, path: &str, length: u64, body: &[u8]) -> TcpStream {
    let kind = if path.starts_with("/first-run") {
        "multipart/form-data; boundary=X"
    } else {
        "application/octet-stream"
    };
    let url: reqwest::Url = app.url.parse().unwrap();
    let port = url.port().unwrap();
    // The session's form token, as a page of this server gives it (also to a visitor).
    let token = who.csrf();
    let cookies = who
        .jar()
        .cookies(&url)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let auth = format!("Cookie: {cookies}\r\nX-CSRF-Token: {token}\r\n");
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost:{port}\r\nOrigin: http://localhost:{port}\r\n{auth}Content-Type: {kind}\r\nContent-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    stream.flush().unwrap();
    stream
}

/// The status and body of the answer on `stream`, waiting at most `within` for each read.
fn answer_of(stream: &mut TcpStream, within: Duration) -> (u16, String) {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let complete = |got: &[u8]| {
        let text = String::from_utf8_lossy(got).to_string();
        let (head, body) = text.split_once("\r\n\r\n")?;
        let length: usize = head.lines().find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })?;
        (body.len() >= length).then(|| {
            (
                head.split(' ').nth(1).unwrap().parse().unwrap(),
                body.to_string(),
            )
        })
    };
    loop {
        if let Some(answer) = complete(&got) {
            return answer;
        }
        let n = stream.read(&mut buf).expect("an answer in time");
        assert!(n > 0, "the connection closed without a whole answer");
        got.extend_from_slice(&buf[..n]);
    }
}

#[test]
fn the_first_run_upload_is_refused_before_its_body_once_accounts_exist() {
    let app = spawn_app();
    let _boss = app.login_as(Role::SuperAdmin);
    // The startup backup's own temp file is not the upload's.
    app.wait_for_startup_backup();
    // A visitor with a valid form token sends only the headers: a server that read the body
    // first would wait for 50 MB.
    let visitor = app.client();
    let mut stream = start_upload(&app, &visitor, "/first-run/upload", 50_000_000, b"");
    let (status, page) = answer_of(&mut stream, Duration::from_secs(20));
    assert_eq!(status, 400);
    assert!(page.contains("already has accounts"), "{page}");
    assert!(temp_files(&app.backups_dir()).is_empty());
}

#[test]
fn only_two_uploads_arrive_at_once_and_a_paused_one_is_given_up() {
    let dir = tempfile::tempdir().unwrap();
    let app = in_dir_tuned(dir.path(), |o| {
        o.uploads.at_once = 2;
        o.uploads.idle = Duration::from_secs(3);
    });
    let boss = app.login_as(Role::SuperAdmin);
    app.wait_for_startup_backup();
    let path = "/api/backups/upload?name=held.db";
    let piece = vec![7u8; 2 << 20];
    let mut held: Vec<TcpStream> = (0..2)
        .map(|_| start_upload(&app, &boss, path, 50_000_000, &piece))
        .collect();
    wait_until(
        "both uploads to be writing",
        Duration::from_secs(30),
        || temp_files(&app.backups_dir()).len() == 2,
    );
    // A third is refused at once, before its body.
    let mut third = start_upload(&app, &boss, path, 50_000_000, b"");
    let (status, answer) = answer_of(&mut third, Duration::from_secs(20));
    assert_eq!(status, 429);
    assert!(answer.contains("already arriving"), "{answer}");
    assert_eq!(temp_files(&app.backups_dir()).len(), 2);

    // The held ones pause; the server gives them up and removes what they wrote.
    let paused = Instant::now();
    for stream in &mut held {
        let (status, answer) = answer_of(stream, Duration::from_secs(30));
        assert_eq!(status, 408);
        assert!(answer.contains("stopped arriving"), "{answer}");
    }
    assert!(
        paused.elapsed() >= Duration::from_secs(2),
        "given up too early"
    );
    wait_until("the temp files to go", Duration::from_secs(30), || {
        temp_files(&app.backups_dir()).is_empty()
    });
    // Their places are free again: the next upload is read and judged.
    let next = boss.upload_raw(path, b"not a database".to_vec(), None);
    assert_eq!(next.status, 400, "{}", next.body);
}

#[test]
fn uploads_side_by_side_stop_at_one_floor_of_free_space() {
    let Some(disk) = SmallDisk::mount(200) else {
        eprintln!("skipped: cannot mount a small tmpfs here");
        return;
    };
    let app = TestApp::in_dir(&disk.path);
    let bosses = [
        app.login_as(Role::SuperAdmin),
        app.login_as(Role::SuperAdmin),
    ];
    app.wait_for_startup_backup();
    let floor = 64u64 << 20;
    let lowest = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(u64::MAX));
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let (lowest, done, dir) = (lowest.clone(), done.clone(), disk.path.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            while !done.load(std::sync::atomic::Ordering::SeqCst) && Instant::now() < deadline {
                let free = fs2_free(&dir);
                lowest.fetch_min(free, std::sync::atomic::Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    // Each alone fits (about 130 MB may arrive); both together would fill the disk.
    let uploads: Vec<_> = bosses
        .into_iter()
        .enumerate()
        .map(|(i, boss)| {
            std::thread::spawn(move || {
                boss.upload_raw(
                    &format!("/api/backups/upload?name=big{i}.db"),
                    vec![i as u8 + 1; 100 << 20],
                    None,
                )
                .status
            })
        })
        .collect();
    let statuses: Vec<u16> = uploads.into_iter().map(|h| h.join().unwrap()).collect();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    watcher.join().unwrap();
    assert!(
        statuses.contains(&413),
        "one of them stops at the floor: {statuses:?}"
    );
    let lowest = lowest.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        lowest + (2 << 20) >= floor,
        "the disk went down to {} MB free",
        lowest >> 20
    );
    wait_until("the temp files to go", Duration::from_secs(30), || {
        temp_files(&app.backups_dir()).is_empty()
    });
    drop(app);
}

/// Free bytes on the file system of `dir` (`df`, so the test does not share the code it checks).
fn fs2_free(dir: &std::path::Path) -> u64 {
    let out = std::process::Command::new("df")
        .args(["-B1", "--output=avail"])
        .arg(dir)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(u64::MAX)
}
