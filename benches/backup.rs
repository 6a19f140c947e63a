//! Backup and restore benchmark (not a test). Run with `scripts/bench.sh`, which installs
//! sqlite3/openssl/time and builds the release binary first.
//!
//! On a generated business database (~1 GiB by default, WAL mode) it prints, as medians of
//! per-round ratios with the two sides alternating and previous outputs deleted before each
//! timed run:
//! - `backroom backup create` against `sqlite3 .backup`, against `.backup` + `quick_check` +
//!   `openssl dgst -sha256` (the same work with standard tools), and against `cp` + `sync`;
//! - the copy step alone against `sqlite3 .backup` on an idle database;
//! - the peak RSS of `backroom backup create`;
//! - the latency of a writer committing small transactions, idle, during a backup and in the
//!   minute after it;
//! - a restore against `cp` + `sync` and against the standard tools in sequence, with the
//!   longest wait a page request saw during the restore.
//!
//! Environment: BENCH_DB_MB (1024), BENCH_ROUNDS (3), BENCH_DIR (target/bench-data),
//! BENCH_AFTER_SECS (60), BENCH_WRITER_PAUSE_US (1000).

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use backroom::backup::{BackupEngine, CreateRequest, Phase, RestoreOptions};
use backroom::config::{Paths, Settings};
use backroom::db::{Db, DbError, DbOptions};

#[path = "common/mod.rs"]
mod common;
use common::{
    Result, clear_backups, env_or, file_mb, median, ms, percentile, run, setup_with_data, sh,
    timed_with_rss,
};

fn main() -> Result<()> {
    let (common::Setup { exe, rounds, .. }, data, scratch) = setup_with_data("data", "scratch")?;
    let db = data.join("business_data.db");
    std::fs::write(
        data.join("backroom.toml"),
        "interval_hours = 0\nmax_backups = 100\n",
    )?;
    let out = |name: &str| scratch.join(name);
    sh(&format!("cat '{}' > /dev/null", db.display()))?;

    // 1. The verified backup against standard tools.
    let (mut vs_backup, mut vs_tools, mut vs_cp) = (Vec::new(), Vec::new(), Vec::new());
    let mut ours_times = Vec::new();
    for round in 0..rounds {
        let mut ours = Duration::ZERO;
        let mut tool_backup = Duration::ZERO;
        let mut tool_full = Duration::ZERO;
        let mut cp = Duration::ZERO;
        let order: Vec<u8> = if round % 2 == 0 {
            vec![0, 1, 2, 3]
        } else {
            vec![3, 2, 1, 0]
        };
        for side in order {
            let _ = std::fs::remove_file(out("x.db"));
            clear_backups(&data)?;
            match side {
                0 => {
                    ours = run(Command::new(&exe)
                        .arg("--data-dir")
                        .arg(&data)
                        .args(["backup", "create"]))?
                }
                1 => {
                    tool_backup = sh(&format!(
                        "sqlite3 '{}' \".backup '{}'\"",
                        db.display(),
                        out("x.db").display()
                    ))?
                }
                2 => {
                    tool_full = sh(&format!(
                        "sqlite3 '{db}' \".backup '{x}'\" && sqlite3 '{x}' 'PRAGMA quick_check' >/dev/null && openssl dgst -sha256 '{x}' >/dev/null",
                        db = db.display(),
                        x = out("x.db").display()
                    ))?
                }
                _ => {
                    cp = sh(&format!(
                        "cp '{}' '{}' && sync",
                        db.display(),
                        out("x.db").display()
                    ))?
                }
            }
        }
        vs_backup.push(ours.as_secs_f64() / tool_backup.as_secs_f64());
        vs_tools.push(ours.as_secs_f64() / tool_full.as_secs_f64());
        vs_cp.push(ours.as_secs_f64() / cp.as_secs_f64());
        ours_times.push(ours.as_secs_f64());
        println!(
            "round {round}: backroom backup create {:.2} s | sqlite3 .backup {:.2} s | .backup+quick_check+sha256 {:.2} s | cp+sync {:.2} s",
            ours.as_secs_f64(),
            tool_backup.as_secs_f64(),
            tool_full.as_secs_f64(),
            cp.as_secs_f64()
        );
    }

    // 2. Peak RSS of the CLI backup.
    clear_backups(&data)?;
    let (_, rss_kb) = timed_with_rss(
        Command::new(&exe)
            .arg("--data-dir")
            .arg(&data)
            .args(["backup", "create"]),
    )?;

    // 3. The copy step alone (same API as .backup) on an idle database.
    let mut copy_ratio = Vec::new();
    for round in 0..rounds {
        let mut ours = Duration::ZERO;
        let mut theirs = Duration::ZERO;
        for side in if round % 2 == 0 { [0, 1] } else { [1, 0] } {
            let _ = std::fs::remove_file(out("copy.db"));
            if side == 0 {
                let mut conn = rusqlite::Connection::open(&db)?;
                let start = Instant::now();
                let hooks = backroom::backup::copy::CopyHooks {
                    cancel: &AtomicBool::new(false),
                    on_snapshot: &mut || {},
                    on_progress: &mut |_, _| {},
                };
                backroom::backup::copy::snapshot_copy(&mut conn, &out("copy.db"), hooks)?;
                ours = start.elapsed();
            } else {
                theirs = sh(&format!(
                    "sqlite3 '{}' \".backup '{}'\"",
                    db.display(),
                    out("copy.db").display()
                ))?;
            }
        }
        copy_ratio.push(ours.as_secs_f64() / theirs.as_secs_f64());
    }
    let _ = std::fs::remove_file(out("copy.db"));

    // 4. A writer committing small transactions: idle, during a backup, and after it.
    clear_backups(&data)?;
    let writer_report = writer_latency(&data)?;

    // 5. Restore.
    let restore_report = restore_bench(&data, &scratch, rounds)?;

    // 6. From start to the first served page (the startup backup runs in the background).
    let mut startup_ms = Vec::new();
    for _ in 0..rounds {
        clear_backups(&data)?;
        startup_ms.push(ms(time_to_first_page(&exe, &data)?));
    }

    println!();
    println!(
        "== Backup of a {:.0} MiB database ({rounds} rounds, medians of ratios) ==",
        file_mb(&db)
    );
    println!("backroom backup create: median {:.2} s", median(ours_times));
    println!(
        "  vs sqlite3 .backup:                         {:.2}x",
        median(vs_backup)
    );
    println!(
        "  vs .backup + quick_check + openssl sha256:  {:.2}x   (target <= 0.80x)",
        median(vs_tools)
    );
    println!(
        "  vs cp + sync (the floor):                   {:.2}x",
        median(vs_cp)
    );
    println!(
        "copy step alone vs sqlite3 .backup (idle):     {:.2}x   (target <= 1.00x)",
        median(copy_ratio)
    );
    println!(
        "peak RSS of backroom backup create:           {:.1} MiB   (target < 64 MiB)",
        rss_kb / 1024.0
    );
    println!("{writer_report}");
    println!("{restore_report}");
    println!(
        "== Start ==\n  from start to the first served page: median {:.0} ms (target < 300 ms); release binary {:.1} MiB (target < 15 MiB)",
        median(startup_ms),
        file_mb(&exe)
    );
    Ok(())
}

