//! Off-site copy benchmark (not a test). Run with `scripts/bench.sh offsite`, which installs
//! age, zstd, GNU time and the AWS CLI when missing and builds the release binary first.
//!
//! On the generated business database (~1 GiB by default) it prints, as medians of per-round
//! ratios with the two sides alternating and earlier outputs deleted before each timed run:
//! - `backroom offsite push` to a folder target against `zstd -3 -T0 | age -r KEY > file` + `sync`;
//! - the same push to a local single-node Garage against `zstd -3 -T0 | age -r KEY | aws s3 cp -`;
//! - the size of the copy against the plain backup and against the standard pipeline's output;
//! - the peak RSS of the push;
//! - page latency (p50/p99) on a running server, idle and while it sends a copy itself;
//! - a new computer: a fresh install from its first page to signed in with the data brought
//!   back from Garage (a ~100 MiB shop, BENCH_NEW_COMPUTER_MB).
//!
//! Environment: BENCH_DB_MB (1024), BENCH_ROUNDS (3), BENCH_DIR (target/bench-data),
//! BENCH_IDLE_SECS (10), BENCH_PARTS (`folder,garage,pages,newcomputer`: which parts to run).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[path = "common/mod.rs"]
mod common;
// Test support (the tests' Garage harness): panics are its way to fail.
#[allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#[path = "../tests/it/garage.rs"]
mod garage;

use common::{
    Result, env_or, file_mb, generate, median, ms, percentile, run, setup_with_data, sh,
    timed_with_rss,
};

const PASSWORD: &str = "bench-counter-2026";
/// How long a copy of the benchmark database may take before the run gives up.
const PUSH_DEADLINE: Duration = Duration::from_secs(600);

fn backroom(exe: &Path, data: &Path) -> Command {
    let mut cmd = Command::new(exe);
    cmd.arg("--data-dir").arg(data);
    cmd
}

/// The newest `.db` in the backup folder.
fn newest_backup(data: &Path) -> Result<PathBuf> {
    let mut all: Vec<PathBuf> = std::fs::read_dir(data.join("database_backups"))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "db"))
        .collect();
    all.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    all.pop().ok_or_else(|| "no backup was made".into())
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

struct Pushes {
    ours: Vec<f64>,
    theirs: Vec<f64>,
    rss_kb: Vec<f64>,
    copy_mb: f64,
    tool_mb: f64,
}

impl Pushes {
    fn summary(&self, title: &str, tool: &str) -> String {
        let ratios: Vec<f64> = self
            .ours
            .iter()
            .zip(&self.theirs)
            .map(|(o, t)| o / t)
            .collect();
        format!(
            "== Push to {title} ({} rounds, medians) ==\n  backroom offsite push: {:.2} s; {tool}: {:.2} s\n  ratio: {:.2}x   (goal <= 1.0x)\n  peak RSS of the push: {:.1} MiB   (goal < 64 MiB)\n  copy on the target: {:.1} MiB",
            self.ours.len(),
            median(self.ours.clone()),
            median(self.theirs.clone()),
            median(ratios),
            median(self.rss_kb.clone()) / 1024.0,
            self.copy_mb,
        )
    }
}

/// One timed push of `backup` to a fresh target made by `add` (outside the timing), then
/// the standard pipeline `tool` (alternating which goes first).
fn push_rounds(
    exe: &Path,
    data: &Path,
    backup: &Path,
    rounds: usize,
    mut add: impl FnMut(usize) -> Result<String>,
    mut copy_size: impl FnMut(usize) -> Result<f64>,
    mut tool: impl FnMut(usize) -> Result<(Duration, f64)>,
) -> Result<Pushes> {
    let mut p = Pushes {
        ours: Vec::new(),
        theirs: Vec::new(),
        rss_kb: Vec::new(),
        copy_mb: 0.0,
        tool_mb: 0.0,
    };
    for round in 0..rounds {
        let sides: [bool; 2] = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for ours_side in sides {
            if ours_side {
                let name = add(round)?;
                let (took, rss) = timed_with_rss(
                    backroom(exe, data)
                        .args(["offsite", "push"])
                        .arg(file_name(backup)),
                )?;
                p.ours.push(took.as_secs_f64());
                p.rss_kb.push(rss);
                p.copy_mb = copy_size(round)?;
                run(backroom(exe, data).args(["offsite", "remove", &name]))?;
            } else {
                let (took, mb) = tool(round)?;
                p.theirs.push(took.as_secs_f64());
                p.tool_mb = mb;
            }
        }
        println!(
            "round {round}: backroom {:.2} s (peak RSS {:.1} MiB) | standard tools {:.2} s",
            p.ours[round],
            p.rss_kb[round] / 1024.0,
            p.theirs[round]
        );
    }
    Ok(p)
}

