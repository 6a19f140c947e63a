//! Helpers shared by the benchmarks: running commands, medians and percentiles, and the
//! generated business database they all measure on.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn run(cmd: &mut Command) -> Result<Duration> {
    let start = Instant::now();
    let out = cmd.output()?;
    if !out.status.success() {
        return Err(format!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(start.elapsed())
}

pub fn sh(script: &str) -> Result<Duration> {
    run(Command::new("sh").arg("-c").arg(script))
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn file_mb(path: &Path) -> f64 {
    std::fs::metadata(path)
        .map(|m| m.len() as f64 / 1_048_576.0)
        .unwrap_or(0.0)
}

/// A business database of about `mb` MiB: demo shop data plus a notes table.
pub fn generate(data: &Path, mb: u64, exe: &Path) -> Result<()> {
    let db = data.join("business_data.db");
    if db.exists() && (file_mb(&db) - mb as f64).abs() < mb as f64 * 0.1 {
        return Ok(());
    }
    let _ = std::fs::remove_dir_all(data);
    std::fs::create_dir_all(data)?;
    println!(
        "generating a {mb} MiB business database in {} ...",
        data.display()
    );
    run(Command::new(exe).arg("--data-dir").arg(data).args([
        "demo-data",
        "--products",
        "2000",
        "--days",
        "730",
    ]))?;
    let conn = rusqlite::Connection::open(&db)?;
    conn.execute_batch("PRAGMA journal_mode=WAL;")?;
    // Bulk in Backroom's own tables (customers with long notes): a backup must have exactly
    // Backroom's schema.
    while file_mb(&db) + file_mb(&data.join("business_data.db-wal")) < mb as f64 {
        conn.execute_batch(
            "INSERT INTO customers (name, notes, created_at, updated_at)
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000)
             SELECT 'bulk ' || i, hex(randomblob(480)), '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' FROM n;
             PRAGMA wal_checkpoint(TRUNCATE);",
        )?;
    }
    println!("database: {:.0} MiB", file_mb(&db));
    Ok(())
}

pub fn clear_backups(data: &Path) -> Result<()> {
    let dir = data.join("database_backups");
    if let Ok(read) = std::fs::read_dir(&dir) {
        for e in read.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".db") || name.ends_with(".db.json") {
                std::fs::remove_file(e.path())?;
            }
        }
    }
    Ok(())
}

/// What every benchmark starts from: the release binary, the database size, the rounds and
/// the work folder (BENCH_DB_MB, BENCH_ROUNDS, BENCH_DIR).
pub struct Setup {
    pub exe: PathBuf,
    pub mb: u64,
    pub rounds: usize,
    pub work: PathBuf,
}

/// [`setup`], then the generated database in `work/<data>` and an empty `work/<scratch>`.
pub fn setup_with_data(data: &str, scratch: &str) -> Result<(Setup, PathBuf, PathBuf)> {
    let s = setup()?;
    let data = s.work.join(data);
    let scratch = s.work.join(scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)?;
    generate(&data, s.mb, &s.exe)?;
    Ok((s, data, scratch))
}

pub fn setup() -> Result<Setup> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let exe = root.join("target/release/backroom");
    if !exe.exists() {
        return Err("build the release binary first (scripts/bench.sh does)".into());
    }
    Ok(Setup {
        exe,
        mb: env_or("BENCH_DB_MB", 1024),
        rounds: env_or("BENCH_ROUNDS", 3),
        work: std::env::var_os("BENCH_DIR")
            .map_or_else(|| root.join("target/bench-data"), PathBuf::from),
    })
}

/// Runs `cmd` under GNU time: (wall time, peak RSS in KiB).
pub fn timed_with_rss(cmd: &mut Command) -> Result<(Duration, f64)> {
    let mut timed = Command::new("/usr/bin/time");
    timed
        .args(["-f", "%M"])
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => timed.env(k, v),
            None => timed.env_remove(k),
        };
    }
    let start = Instant::now();
    let out = timed.output()?;
    let took = start.elapsed();
    if !out.status.success() {
        return Err(format!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let rss = String::from_utf8_lossy(&out.stderr)
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(f64::NAN);
    Ok((took, rss))
}
