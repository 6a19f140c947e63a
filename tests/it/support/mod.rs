//! Test helpers: start the real app on port 0 in a temp folder, talk to it over HTTP like a
//! browser (cookies, CSRF token), and run the real binary as a subprocess.

use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use backroom::auth::{Role, password, users};
use backroom::server::{RunningServer, ServeOptions};
use reqwest::blocking::{Client as Http, Response};
use reqwest::redirect::Policy;

pub const PASSWORD: &str = "correct-horse-1";

pub struct TestApp {
    pub server: Option<RunningServer>,
    _tmp: Option<tempfile::TempDir>,
    path: PathBuf,
    pub url: String,
    pub interval: Option<Duration>,
    /// The clock the server runs on (a test's ManualClock, or the real time).
    pub clock: backroom::clock::SharedClock,
}

pub fn options(dir: &Path, interval: Option<Duration>) -> ServeOptions {
    let mut opts = ServeOptions::new(
        Some(dir.to_path_buf()),
        "127.0.0.1".parse::<IpAddr>().unwrap(),
        0,
    );
    opts.handle_signals = false;
    opts.workers = 2;
    opts.interval_override = interval;
    // Off-site work at test speed: look often, retry soon.
    opts.offsite = backroom::offsite::OffsiteOptions {
        poll: Duration::from_millis(100),
        retry_base: Duration::from_millis(500),
        index_ttl: Duration::from_secs(2),
        // Test targets are temp folders on the data's own disk (see `spawn_app_checking_disks`).
        check_disk: false,
    };
    opts
}

/// Starts the app with the same-disk check of folder targets on, as in real use (not kept by
/// `restart`).
pub fn spawn_app_checking_disks() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path(), None);
    opts.offsite.check_disk = true;
    let server = backroom::server::start(opts).unwrap();
    TestApp {
        url: server.url(),
        server: Some(server),
        path: dir.path().to_path_buf(),
        _tmp: Some(dir),
        interval: None,
        clock: backroom::clock::system(),
    }
}

/// Starts the app in `path` with options the test adjusts (not kept by `restart`).
pub fn in_dir_tuned(path: &Path, tune: impl FnOnce(&mut ServeOptions)) -> TestApp {
    let mut opts = options(path, None);
    tune(&mut opts);
    let server = backroom::server::start(opts).unwrap();
    TestApp {
        url: server.url(),
        server: Some(server),
        path: path.to_path_buf(),
        _tmp: None,
        interval: None,
        clock: backroom::clock::system(),
    }
}

/// Starts the app on a free port with a fresh data folder.
pub fn spawn_app() -> TestApp {
    spawn_app_with(None)
}

pub fn spawn_app_with(interval: Option<Duration>) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut app = TestApp::in_dir_with(dir.path(), interval);
    app._tmp = Some(dir);
    app
}

/// Starts the app on a clock the test moves by hand.
pub fn spawn_app_with_clock(clock: &backroom::clock::ManualClock) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut app = TestApp::start(dir.path(), None, std::sync::Arc::new(clock.clone()));
    app._tmp = Some(dir);
    app
}

impl TestApp {
    /// Starts the app on an existing data folder (the caller owns the folder).
    pub fn in_dir(path: &Path) -> TestApp {
        TestApp::in_dir_with(path, None)
    }

    pub fn in_dir_with(path: &Path, interval: Option<Duration>) -> TestApp {
        TestApp::start(path, interval, backroom::clock::system())
    }

    fn start(
        path: &Path,
        interval: Option<Duration>,
        clock: backroom::clock::SharedClock,
    ) -> TestApp {
        let mut opts = options(path, interval);
        opts.clock = clock.clone();
        let server = backroom::server::start(opts).unwrap();
        let url = server.url();
        TestApp {
            server: Some(server),
            _tmp: None,
            path: path.to_path_buf(),
            url,
            interval,
            clock,
        }
    }

    pub fn data_dir(&self) -> &Path {
        &self.path
    }

    pub fn db_path(&self) -> PathBuf {
        self.path.join("business_data.db")
    }

    pub fn backups_dir(&self) -> PathBuf {
        self.path.join("database_backups")
    }

