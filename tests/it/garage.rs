//! A real Garage (the S3-compatible store) on loopback for the off-site tests: one node, or a
//! cluster with a replication factor equal to its size. Every node lives in a temp folder of its
//! own with a generated config, runs as a child process (`garage -c CFG server`, output to
//! `garage.log` in its folder) and is killed and waited for on Drop. The bucket and key are made
//! with Garage's own CLI.
//!
//! Ports: a start picks three free loopback ports (bind 127.0.0.1:0, read the port, let it go)
//! and writes them into the config. Another process may take one before Garage binds it, so a
//! start that finds a port taken is killed and tried again with new ports, up to
//! `START_ATTEMPTS` times. Garage exits when its RPC port is taken but keeps running without S3
//! or admin when those are (it only logs "Address already in use"), so the log is watched as
//! well as the process. Holding the listeners until just before the spawn would only narrow the
//! window, not close it, and would need the same retry anyway. A restarted node keeps its ports
//! (the other nodes know its address): if one was taken meanwhile, the restart fails loudly.

use std::fs::{File, OpenOptions};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use backroom::offsite::s3::S3Config;

pub const REGION: &str = "garage";
const START_ATTEMPTS: usize = 5;
/// How long a node may take to answer `garage status` (it takes ~0.2 s here).
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the other nodes may take to notice a dead node (see `wait_seen_down`).
const SEEN_DOWN_TIMEOUT: Duration = Duration::from_secs(100);
/// How long one CLI command may take before it is killed (they take milliseconds).
const CLI_TIMEOUT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(50);
const PORT_TAKEN: &str = "Address already in use";

/// The `garage` binary, or a failing test that says how to get it (checked once per run).
fn garage_binary() -> &'static str {
    static CHECK: OnceLock<Result<(), String>> = OnceLock::new();
    let check = CHECK.get_or_init(|| match Command::new("garage").arg("--version").output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "`garage --version` failed ({}): {}; reinstall it with `cargo install --locked garage`",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )),
        Err(e) => Err(format!(
            "the off-site S3 tests need Garage's `garage` binary on PATH ({e}); install it with \
             `cargo install --locked garage` (a 15-20 minute build)"
        )),
    });
    if let Err(message) = check {
        panic!("{message}");
    }
    "garage"
}

#[derive(Clone, Copy, Debug)]
struct Ports {
    rpc: u16,
    s3: u16,
    admin: u16,
}

/// A loopback port with nothing listening (for "wrong endpoint" tests; nothing else should
/// bind it in the moment the test uses it).
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

impl Ports {
    fn pick() -> Ports {
        // Three listeners at once, so the three ports differ.
        let listeners: Vec<TcpListener> = (0..3)
            .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        let port = |i: usize| listeners[i].local_addr().unwrap().port();
        Ports {
            rpc: port(0),
            s3: port(1),
            admin: port(2),
        }
    }
}

struct Node {
    dir: PathBuf,
    config: PathBuf,
    ports: Ports,
    child: Option<Child>,
    /// The full node id (64 hex digits).
    id: String,
}

/// Why a start did not give a ready node.
enum StartError {
    PortTaken,
}