/// Starts the server and asks for /login until it answers 200.
fn time_to_first_page(exe: &Path, data: &Path) -> Result<Duration> {
    use std::io::{Read, Write};
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let start = Instant::now();
    let mut child = Command::new(exe)
        .arg("--data-dir")
        .arg(data)
        .args(["--port", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let took = loop {
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            return Err("the server did not answer within 30 s".into());
        }
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream
                .write_all(b"GET /login HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            if answer.starts_with("HTTP/1.1 200") {
                break start.elapsed();
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    // Let the startup backup finish before stopping, so the next round starts clean.
    std::thread::sleep(Duration::from_secs(3));
    // SAFETY: signalling our own child.
    #[cfg(unix)]
    #[allow(unsafe_code)]
    unsafe {
        libc::kill(i32::try_from(child.id())?, libc::SIGTERM);
    }
    let _ = child.wait();
    Ok(took)
}

fn writer_latency(data: &Path) -> Result<String> {
    let pause = Duration::from_micros(env_or("BENCH_WRITER_PAUSE_US", 1000));
    let after_secs: u64 = env_or("BENCH_AFTER_SECS", 60);
    let paths = Paths::new(data);
    let db = Db::open(&paths.db, DbOptions::SERVER)?;
    let stop_checkpointer = Arc::new(AtomicBool::new(false));
    let checkpointer = db.spawn_checkpointer(stop_checkpointer.clone())?;
    let phase = Arc::new(Mutex::new(0u8));
    // idle, during the backup, after it; and during the backup split by its own phase.
    let samples: Arc<Mutex<[Vec<Duration>; 3]>> =
        Arc::new(Mutex::new([Vec::new(), Vec::new(), Vec::new()]));
    let by_step: Arc<Mutex<[Vec<Duration>; 2]>> = Arc::new(Mutex::new([Vec::new(), Vec::new()]));
    let engine = BackupEngine::new(
        paths.clone(),
        db.clone(),
        Arc::new(RwLock::new(Settings::default())),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (db, phase, samples, by_step, stop, engine) = (
            db.clone(),
            phase.clone(),
            samples.clone(),
            by_step.clone(),
            stop.clone(),
            engine.clone(),
        );
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let start = Instant::now();
                let r = db.with_conn(|c| {
                    c.execute(
                        "INSERT INTO customers (name, notes, created_at, updated_at) VALUES ('bench writer', ?1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
                        [1],
                    )
                    .map_err(DbError::from)
                });
                let took = start.elapsed();
                if r.is_ok() {
                    let p = *phase.lock().unwrap_or_else(|e| e.into_inner()) as usize;
                    samples.lock().unwrap_or_else(|e| e.into_inner())[p].push(took);
                    if let Some(progress) = engine.progress() {
                        let step = usize::from(progress.phase != Phase::Copying);
                        by_step.lock().unwrap_or_else(|e| e.into_inner())[step].push(took);
                    }
                }
                std::thread::sleep(pause);
            }
        })
    };
    std::thread::sleep(Duration::from_secs(10));
    *phase.lock().unwrap_or_else(|e| e.into_inner()) = 1;
    let start = Instant::now();
    let made = engine.create(&CreateRequest::manual("bench", "bench"))?;
    let backup_secs = start.elapsed().as_secs_f64();
    let wal_mb = file_mb(&paths.db_sidecar("-wal"));
    *phase.lock().unwrap_or_else(|e| e.into_inner()) = 2;
    std::thread::sleep(Duration::from_secs(after_secs));
    stop.store(true, Ordering::Relaxed);
    let _ = writer.join();
    stop_checkpointer.store(true, Ordering::Relaxed);
    let _ = checkpointer.join();
    let _ = std::fs::remove_file(&made.path);
    db.close()?;
    let mut s = std::mem::take(&mut *samples.lock().unwrap_or_else(|e| e.into_inner()));
    for v in &mut s {
        v.sort();
    }
    let mut steps = std::mem::take(&mut *by_step.lock().unwrap_or_else(|e| e.into_inner()));
    for v in &mut steps {
        v.sort();
    }
    let line = |name: &str, v: &[Duration]| {
        format!(
            "  {name:<22} {:>6} commits  p50 {:>6.3} ms  p99 {:>6.3} ms  max {:>7.3} ms",
            v.len(),
            ms(percentile(v, 0.5)),
            ms(percentile(v, 0.99)),
            ms(v.last().copied().unwrap_or_default())
        )
    };
    let p99_ratio = ms(percentile(&s[1], 0.99)) / ms(percentile(&s[0], 0.99)).max(1e-9);
    Ok(format!(
        "== Writer committing small transactions (one every {:.1} ms) ==\n{}\n{}\n{}\n{}\n{}\n  backup took {backup_secs:.2} s under writes; WAL at its end {wal_mb:.0} MiB\n  p99 during/idle: {p99_ratio:.2}x (target < 1.5x); worst stall during {:.1} ms, after {:.1} ms (target < 100 ms)",
        pause.as_secs_f64() * 1000.0,
        line("idle", &s[0]),
        line("during the backup", &s[1]),
        line("  while copying", &steps[0]),
        line("  while checking", &steps[1]),
        line(&format!("{after_secs} s after"), &s[2]),
        ms(s[1].last().copied().unwrap_or_default()),
        ms(s[2].last().copied().unwrap_or_default()),
    ))
}

