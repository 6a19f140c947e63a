//! What the scrub costs (not a test). Run with `scripts/bench.sh scrub`.
//!
//! Makes BENCH_SCRUB_BACKUPS (3) backups of a generated database (BENCH_DB_MB, 1024 MiB) with
//! the release binary, then times the library's scrub over them (every backup re-hashed
//! against its record, on a lowered-priority thread as the server runs it) against Debian's
//! `sha256sum` over the same files, and the p50/p99 of the server's `/login` page while idle
//! and while a scrub runs. Printed, never asserted: it depends on the disk and the cache.

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use backroom::backup::BackupFolder;
use backroom::config::{Paths, Settings};

#[path = "common/mod.rs"]
mod common;
use common::{Result, env_or, median, ms, percentile, run, setup_with_data};

fn main() -> Result<()> {
    let (s, data, _scratch) = setup_with_data("scrub-data", "scrub-scratch")?;
    let backups: usize = env_or("BENCH_SCRUB_BACKUPS", 3);
    common::clear_backups(&data)?;
    for i in 0..backups {
        run(Command::new(&s.exe).arg("--data-dir").arg(&data).args([
            "backup",
            "create",
            "-d",
            &format!("scrub bench {i}"),
        ]))?;
    }
    let paths = Paths::new(&data);
    let engine = BackupFolder::new(paths.clone(), Arc::new(RwLock::new(Settings::default())));
    let files: Vec<std::path::PathBuf> = engine.list()?.into_iter().map(|e| e.path).collect();
    let total_mb: f64 = files.iter().map(|p| common::file_mb(p)).sum();

    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..s.rounds {
        let start = Instant::now();
        let found = scrub_low_priority(&engine)?;
        ours.push(start.elapsed().as_secs_f64());
        if !found.is_empty() {
            return Err(format!("the scrub found damage in a fresh backup: {found:?}").into());
        }
        theirs.push(run(Command::new("sha256sum").args(&files))?.as_secs_f64());
    }
    let (ours, theirs) = (median(ours), median(theirs));
    println!(
        "== Scrub: {} backups, {total_mb:.0} MiB in all (median of {} rounds) ==",
        files.len(),
        s.rounds
    );
    println!(
        "  Backroom scrub {ours:>6.2} s ({:>6.0} MiB/s)   sha256sum {theirs:>6.2} s ({:>6.0} MiB/s)   ratio {:.2}x",
        total_mb / ours,
        total_mb / theirs,
        ours / theirs
    );

    let (idle, busy) = page_latency(&s.exe, &data, &engine)?;
    println!(
        "== /login while idle and while a scrub runs ({} requests each) ==",
        idle.len()
    );
    for (what, v) in [("idle", &idle), ("scrubbing", &busy)] {
        println!(
            "  {what:<10} p50 {:>7.2} ms  p99 {:>7.2} ms",
            ms(percentile(v, 0.5)),
            ms(percentile(v, 0.99))
        );
    }
    println!(
        "  scrubbing/idle: p50 {:.2}x, p99 {:.2}x",
        ms(percentile(&busy, 0.5)) / ms(percentile(&idle, 0.5)).max(1e-9),
        ms(percentile(&busy, 0.99)) / ms(percentile(&idle, 0.99)).max(1e-9)
    );
    Ok(())
}

/// The scrub on a thread with lowered priority, as the server's off-site worker runs it.
fn scrub_low_priority(engine: &BackupFolder) -> Result<Vec<String>> {
    let cancel = AtomicBool::new(false);
    let found = backroom::backup::copy::low_priority(|| engine.scrub(&cancel))?;
    Ok(found.damaged)
}

fn get_login(port: u16) -> Result<Duration> {
    let start = Instant::now();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.write_all(b"GET /login HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    if !answer.starts_with("HTTP/1.1 200") {
        return Err(format!("/login answered {}", answer.lines().next().unwrap_or("")).into());
    }
    Ok(start.elapsed())
}

/// /login timings with the server idle, then with scrubs running beside it.
fn page_latency(
    exe: &Path,
    data: &Path,
    engine: &BackupFolder,
) -> Result<(Vec<Duration>, Vec<Duration>)> {
    let requests: usize = env_or("BENCH_PAGE_REQUESTS", 300);
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut server = Command::new(exe)
        .arg("--data-dir")
        .arg(data)
        .args(["--port", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let result = (|| {
        // Idle means after the server's own start-up work: its startup backup and the
        // start-up scrub, which logs when it is done.
        let log = data.join("database_backups/backup.log");
        let seen = std::fs::read_to_string(&log)
            .unwrap_or_default()
            .matches("Stored backups checked")
            .count();
        let deadline = Instant::now() + Duration::from_secs(600);
        while get_login(port).is_err()
            || std::fs::read_to_string(&log)
                .unwrap_or_default()
                .matches("Stored backups checked")
                .count()
                == seen
        {
            if Instant::now() > deadline {
                return Err("the server's start-up work did not finish within 600 s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut idle: Vec<Duration> = (0..requests)
            .map(|_| get_login(port))
            .collect::<Result<_>>()?;
        let stop = Arc::new(AtomicBool::new(false));
        let scrubber = {
            let stop = stop.clone();
            let engine = engine.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let _ = scrub_low_priority(&engine);
                }
            })
        };
        let mut busy = Vec::with_capacity(requests);
        for _ in 0..requests {
            busy.push(get_login(port)?);
        }
        stop.store(true, Ordering::SeqCst);
        let _ = scrubber.join();
        idle.sort();
        busy.sort();
        Ok((idle, busy))
    })();
    let _ = server.kill();
    let _ = server.wait();
    result
}
