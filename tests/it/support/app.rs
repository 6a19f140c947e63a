//! The app under test: started in-process on port 0 in a temp data folder (zero2prod's
//! `TestApp`), with the steps most tests begin with (wait for the startup backup, log in).

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use backroom::auth::{Role, password, users};
use backroom::server::{RunningServer, ServeOptions};

use super::{Client, backup_files, wait_until};

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

/// An automatic-backup interval no test outlasts, for tests that age the backups or move the
/// clock: on the real six hours the scheduler would answer them with an overdue backup at once,
/// racing what the test looks at.
pub const LONG_INTERVAL: Option<Duration> = Some(Duration::from_secs(1000 * 3600));

/// Starts the app with the same-disk check of folder targets on, as in real use (not kept by
/// `restart`).
pub fn spawn_app_checking_disks() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut app = in_dir_tuned(dir.path(), |opts| opts.offsite.check_disk = true);
    app._tmp = Some(dir);
    app
}

/// Starts the app in `path` with options the test adjusts (not kept by `restart`).
pub fn in_dir_tuned(path: &Path, tune: impl FnOnce(&mut ServeOptions)) -> TestApp {
    let mut opts = options(path, None);
    tune(&mut opts);
    TestApp::started(path, opts, None, backroom::clock::system())
}

/// Starts the app on a free port with a fresh data folder.
pub fn spawn_app() -> TestApp {
    spawn_app_with(None)
}

/// Starts the app with automatic backups every `interval` (`None`: the settings' six hours).
pub fn spawn_app_with(interval: Option<Duration>) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut app = TestApp::in_dir_with(dir.path(), interval);
    app._tmp = Some(dir);
    app
}

/// Starts the app on a clock the test moves by hand, with automatic backups every `interval`
/// (`None`: six hours of that clock; [`LONG_INTERVAL`] when the test moves it further and the
/// scheduler is not what it tests).
pub fn spawn_app_with_clock(
    clock: &backroom::clock::ManualClock,
    interval: Option<Duration>,
) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut app = TestApp::start(dir.path(), interval, std::sync::Arc::new(clock.clone()));
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
        TestApp::started(path, opts, interval, clock)
    }

    /// Starts the server; `interval` and `clock` are what `restart` starts it with again.
    fn started(
        path: &Path,
        opts: ServeOptions,
        interval: Option<Duration>,
        clock: backroom::clock::SharedClock,
    ) -> TestApp {
        let server = backroom::server::start(opts).unwrap();
        TestApp {
            url: server.url(),
            server: Some(server),
            _tmp: None,
            path: path.to_path_buf(),
            interval,
            clock,
        }
    }

    /// The app once its startup backup is done: what most tests begin with, so that the
    /// backup running in the background does not race them.
    pub fn ready(self) -> TestApp {
        self.wait_for_startup_backup();
        self
    }

    /// [`ready`](Self::ready), with a client logged in as a new user with `role`.
    pub fn ready_as(self, role: Role) -> (TestApp, Client) {
        let app = self.ready();
        let client = app.login_as(role);
        (app, client)
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