fn restore_bench(data: &Path, scratch: &Path, rounds: usize) -> Result<String> {
    let paths = Paths::new(data);
    let live = paths.db.clone();
    let mut ratio_tools = Vec::new();
    let mut ratio_cp = Vec::new();
    let mut swap_ratio = Vec::new();
    let mut waits = Vec::new();
    let mut ours_secs = Vec::new();
    for round in 0..rounds {
        // A backup to restore (made outside the timing), in the backup folder.
        clear_backups(data)?;
        let db = Db::open(&live, DbOptions::SERVER)?;
        let engine = BackupEngine::new(
            paths.clone(),
            db.clone(),
            Arc::new(RwLock::new(Settings::default())),
        );
        let chosen = engine.create(&CreateRequest::manual("to restore", "bench"))?;
        let chosen_path = chosen.path.clone();
        let safety = scratch.join("safety.db");
        let mut ours = Duration::ZERO;
        let mut pause = 0u64;
        let mut wait = Duration::ZERO;
        let mut tools = Duration::ZERO;
        let mut cp = Duration::ZERO;
        let order: Vec<u8> = if round % 2 == 0 {
            vec![0, 1, 2]
        } else {
            vec![2, 1, 0]
        };
        for side in order {
            let _ = std::fs::remove_file(&safety);
            let _ = std::fs::remove_file(scratch.join("cp.db"));
            match side {
                0 => {
                    // Page requests keep coming while the restore runs; record the longest wait.
                    let stop = Arc::new(AtomicBool::new(false));
                    let longest = Arc::new(Mutex::new(Duration::ZERO));
                    let reader = {
                        let (db, stop, longest) = (db.clone(), stop.clone(), longest.clone());
                        std::thread::spawn(move || {
                            while !stop.load(Ordering::Relaxed) {
                                let t = Instant::now();
                                let _ = db.with_conn(|c| {
                                    c.query_row("SELECT count(*) FROM products", [], |r| {
                                        r.get::<_, i64>(0)
                                    })
                                    .map_err(DbError::from)
                                });
                                let took = t.elapsed();
                                let mut l = longest.lock().unwrap_or_else(|e| e.into_inner());
                                if took > *l {
                                    *l = took;
                                }
                                drop(l);
                                std::thread::sleep(Duration::from_millis(2));
                            }
                        })
                    };
                    let start = Instant::now();
                    let report =
                        engine.restore(&chosen.file_name, "bench", RestoreOptions::default())?;
                    ours = start.elapsed();
                    stop.store(true, Ordering::Relaxed);
                    let _ = reader.join();
                    pause = report.pause_ms;
                    wait = *longest.lock().unwrap_or_else(|e| e.into_inner());
                    let _ = std::fs::remove_file(backroom::backup::catalog::sidecar_path(
                        &paths.backups.join(&report.safety_backup),
                    ));
                    let _ = std::fs::remove_file(paths.backups.join(&report.safety_backup));
                }
                1 => {
                    db.close()?;
                    tools = sh(&format!(
                        "sqlite3 '{live}' \".backup '{s}'\" && sqlite3 '{s}' 'PRAGMA quick_check' >/dev/null && openssl dgst -sha256 '{s}' >/dev/null \
                         && openssl dgst -sha256 '{c}' >/dev/null && sqlite3 '{c}' 'PRAGMA quick_check' >/dev/null \
                         && sqlite3 '{live}' \".restore '{c}'\" && sqlite3 '{live}' 'PRAGMA quick_check' >/dev/null",
                        live = live.display(),
                        s = safety.display(),
                        c = chosen_path.display()
                    ))?;
                    db.exclusive().reopen()?;
                }
                _ => {
                    cp = sh(&format!(
                        "cp '{}' '{}' && sync",
                        chosen_path.display(),
                        scratch.join("cp.db").display()
                    ))?
                }
            }
        }
        db.close()?;
        ratio_tools.push(ours.as_secs_f64() / tools.as_secs_f64());
        ratio_cp.push(ours.as_secs_f64() / cp.as_secs_f64());
        swap_ratio.push(pause as f64 / 1000.0 / cp.as_secs_f64());
        waits.push(ms(wait));
        ours_secs.push(ours.as_secs_f64());
        println!(
            "restore round {round}: backroom {:.2} s (data swap {pause} ms, longest page wait {:.0} ms) | standard tools {:.2} s | cp+sync {:.2} s",
            ours.as_secs_f64(),
            ms(wait),
            tools.as_secs_f64(),
            cp.as_secs_f64()
        );
    }
    let _ = std::fs::remove_file(scratch.join("cp.db"));
    let _ = std::fs::remove_file(scratch.join("safety.db"));
    Ok(format!(
        "== Restore ({rounds} rounds, medians) ==\n  restore: median {:.2} s\n  vs the standard tools in sequence:  {:.2}x   (target <= 0.60x)\n  vs cp + sync of the file:           {:.2}x\n  data-swap step vs cp + sync:        {:.2}x   (target <= 2x)\n  longest page wait during a restore: {:.0} ms",
        median(ours_secs),
        median(ratio_tools),
        median(ratio_cp),
        median(swap_ratio),
        median(waits)
    ))
}