    pub fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop();
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        let mut opts = options(&self.path, self.interval);
        opts.clock = self.clock.clone();
        let server = backroom::server::start(opts).unwrap();
        self.url = server.url();
        self.server = Some(server);
    }

    /// Adds a user straight into the database (a short-lived connection, closed at once).
    pub fn add_user(&self, name: &str, role: Role) {
        add_user_to(&self.db_path(), name, role);
    }

    pub fn client(&self) -> Client {
        Client::new(&self.url)
    }

    /// A client logged in as a new user with that role (named after the role).
    pub fn login_as(&self, role: Role) -> Client {
        let name = format!("{}-user", role.as_str());
        let exists = self.query_i64(&format!(
            "SELECT count(*) FROM users WHERE username = '{name}'"
        )) > 0;
        if !exists {
            self.add_user(&name, role);
        }
        let client = self.client();
        let res = client.login(&name, PASSWORD);
        assert_eq!(res.status, 303, "login as {name} failed: {}", res.body);
        client
    }

    /// Reads one number from the live database with a short-lived connection.
    pub fn query_i64(&self, sql: &str) -> i64 {
        let conn = rusqlite::Connection::open(self.db_path()).unwrap();
        conn.busy_timeout(Duration::from_secs(5)).unwrap();
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    pub fn execute(&self, sql: &str) {
        let conn = rusqlite::Connection::open(self.db_path()).unwrap();
        conn.busy_timeout(Duration::from_secs(5)).unwrap();
        conn.execute_batch(sql).unwrap();
    }

    pub fn backup_files(&self) -> Vec<String> {
        backup_files(&self.backups_dir())
    }

    /// Waits until the startup backup is finished (it runs in the background).
    pub fn wait_for_startup_backup(&self) {
        let record = self.backups_dir().join("startup_backup.db.json");
        wait_until("the startup backup", Duration::from_secs(60), || {
            record.exists()
        });
        self.wait_for_startup_backup_attempt();
    }

    /// Sets up a folder off-site target in `dir` from the page, confirms the emergency kit and
    /// waits until the health line is green (a green line needs an off-site copy).
    pub fn protect_off_site(&self, dir: &Path) {
        let boss = self.login_as(Role::SuperAdmin);
        let res = boss.post_form(
            "/backup/offsite/targets",
            &[
                ("kind", "folder"),
                ("name", "usb"),
                ("path", dir.to_str().unwrap()),
            ],
        );
        assert_eq!(res.status, 303, "{}", res.body);
        assert_eq!(
            boss.post_form("/backup/offsite/kit/confirm", &[]).status,
            303
        );
        wait_until("a green health line", Duration::from_secs(60), || {
            boss.get("/api/offsite").json()["health"]["level"] == "green"
        });
    }

    /// Waits until the startup backup attempt (good or not) has released the backup lock.
    pub fn wait_for_startup_backup_attempt(&self) {
        // The operation lock is released just after the record is written.
        let lock_file = self.backups_dir().join(".backup.lock");
        wait_until("the startup backup's lock", Duration::from_secs(30), || {
            backroom::fsutil::FileLock::try_acquire(&lock_file)
                .unwrap()
                .is_some()
        });
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn add_user_to(db: &Path, name: &str, role: Role) {
    let hash = password::hash_password(PASSWORD).unwrap();
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    users::create(&conn, name, &hash, role).unwrap();
}

/// `*.db` files in the backup folder, sorted.
pub fn backup_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".db"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// A response read completely.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Resp {
    fn from(res: Response) -> Resp {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res.text().unwrap_or_default();
        Resp {
            status,
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }

    pub fn location(&self) -> String {
        self.header("location")
    }

    /// The id at the end of a 303's `Location` (`/products/12` → 12).
    pub fn created_id(&self) -> i64 {
        assert_eq!(self.status, 303, "{}", self.body);
        self.location().rsplit('/').next().unwrap().parse().unwrap()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// A reqwest client builder. The app's HTTPS stack (for S3 targets) is rustls with ring and
/// no default provider, so test clients name it too.
pub fn http_builder() -> reqwest::blocking::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
}

/// A browser-like client: keeps cookies, does not follow redirects (tests check them).
pub struct Client {
    pub http: Http,
    pub base: String,
    jar: std::sync::Arc<reqwest::cookie::Jar>,
}

impl Client {
    pub fn new(base: &str) -> Client {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        Client {
            http: http_builder()
                .cookie_provider(jar.clone())
                .redirect(Policy::none())
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap(),
            base: base.to_string(),
            jar,
        }
    }

    pub fn jar(&self) -> &std::sync::Arc<reqwest::cookie::Jar> {
        &self.jar
    }

    /// Sends a request exactly as written (no URL normalisation, so `..` and `%2e` reach the
    /// server), with this client's cookies and CSRF token; returns the status code.
    pub fn raw(&self, method: &str, path: &str) -> u16 {
        use reqwest::cookie::CookieStore;
        use std::io::{Read, Write};
        let url: reqwest::Url = self.base.parse().unwrap();
        let cookies = self
            .jar
            .cookies(&url)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let token = self.csrf();
        let host = url.host_str().unwrap();
        let port = url.port().unwrap();
        let body = format!("csrf_token={token}");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: {cookies}\r\nX-CSRF-Token: {token}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let mut stream = std::net::TcpStream::connect((host, port)).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in {response:?}"))
    }

    pub fn get(&self, path: &str) -> Resp {
        Resp::from(
            self.http
                .get(format!("{}{path}", self.base))
                .send()
                .unwrap(),
        )
    }

    /// The session's CSRF token, read from a page like a browser would.
    pub fn csrf(&self) -> String {
        let page = self.get("/login");
        let page = if page.body.contains("csrf-token") {
            page
        } else {
            self.get("/account")
        };
        extract_csrf(&page.body).unwrap_or_default()
    }

    pub fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let token = self.csrf();
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        self.post_form_raw(path, &all)
    }

    pub fn post_form_raw(&self, path: &str, fields: &[(&str, &str)]) -> Resp {
        Resp::from(
            self.http
                .post(format!("{}{path}", self.base))
                .form(fields)
                .send()
                .unwrap(),
        )
    }

    pub fn api_post(&self, path: &str, body: serde_json::Value) -> Resp {
        let token = self.csrf();
        Resp::from(
            self.http
                .post(format!("{}{path}", self.base))
                .header("X-CSRF-Token", token)
                .json(&body)
                .send()
                .unwrap(),
        )
    }

    /// Like `api_post`, for requests that the test may cut off by killing the server.
    pub fn try_api_post(&self, path: &str, body: serde_json::Value) -> Option<u16> {
        let page = self
            .http
            .get(format!("{}/account", self.base))
            .send()
            .ok()?
            .text()
            .ok()?;
        let token = extract_csrf(&page)?;
        self.http
            .post(format!("{}{path}", self.base))
            .header("X-CSRF-Token", token)
            .json(&body)
            .send()
            .ok()
            .map(|r| r.status().as_u16())
    }

    pub fn api_delete(&self, path: &str) -> Resp {
        let token = self.csrf();
        Resp::from(
            self.http
                .delete(format!("{}{path}", self.base))
                .header("X-CSRF-Token", token)
                .send()
                .unwrap(),
        )
    }

    pub fn login(&self, user: &str, password: &str) -> Resp {
        self.post_form(
            "/login",
            &[("username", user), ("password", password), ("next", "/")],
        )
    }
}

pub fn extract_csrf(body: &str) -> Option<String> {
    let marker = "name=\"csrf-token\" content=\"";
    let start = body.find(marker)? + marker.len();
    let end = body[start..].find('"')? + start;
    Some(body[start..end].to_string())
}

/// The real `backroom` binary.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_backroom"))
}

/// Runs `backroom --data-dir DIR ARGS...` to completion.
pub fn run_cli(dir: &Path, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut child = Command::new(binary())
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
    }
    child.wait_with_output().unwrap()
}