pub struct Garage {
    nodes: Vec<Node>,
    bucket: String,
    key_id: String,
    secret: String,
    started_in: Duration,
    // Last: the folders go after the processes are killed (Drop kills first anyway).
    _root: tempfile::TempDir,
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::fill(&mut buf[..]);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn log_tail(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("garage.log")).unwrap_or_default();
    let start = text.len().saturating_sub(3000);
    let start = (start..text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    text[start..].to_string()
}

static CLI_RUNS: AtomicUsize = AtomicUsize::new(0);

/// Output of one CLI command: success, stdout, stderr.
struct CliOutput {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Runs `garage -c CONFIG ARGS...`, killed if it takes longer than `CLI_TIMEOUT` (a CLI talking
/// to something that is not Garage could wait forever). Output goes to files so nothing blocks
/// on a pipe while the call is polled.
fn cli_in(dir: &Path, config: &Path, args: &[&str]) -> CliOutput {
    let run = CLI_RUNS.fetch_add(1, Ordering::Relaxed);
    let out_path = dir.join(format!("cli-{run}.out"));
    let err_path = dir.join(format!("cli-{run}.err"));
    let mut child = Command::new(garage_binary())
        .arg("-c")
        .arg(config)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + CLI_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let mut stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let _ = std::fs::remove_file(&out_path);
    let _ = std::fs::remove_file(&err_path);
    if status.is_none() {
        stderr.push_str(&format!("\n(killed after {CLI_TIMEOUT:?})"));
    }
    CliOutput {
        ok: status.is_some_and(|s| s.success()),
        stdout,
        stderr,
    }
}

impl Node {
    fn new(dir: PathBuf) -> Node {
        std::fs::create_dir_all(&dir).unwrap();
        Node {
            config: dir.join("garage.toml"),
            dir,
            ports: Ports::pick(),
            child: None,
            id: String::new(),
        }
    }

    fn write_config(&self, replication: usize, rpc_secret: &str) {
        let Ports { rpc, s3, admin } = self.ports;
        let dir = self.dir.display();
        let token = random_hex(16);
        let config = format!(
            "metadata_dir = \"{dir}/meta\"\n\
             data_dir = \"{dir}/data\"\n\
             db_engine = \"sqlite\"\n\
             replication_factor = {replication}\n\
             rpc_bind_addr = \"127.0.0.1:{rpc}\"\n\
             rpc_public_addr = \"127.0.0.1:{rpc}\"\n\
             rpc_secret = \"{rpc_secret}\"\n\
             [s3_api]\n\
             s3_region = \"{REGION}\"\n\
             api_bind_addr = \"127.0.0.1:{s3}\"\n\
             root_domain = \".s3.garage.localhost\"\n\
             [admin]\n\
             api_bind_addr = \"127.0.0.1:{admin}\"\n\
             admin_token = \"{token}\"\n"
        );
        std::fs::write(&self.config, config).unwrap();
    }

    fn cli(&self, args: &[&str]) -> CliOutput {
        cli_in(&self.dir, &self.config, args)
    }

    /// Starts `garage server` and waits until it answers `garage status` and its S3 port
    /// accepts connections.
    fn launch(&mut self) -> Result<(), StartError> {
        assert!(self.child.is_none(), "node already running");
        let log_path = self.dir.join("garage.log");
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .unwrap();
        // Only what this start writes counts (a restart appends to the same log).
        let log_start = log.metadata().unwrap().len();
        let child = Command::new(garage_binary())
            .arg("-c")
            .arg(&self.config)
            .arg("server")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let port_taken = || {
            let text = std::fs::read(&log_path).unwrap_or_default();
            let from = usize::try_from(log_start).unwrap().min(text.len());
            String::from_utf8_lossy(&text[from..]).contains(PORT_TAKEN)
        };
        let s3: SocketAddr = ([127, 0, 0, 1], self.ports.s3).into();
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let exited = self.child.as_mut().unwrap().try_wait().unwrap();
            if port_taken() {
                self.kill();
                return Err(StartError::PortTaken);
            }
            if let Some(status) = exited {
                self.child = None;
                panic!(
                    "garage server exited ({status}) before it was ready; log:\n{}",
                    log_tail(&self.dir)
                );
            }
            if self.cli(&["status"]).ok
                && TcpStream::connect_timeout(&s3, Duration::from_secs(1)).is_ok()
            {
                // The S3 listener fails after it logs that it listens: look once more.
                if port_taken() {
                    self.kill();
                    return Err(StartError::PortTaken);
                }
                return Ok(());
            }
            if Instant::now() > deadline {
                self.kill();
                panic!(
                    "garage did not answer `status` within {READY_TIMEOUT:?}; log:\n{}",
                    log_tail(&self.dir)
                );
            }
            std::thread::sleep(POLL);
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Writes the config and starts the node, with new ports when one is taken.
    fn first_start(&mut self, replication: usize, rpc_secret: &str) {
        for attempt in 1..=START_ATTEMPTS {
            self.write_config(replication, rpc_secret);
            match self.launch() {
                Ok(()) => return,
                Err(StartError::PortTaken) => {
                    eprintln!(
                        "[garage] a port of {:?} was taken (attempt {attempt}), trying new ones",
                        self.ports
                    );
                    // A fresh node: nothing of the failed start is kept.
                    let _ = std::fs::remove_dir_all(self.dir.join("meta"));
                    let _ = std::fs::remove_dir_all(self.dir.join("data"));
                    self.ports = Ports::pick();
                }
            }
        }
        panic!("garage could not get free loopback ports in {START_ATTEMPTS} attempts");
    }
}

/// The value after `label` on its line of the CLI's output.
fn field(text: &str, label: &str) -> Option<String> {
    text.lines()
        .find_map(|line| line.trim().strip_prefix(label))
        .map(|rest| rest.trim().to_string())
}

impl Garage {
    /// One node, replication factor 1.
    pub fn single() -> Garage {
        Garage::start(1)
    }

    /// `n` nodes on loopback with replication factor `n` (any one of three may be down).
    pub fn cluster(n: usize) -> Garage {
        assert!(n >= 1);
        Garage::start(n)
    }

    fn start(n: usize) -> Garage {
        let began = Instant::now();
        let root = tempfile::Builder::new()
            .prefix("backroom-garage-")
            .tempdir()
            .unwrap();
        let rpc_secret = random_hex(32);
        let mut garage = Garage {
            nodes: Vec::new(),
            bucket: format!("backroom-{}", random_hex(4)),
            key_id: String::new(),
            secret: String::new(),
            started_in: Duration::ZERO,
            _root: root,
        };
        for i in 0..n {
            let node = Node::new(garage._root.path().join(format!("node{i}")));
            // Pushed before it starts, so Drop kills it even if a later step panics.
            garage.nodes.push(node);
            let node = garage.nodes.last_mut().unwrap();
            node.first_start(n, &rpc_secret);
            let id = node.cli(&["node", "id"]);
            assert!(id.ok, "garage node id failed: {}", id.stderr);
            let full = id.stdout.lines().next().unwrap_or_default().trim();
            let (hex, _) = full
                .split_once('@')
                .unwrap_or_else(|| panic!("unexpected `node id` output: {}", id.stdout));
            node.id = hex.to_string();
        }
        for i in 1..n {
            let address = format!(
                "{}@127.0.0.1:{}",
                garage.nodes[i].id, garage.nodes[i].ports.rpc
            );
            garage.cli_ok(0, &["node", "connect", &address]);
        }
        garage.wait_connected(0, n);
        let mut assign = vec!["layout", "assign", "-z", "dc1", "-c", "1G"];
        let short: Vec<String> = garage
            .nodes
            .iter()
            .map(|n| n.id[..16].to_string())
            .collect();
        assign.extend(short.iter().map(String::as_str));
        garage.cli_ok(0, &assign);
        garage.cli_ok(0, &["layout", "apply", "--version", "1"]);
        for i in 0..n {
            garage.wait_healthy(i);
        }
        let bucket = garage.bucket.clone();
        garage.cli_ok(0, &["bucket", "create", &bucket]);
        let key = garage.cli_ok(0, &["key", "create", "backroom-test"]);
        garage.key_id = field(&key, "Key ID:").expect("no Key ID: in `key create` output");
        garage.secret = field(&key, "Secret key:").expect("no Secret key: in `key create` output");
        garage.cli_ok(
            0,
            &[
                "bucket",
                "allow",
                "--read",
                "--write",
                "--owner",
                &bucket,
                "--key",
                "backroom-test",
            ],
        );
        garage.started_in = began.elapsed();
        eprintln!(
            "[garage] {n} node(s) up with bucket and key in {:.2} s",
            garage.started_in.as_secs_f64()
        );
        garage
    }

    /// Runs a CLI command against node `i`; panics with its output if it fails.
    pub fn cli_ok(&self, i: usize, args: &[&str]) -> String {
        let out = self.nodes[i].cli(args);
        assert!(
            out.ok,
            "`garage {}` failed:\n{}\n{}",
            args.join(" "),
            out.stdout,
            out.stderr
        );
        out.stdout
    }

    /// Garage's own health view from node `i` (`GetClusterHealth` of the admin API), or None
    /// when the node does not answer.
    pub fn health(&self, i: usize) -> Option<serde_json::Value> {
        let out = self.nodes[i].cli(&["json-api", "GetClusterHealth"]);
        if !out.ok {
            return None;
        }
        serde_json::from_str(&out.stdout).ok()
    }

    fn wait_until(&self, what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + timeout;
        while !done() {
            assert!(
                Instant::now() < deadline,
                "garage: {what} not reached within {timeout:?}"
            );
            std::thread::sleep(POLL);
        }
    }

    fn wait_connected(&self, i: usize, n: usize) {
        self.wait_until(&format!("{n} nodes connected"), READY_TIMEOUT, || {
            self.health(i)
                .is_some_and(|h| h["connectedNodes"].as_u64() == Some(n as u64))
        });
    }

    /// Waits until node `i` sees every partition with all its copies (every node up, layout
    /// known everywhere).
    fn wait_healthy(&self, i: usize) {
        self.wait_until(&format!("node {i} healthy"), READY_TIMEOUT, || {
            self.health(i)
                .is_some_and(|h| h["status"].as_str() == Some("healthy"))
        });
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// `http://127.0.0.1:PORT` of node `i`'s S3 API.
    pub fn endpoint(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.nodes[i].ports.s3)
    }

    pub fn endpoints(&self) -> Vec<String> {
        (0..self.nodes.len()).map(|i| self.endpoint(i)).collect()
    }

    pub fn region(&self) -> &'static str {
        REGION
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// How long the nodes, layout, bucket and key took to come up.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// Settings for Backroom's S3 target on node `i` (path-style, as Garage wants).
    pub fn s3_config(&self, i: usize, prefix: &str) -> S3Config {
        S3Config {
            endpoint: self.endpoint(i),
            region: REGION.to_string(),
            bucket: self.bucket.clone(),
            prefix: prefix.to_string(),
            path_style: true,
            allow_http: true,
            access_key_id: self.key_id.clone(),
            secret_access_key: self.secret.clone(),
        }
    }

    pub fn is_running(&self, i: usize) -> bool {
        self.nodes[i].child.is_some()
    }

    /// Kills node `i` (like a machine that drops off) and waits until it is gone.
    pub fn stop_node(&mut self, i: usize) {
        self.nodes[i].kill();
    }

    /// Waits until every running node sees node `i` as gone (Garage's `connectedNodes`);
    /// returns how long that took. A request that fails on the dead connection shows it at
    /// once; otherwise only failed pings do (5 × 15 s in garage_net), hence the long deadline.
    pub fn wait_seen_down(&self, i: usize) -> Duration {
        assert!(!self.is_running(i), "node {i} is running");
        let began = Instant::now();
        let running = self.nodes.iter().filter(|n| n.child.is_some()).count() as u64;
        for j in (0..self.nodes.len()).filter(|&j| self.is_running(j)) {
            self.wait_until(
                &format!("node {j} sees node {i} down"),
                SEEN_DOWN_TIMEOUT,
                || {
                    self.health(j)
                        .is_some_and(|h| h["connectedNodes"].as_u64() == Some(running))
                },
            );
        }
        began.elapsed()
    }

    /// Starts a stopped node again on the same folder and ports and waits until it answers;
    /// when every node runs again, also until each node sees a healthy cluster. Garage's other
    /// nodes retry a lost peer only every 30 s (`CONN_RETRY_INTERVAL` in garage_net), so they
    /// are told to `node connect` to it, as an operator would; left alone, the cluster took
    /// ~28 s here to be healthy again. Returns how long the node took to answer and how long
    /// until the cluster was healthy.
    pub fn start_node(&mut self, i: usize) -> (Duration, Duration) {
        let began = Instant::now();
        if let Err(StartError::PortTaken) = self.nodes[i].launch() {
            panic!(
                "node {i} cannot restart: one of its ports {:?} was taken meanwhile",
                self.nodes[i].ports
            );
        }
        let answered = began.elapsed();
        let address = format!("{}@127.0.0.1:{}", self.nodes[i].id, self.nodes[i].ports.rpc);
        for j in (0..self.nodes.len()).filter(|&j| j != i && self.is_running(j)) {
            self.wait_until(
                &format!("node {j} connects to node {i}"),
                READY_TIMEOUT,
                || self.nodes[j].cli(&["node", "connect", &address]).ok,
            );
        }
        if self.nodes.iter().all(|n| n.child.is_some()) {
            for j in 0..self.nodes.len() {
                self.wait_healthy(j);
            }
        }
        (answered, began.elapsed())
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
    }
}