fn main() -> Result<()> {
    let (
        common::Setup {
            exe, rounds, work, ..
        },
        data,
        scratch,
    ) = setup_with_data("offsite-data", "offsite-scratch")?;
    for stale in ["offsite.key", "offsite-secrets.toml", "offsite-state.json"] {
        let _ = std::fs::remove_file(data.join(stale));
    }
    let _ = std::fs::remove_dir_all(data.join("database_backups"));
    std::fs::write(
        data.join("backroom.toml"),
        "interval_hours = 0\nmax_backups = 100\n",
    )?;

    // The backup every push sends, and the key (from a first target's emergency kit).
    run(backroom(&exe, &data).args(["backup", "create"]))?;
    let backup = newest_backup(&data)?;
    let stem = file_name(&backup).trim_end_matches(".db").to_string();
    let plain_mb = file_mb(&backup);
    run(backroom(&exe, &data)
        .args(["offsite", "add", "keymaker", "--folder"])
        .arg(scratch.join("keymaker")))?;
    let kit = backroom(&exe, &data).args(["offsite", "kit"]).output()?;
    let secret = String::from_utf8_lossy(&kit.stdout)
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .ok_or("the kit has no AGE-SECRET-KEY line")?
        .to_string();
    let identity = scratch.join("identity.txt");
    std::fs::write(&identity, format!("{secret}\n"))?;
    let recipient = String::from_utf8(
        Command::new("age-keygen")
            .arg("-y")
            .arg(&identity)
            .output()?
            .stdout,
    )?
    .trim()
    .to_string();
    run(backroom(&exe, &data).args(["offsite", "remove", "keymaker"]))?;
    sh(&format!("cat '{}' > /dev/null", backup.display()))?;
    println!("backup {} ({plain_mb:.0} MiB)", file_name(&backup));

    let parts =
        std::env::var("BENCH_PARTS").unwrap_or_else(|_| "folder,garage,pages,newcomputer".into());
    let part = |name: &str| parts.split(',').any(|p| p.trim() == name);

    // 1. Folder target against zstd | age > file + sync.
    if part("folder") {
        let folder = |round: usize| scratch.join(format!("folder-{round}"));
        let std_out = scratch.join("standard.db.zst.age");
        let folder_pushes = push_rounds(
            &exe,
            &data,
            &backup,
            rounds,
            |round| {
                let name = format!("folder-{round}");
                let _ = std::fs::remove_dir_all(folder(round));
                run(backroom(&exe, &data)
                    .args(["offsite", "add", &name, "--folder"])
                    .arg(folder(round)))?;
                Ok(name)
            },
            |round| {
                let copy = folder(round).join(format!("{stem}.db.zst.age"));
                let size = file_mb(&copy);
                let _ = std::fs::remove_dir_all(folder(round));
                Ok(size)
            },
            |_| {
                let _ = std::fs::remove_file(&std_out);
                let took = sh(&format!(
                    "zstd -3 -T0 -q -c '{}' | age -r {recipient} > '{}' && sync",
                    backup.display(),
                    std_out.display()
                ))?;
                let size = file_mb(&std_out);
                let _ = std::fs::remove_file(&std_out);
                Ok((took, size))
            },
        )?;
        println!(
            "{}",
            folder_pushes.summary("a folder target", "zstd | age > file + sync")
        );
        println!(
            "== Size ==\n  copy / plain backup: {:.3} ({:.1} MiB of {plain_mb:.0} MiB); copy / standard pipeline: {:.3}",
            folder_pushes.copy_mb / plain_mb,
            folder_pushes.copy_mb,
            folder_pushes.copy_mb / folder_pushes.tool_mb
        );
    }

    // 2. Local Garage against zstd | age | aws s3 cp -.
    if part("garage") {
        let store = garage::Garage::single();
        let aws_config = scratch.join("aws-config");
        std::fs::write(
            &aws_config,
            format!(
                "[default]\nregion = {}\ns3 =\n  addressing_style = path\n  multipart_chunksize = 8MB\n",
                store.region()
            ),
        )?;
        let aws = |args: &str| -> Result<Duration> {
            sh(&format!(
                "AWS_CONFIG_FILE='{}' AWS_ACCESS_KEY_ID='{}' AWS_SECRET_ACCESS_KEY='{}' aws --endpoint-url {} {args}",
                aws_config.display(),
                store.key_id(),
                store.secret(),
                store.endpoint(0)
            ))
        };
        let garage_pushes = push_rounds(
            &exe,
            &data,
            &backup,
            rounds,
            |round| {
                let name = format!("garage-{round}");
                run(backroom(&exe, &data)
                    .env("BACKROOM_S3_ACCESS_KEY_ID", store.key_id())
                    .env("BACKROOM_S3_SECRET_ACCESS_KEY", store.secret())
                    .args([
                        "offsite",
                        "add",
                        &name,
                        "--s3",
                        "--path-style",
                        "--allow-http",
                    ])
                    .args(["--endpoint", &store.endpoint(0)])
                    .args(["--region", store.region()])
                    .args(["--bucket", store.bucket()])
                    .args(["--prefix", &format!("bench/{round}")]))?;
                Ok(name)
            },
            |round| {
                let listing = Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "AWS_CONFIG_FILE='{}' AWS_ACCESS_KEY_ID='{}' AWS_SECRET_ACCESS_KEY='{}' aws --endpoint-url {} s3 ls --recursive s3://{}/bench/{round}/",
                    aws_config.display(),
                    store.key_id(),
                    store.secret(),
                    store.endpoint(0),
                    store.bucket()
                ))
                .output()?;
                let size = String::from_utf8_lossy(&listing.stdout)
                    .lines()
                    .find(|l| l.ends_with(".db.zst.age"))
                    .and_then(|l| l.split_whitespace().nth(2))
                    .and_then(|s| s.parse::<f64>().ok())
                    .unwrap_or(f64::NAN);
                aws(&format!(
                    "s3 rm --recursive --quiet s3://{}/bench/{round}/",
                    store.bucket()
                ))?;
                Ok(size / 1_048_576.0)
            },
            |round| {
                let key = format!("s3://{}/standard/{round}.db.zst.age", store.bucket());
                let took = sh(&format!(
                    "zstd -3 -T0 -q -c '{}' | age -r {recipient} | AWS_CONFIG_FILE='{}' AWS_ACCESS_KEY_ID='{}' AWS_SECRET_ACCESS_KEY='{}' aws --endpoint-url {} s3 cp --quiet - {key}",
                    backup.display(),
                    aws_config.display(),
                    store.key_id(),
                    store.secret(),
                    store.endpoint(0)
                ))?;
                aws(&format!("s3 rm --quiet {key}"))?;
                Ok((took, f64::NAN))
            },
        )?;
        println!(
            "{}",
            garage_pushes.summary("local Garage (one node)", "zstd | age | aws s3 cp -")
        );
        drop(store);
    }

    // 3. Pages on a running server, idle and while it sends a copy.
    if part("pages") {
        println!("{}", pages_during_push(&exe, &data, &scratch)?);
    }

    // 4. A new computer: from a fresh install's first page to signed in with the data.
    if part("newcomputer") {
        println!("{}", new_computer(&exe, &work)?);
    }
    Ok(())
}