/// A server running as a separate process (for kills and signals).
pub struct ServerProcess {
    pub child: Child,
    pub url: String,
    stdout: std::sync::Arc<std::sync::Mutex<String>>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl ServerProcess {
    /// Starts `backroom` on a free port and waits until it prints its address.
    pub fn start(
        exe: &Path,
        dir: Option<&Path>,
        cwd: &Path,
        extra_env: &[(&str, &str)],
    ) -> ServerProcess {
        let mut cmd = Command::new(exe);
        if let Some(dir) = dir {
            cmd.arg("--data-dir").arg(dir);
        }
        cmd.args(["--port", "0"])
            .current_dir(cwd)
            .env_remove("BACKROOM_DATA_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        ServerProcess::from_command(cmd)
    }

    /// Starts a prepared command (which must pass `--port 0` and pipe stdout).
    pub fn from_command(mut cmd: Command) -> ServerProcess {
        let mut child = cmd.spawn().unwrap();
        // Drain stderr so the server never blocks on a full pipe; echo it for failing tests
        // and keep it for `errors`.
        let stderr_text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        if let Some(stderr) = child.stderr.take() {
            let kept = stderr_text.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stderr);
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 0 {
                    eprint!("[server] {}", &line[..line.len().min(300)]);
                    kept.lock().unwrap().push_str(&line);
                    line.clear();
                }
            });
        }
        let stdout = child.stdout.take().unwrap();
        let mut reader = BufReader::new(stdout);
        let mut port = None;
        let mut seen = String::new();
        for _ in 0..20 {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            seen.push_str(&line);
            if let Some(rest) = line.split("http://localhost:").nth(1) {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                port = digits.parse::<u16>().ok();
                break;
            }
        }
        let Some(port) = port else {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "server did not start; stdout: {seen} stderr: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        // Keep draining stdout (kept for `output`) so the child never blocks on a full pipe.
        let stdout = std::sync::Arc::new(std::sync::Mutex::new(seen));
        let collected = stdout.clone();
        std::thread::spawn(move || {
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                collected.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        ServerProcess {
            child,
            url: format!("http://127.0.0.1:{port}"),
            stdout,
            stderr: stderr_text,
        }
    }

    /// What the server wrote to its console log so far.
    pub fn errors(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// What the server printed on start (waits for the end of its welcome).
    pub fn output(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = self.stdout.lock().unwrap().clone();
            if text.contains("Press Ctrl-C") || Instant::now() > deadline {
                return text;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    #[cfg(unix)]
    #[allow(unsafe_code)]
    pub fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).unwrap();
        // SAFETY: sending a signal to our own child process.
        unsafe {
            libc::kill(pid, signal);
        }
    }

    /// Waits for the process to exit on its own.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub use crate::corrupt::corrupt_table;

/// SQL adding `rows` customers named `filler` of about 1 KB each (notes of random hex): bulk
/// in Backroom's own tables, so the backups of it have exactly Backroom's schema.
pub fn pad_sql(rows: usize) -> String {
    format!(
        "INSERT INTO customers (name, notes, created_at, updated_at)
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
         SELECT 'filler', hex(randomblob(500)), '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' FROM n;"
    )
}

/// How many `filler` customers [`pad_sql`] added.
pub const FILLER_ROWS: &str = "SELECT count(*) FROM customers WHERE name = 'filler'";

/// Makes a migrated database of about `mb` megabytes (see [`pad_sql`]).
pub fn make_big_database(path: &Path, mb: usize) {
    let mut conn = rusqlite::Connection::open(path).unwrap();
    backroom::db::migrations::migrate(&mut conn, path).unwrap();
    conn.execute_batch("PRAGMA journal_mode=WAL;").unwrap();
    conn.execute_batch(&pad_sql(mb * 1024)).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
}

/// Flips bytes in the middle of a file (same size, different content).
pub fn flip_middle(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b ^= 0x5A;
    }
    std::fs::write(path, bytes).unwrap();
}

/// `PRAGMA integrity_check` on a database file (nothing else may have it open).
pub fn integrity_ok(path: &Path) -> bool {
    let conn = rusqlite::Connection::open(path).unwrap();
    let result: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    result == "ok"
}

/// A size-limited tmpfs mounted for one test (needs the right to mount; `None` otherwise).
pub struct SmallDisk {
    pub path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    pub fn mount(size_mb: u64) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().ok()?;
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mb}m"), "tmpfs"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| SmallDisk {
            path: dir.path().to_path_buf(),
            _dir: dir,
        })
    }
}

impl SmallDisk {
    /// Makes the file system read-only (like a USB stick with its lock switch on).
    pub fn remount_read_only(&self) -> bool {
        Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.path)
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

impl Client {
    /// Makes a product through the form (reorder level 1); returns its id.
    pub fn add_product(&self, sku: &str, name: &str, price: &str, stock: &str) -> i64 {
        let fields = [
            ("sku", sku),
            ("name", name),
            ("price", price),
            ("stock", stock),
            ("reorder_level", "1"),
        ];
        self.post_form("/products", &fields).created_id()
    }

    /// Makes a customer through the form; returns their id.
    pub fn add_customer(&self, name: &str, phone: &str, email: &str) -> i64 {
        let fields = [("name", name), ("phone", phone), ("email", email)];
        self.post_form("/customers", &fields).created_id()
    }

    /// `POST` of a file as the raw body (the API's upload), with the CSRF header.
    pub fn upload_raw(&self, path: &str, bytes: Vec<u8>, key: Option<&str>) -> Resp {
        let token = self.csrf();
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("X-CSRF-Token", token)
            .header("Content-Type", "application/octet-stream")
            .body(bytes);
        if let Some(key) = key {
            req = req.header("X-Backroom-Key", key);
        }
        Resp::from(req.send().unwrap())
    }