/// Starts the server with a folder target, signs in, and times page requests while idle and
/// while the server itself sends a new backup off-site.
fn pages_during_push(exe: &Path, data: &Path, scratch: &Path) -> Result<String> {
    let idle_secs: u64 = env_or("BENCH_IDLE_SECS", 10);
    let target = scratch.join("served");
    let _ = std::fs::remove_dir_all(&target);
    run(backroom(exe, data)
        .args(["offsite", "add", "served", "--folder"])
        .arg(&target))?;
    add_user(exe, data, "bench", "admin")?;
    let (server, base, http) = start_server(exe, data)?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let login_page = loop {
        match http.get(format!("{base}/login")).send() {
            Ok(r) if r.status().is_success() => break r.text()?,
            _ if Instant::now() > deadline => return Err("the server did not start".into()),
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    let token = csrf_of(&login_page)?;
    let signed_in = http
        .post(format!("{base}/login"))
        .form(&[
            ("username", "bench"),
            ("password", PASSWORD),
            ("next", "/"),
            ("csrf_token", &token),
        ])
        .send()?;
    if !signed_in.url().path().eq("/") {
        return Err(format!("sign-in failed: ended on {}", signed_in.url()).into());
    }
    // The startup backup goes off-site first; wait for it so "idle" is idle.
    let copies = |dir: &Path| {
        std::fs::read_dir(dir)
            .map(|r| {
                r.flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
                    .count()
            })
            .unwrap_or(0)
    };
    let local = || {
        std::fs::read_dir(data.join("database_backups"))
            .map(|r| {
                r.flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".db"))
                    .count()
            })
            .unwrap_or(0)
    };
    wait_until(|| copies(&target) >= local())?;

    let sample = |until: &dyn Fn() -> bool| -> Result<Vec<Duration>> {
        let mut times = Vec::new();
        let started = Instant::now();
        let mut i = 0usize;
        while !until() {
            if started.elapsed() > PUSH_DEADLINE {
                return Err("no end to the sampling".into());
            }
            let path = if i.is_multiple_of(2) {
                "/"
            } else {
                "/products"
            };
            i += 1;
            let t = Instant::now();
            let r = http.get(format!("{base}{path}")).send()?;
            let _ = r.bytes()?;
            times.push(t.elapsed());
            // A few people at the counter, not a load test.
            std::thread::sleep(Duration::from_millis(20));
        }
        times.sort();
        Ok(times)
    };
    let idle_end = Instant::now() + Duration::from_secs(idle_secs);
    let idle = sample(&|| Instant::now() > idle_end)?;

    let before = copies(&target);
    let made = Arc::new(AtomicBool::new(false));
    let maker = {
        let made = made.clone();
        let mut cmd = backroom(exe, data);
        cmd.args(["backup", "create"]).stdout(Stdio::null());
        std::thread::spawn(move || {
            let ok = cmd.status().is_ok_and(|s| s.success());
            made.store(true, Ordering::SeqCst);
            ok
        })
    };
    // The local backup itself is measured by benches/backup.rs: start once it is made.
    let _ = sample(&|| made.load(Ordering::SeqCst))?;
    if !maker.join().unwrap_or(false) {
        return Err("backup create failed while the server ran".into());
    }
    let push_start = Instant::now();
    let busy = sample(&|| copies(&target) > before)?;
    let push_secs = push_start.elapsed().as_secs_f64();
    drop(server);
    let line = |name: &str, v: &[Duration]| {
        format!(
            "  {name:<28} {:>5} pages  p50 {:>6.1} ms  p99 {:>6.1} ms",
            v.len(),
            ms(percentile(v, 0.5)),
            ms(percentile(v, 0.99))
        )
    };
    Ok(format!(
        "== Pages while the server sends a copy ==\n{}\n{}\n  the server's push took {push_secs:.1} s; p99 during/idle: {:.2}x   (goal <= 2x)",
        line("idle", &idle),
        line("during the push", &busy),
        ms(percentile(&busy, 0.99)) / ms(percentile(&idle, 0.99)).max(1e-9)
    ))
}

/// Adds a user with the benchmark's password (one left from an earlier run is fine).
fn add_user(exe: &Path, data: &Path, name: &str, role: &str) -> Result<()> {
    let mut child = backroom(exe, data)
        .args(["user", "add", name, "--role", role])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        writeln!(stdin, "{PASSWORD}")?;
    }
    let _ = child.wait()?;
    Ok(())
}

/// Starts the server on a free port (off-site rounds every 200 ms); returns it, its address
/// and a client that keeps cookies.
fn start_server(exe: &Path, data: &Path) -> Result<(Server, String, reqwest::blocking::Client)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let server = Server(
        backroom(exe, data)
            .args(["--port", &port.to_string()])
            .env("BACKROOM_OFFSITE_POLL_MS", "200")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::blocking::Client::builder()
        .cookie_store(true)
        .timeout(PUSH_DEADLINE)
        .build()?;
    Ok((server, format!("http://127.0.0.1:{port}"), http))
}

/// The CSRF token of a page.
fn csrf_of(page: &str) -> Result<String> {
    let marker = "name=\"csrf-token\" content=\"";
    Ok(page
        .split_once(marker)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(t, _)| t.to_string())
        .ok_or("no CSRF token on the page")?)
}

/// A value="..." after `after` in a page.
fn value_after(page: &str, after: &str) -> Result<String> {
    let (_, rest) = page.split_once(after).ok_or("not on the page")?;
    let (_, rest) = rest.split_once("value=\"").ok_or("no value")?;
    Ok(rest
        .split_once('"')
        .map(|(v, _)| v.to_string())
        .unwrap_or_default())
}