    /// A multipart form post like a browser's file upload: the CSRF token in the address (as
    /// the page's form has it), `file` and then the text fields.
    pub fn upload_form(
        &self,
        path: &str,
        file_name: &str,
        bytes: Vec<u8>,
        fields: &[(&str, &str)],
    ) -> Resp {
        let token = self.csrf();
        let mut form = reqwest::blocking::multipart::Form::new().part(
            "file",
            reqwest::blocking::multipart::Part::bytes(bytes).file_name(file_name.to_string()),
        );
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        let sep = if path.contains('?') { '&' } else { '?' };
        Resp::from(
            self.http
                .post(format!("{}{path}{sep}csrf_token={token}", self.base))
                .multipart(form)
                .send()
                .unwrap(),
        )
    }
}

/// SHA-256 of every table's rows in a fixed order (a canonical dump of the data): two
/// databases with the same value hold the same rows.
pub fn canonical_dump_sha(db: &Path) -> String {
    use sha2::{Digest, Sha256};
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut hash = Sha256::new();
    for t in tables {
        hash.update(format!("table {t}\n"));
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM \"{t}\" ORDER BY rowid"))
            .unwrap();
        let cols = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..cols {
                let v: rusqlite::types::Value = row.get(i).unwrap();
                hash.update(format!("{v:?}\u{1f}"));
            }
            hash.update("\n");
        }
    }
    backroom::backup::copy::hex(&hash.finalize())
}

/// Files in the backup folder that are temp files of unfinished work.
pub fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".tmp-") || n.starts_with(".offsite-"))
                .collect()
        })
        .unwrap_or_default()
}

/// Polls `done` until it holds, failing after `limit` with `what` (the one poll-with-deadline
/// helper of the integration tests).
pub fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every file directly in `dir` with its bytes, sorted (what "nothing changed" compares).
pub fn folder_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// A manual backup; one the scheduler is making (tests move the clock past its due time) is
/// waited for (409, busy) with a deadline, as a person would try again.
pub fn make_backup(client: &Client, description: &str) -> String {
    let mut res = None;
    wait_until("the manual backup", Duration::from_secs(60), || {
        let r = client.api_post(
            "/api/backups",
            serde_json::json!({ "description": description }),
        );
        let busy = r.status == 409 && r.body.contains("already running");
        res = Some(r);
        !busy
    });
    let res = res.unwrap();
    assert_eq!(res.status, 201, "{}", res.body);
    res.json()["backup"]["name"].as_str().unwrap().to_string()
}

/// `backroom ARGS` in `dir`, which must succeed; its output (stdout, then stderr).
pub fn cli_ok(dir: &Path, args: &[&str]) -> String {
    let out = run_cli(dir, args, None);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "backroom {args:?}: {text}");
    text
}