/// Install A (a ~100 MiB shop, `BENCH_NEW_COMPUTER_MB`) sends a copy to a local Garage; a
/// fresh install B is timed from its first page to signed in with A's data, through the
/// first-run page's "Bring back my data" from the bucket.
fn new_computer(exe: &Path, work: &Path) -> Result<String> {
    let mb: u64 = env_or("BENCH_NEW_COMPUTER_MB", 100);
    let a = work.join("newcomputer-a");
    generate(&a, mb, exe)?;
    for stale in [
        "offsite.key",
        "offsite-secrets.toml",
        "offsite-state.json",
        "backroom.toml",
    ] {
        let _ = std::fs::remove_file(a.join(stale));
    }
    let _ = std::fs::remove_dir_all(a.join("database_backups"));
    add_user(exe, &a, "owner", "super-admin")?;
    let store = garage::Garage::single();
    let s3 = |cmd: &mut Command| {
        cmd.env("BACKROOM_S3_ACCESS_KEY_ID", store.key_id())
            .env("BACKROOM_S3_SECRET_ACCESS_KEY", store.secret());
    };
    let mut add = backroom(exe, &a);
    s3(&mut add);
    run(add
        .args([
            "offsite",
            "add",
            "shop",
            "--s3",
            "--path-style",
            "--allow-http",
        ])
        .args(["--endpoint", &store.endpoint(0)])
        .args(["--region", store.region()])
        .args(["--bucket", store.bucket()])
        .args(["--prefix", "newcomputer"]))?;
    run(backroom(exe, &a).args(["backup", "create"]))?;
    let backup = newest_backup(&a)?;
    run(backroom(exe, &a)
        .args(["offsite", "push"])
        .arg(file_name(&backup)))?;
    let kit = String::from_utf8(backroom(exe, &a).args(["offsite", "kit"]).output()?.stdout)?;
    let a_products: i64 = rusqlite::Connection::open(&backup)?.query_row(
        "SELECT count(*) FROM products",
        [],
        |r| r.get(0),
    )?;

    let b = work.join("newcomputer-b");
    let _ = std::fs::remove_dir_all(&b);
    std::fs::create_dir_all(&b)?;
    let (server, base, http) = start_server(exe, &b)?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let (first_page, started) = loop {
        let t = Instant::now();
        match http.get(format!("{base}/")).send() {
            Ok(r) if r.status().is_success() => break (r.text()?, t),
            _ if Instant::now() > deadline => return Err("B did not start".into()),
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    let token = csrf_of(&first_page)?;
    let endpoint = store.endpoint(0);
    let listed = http
        .post(format!("{base}/first-run/connect"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("kind", "s3"),
            ("name", "shop"),
            ("endpoint", &endpoint),
            ("region", store.region()),
            ("bucket", store.bucket()),
            ("prefix", "newcomputer"),
            ("path_style", "1"),
            ("allow_http", "1"),
            ("access_key_id", store.key_id()),
            ("secret_access_key", store.secret()),
            ("kit", &kit),
        ])
        .send()?
        .text()?;
    let copy = value_after(&listed, "name=\"copy\"")?;
    let pick = value_after(&listed, "name=\"token\"")?;
    let connected = started.elapsed();
    let login_page = http
        .post(format!("{base}/first-run/restore"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("token", &pick),
            ("copy", &copy),
        ])
        .send()?
        .text()?;
    if !login_page.contains("Your data is back") {
        return Err("the bring-back did not end on the login page".into());
    }
    let restored = started.elapsed();
    let signed_in = http
        .post(format!("{base}/login"))
        .form(&[
            ("csrf_token", csrf_of(&login_page)?.as_str()),
            ("username", "owner"),
            ("password", PASSWORD),
            ("next", "/"),
        ])
        .send()?;
    if signed_in.url().path() != "/" {
        return Err(format!("sign-in on B failed: ended on {}", signed_in.url()).into());
    }
    let total = started.elapsed();
    drop(server);
    let b_products: i64 = rusqlite::Connection::open(b.join("business_data.db"))?.query_row(
        "SELECT count(*) FROM products",
        [],
        |r| r.get(0),
    )?;
    if a_products != b_products {
        return Err(format!("B has {b_products} products, A had {a_products}").into());
    }
    Ok(format!(
        "== A new computer ({:.0} MiB database, local Garage) ==\n  B's first page to the copy list: {:.2} s; to the data restored: {:.2} s; to signed in: {:.2} s",
        file_mb(&backup),
        connected.as_secs_f64(),
        restored.as_secs_f64(),
        total.as_secs_f64()
    ))
}

fn wait_until(done: impl Fn() -> bool) -> Result<()> {
    let deadline = Instant::now() + PUSH_DEADLINE;
    while !done() {
        if Instant::now() > deadline {
            return Err("gave up waiting for the off-site copy".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// The server, stopped with SIGTERM (and waited for) when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: signalling our own child.
        #[allow(unsafe_code)]
        unsafe {
            libc::kill(self.0.id() as i32, libc::SIGTERM);
        }
        let _ = self.0.wait();
    }
}
