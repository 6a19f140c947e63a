//! Automatic backups every N hours (and the daily full `integrity_check`), on their own named
//! thread driven by job_scheduler_ng. A one-second job compares the engine's clock with the
//! next due time, so the interval can change at any moment without a restart.
//!
//! The next automatic backup is due one interval after the newest backup in the folder (of any
//! kind in the history), read again whenever the set of backups changes: the schedule survives
//! restarts, and one that fell due while Backroom was not running runs at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use job_scheduler_ng::{Job, JobScheduler};
use serde::Serialize;

use super::health::FULL_CHECK_MAX_AGE;
use super::{BackupEngine, BackupError, BackupKind, CreateRequest, lock};
use crate::timefmt;

/// The first full integrity check waits this long after start, so it never competes with
/// the startup backup.
const FIRST_FULL_CHECK_AFTER: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone, Serialize)]
pub struct ScheduleInfo {
    pub active: bool,
    pub interval_secs: u64,
    pub next_run: Option<DateTime<Utc>>,
}

struct State {
    interval: Option<Duration>,
    next_run: Option<DateTime<Utc>>,
    /// The engine's change count `next_run` was worked out for.
    seen_changes: u64,
    started: Instant,
    last_full_check: Option<Instant>,
}

pub struct Scheduler {
    stop: Arc<AtomicBool>,
    state: Arc<Mutex<State>>,
    handle: Mutex<Option<JoinHandle<()>>>,
    engine: BackupEngine,
}

fn next_after(engine: &BackupEngine, interval: Option<Duration>) -> Option<DateTime<Utc>> {
    interval.and_then(|i| chrono::Duration::from_std(i).ok().map(|d| engine.now() + d))
}

/// One interval after the newest usable backup of the history, or now when that is past (or
/// there is none). A newest backup dated in the future (made while the clock was wrong) counts
/// as made now, so a wrong clock neither stops the schedule nor makes it fire every second.
fn next_due(engine: &BackupEngine, interval: Option<Duration>) -> Option<DateTime<Utc>> {
    let every = chrono::Duration::from_std(interval?).ok()?;
    let now = engine.now();
    let last = engine
        .list()
        .ok()
        .and_then(|entries| super::catalog::newest_usable(&entries).map(|e| e.created_at()));
    Some(match last {
        Some(last) => (last.min(now) + every).max(now),
        None => now,
    })
}

fn describe(interval: Option<Duration>) -> String {
    match interval {
        Some(i) => format!(
            "every {}",
            timefmt::span(i64::try_from(i.as_secs()).unwrap_or(i64::MAX))
        ),
        None => "off".into(),
    }
}

impl Scheduler {
    /// Starts the scheduler thread. `interval` of `None` means automatic backups are off (the
    /// thread still runs the daily integrity check and can be rescheduled).
    pub fn start(engine: BackupEngine, interval: Option<Duration>) -> std::io::Result<Scheduler> {
        let stop = Arc::new(AtomicBool::new(false));
        let state = Arc::new(Mutex::new(State {
            interval,
            seen_changes: engine.changes(),
            next_run: next_due(&engine, interval),
            started: Instant::now(),
            last_full_check: None,
        }));
        let thread_stop = stop.clone();
        let thread_state = state.clone();
        let thread_engine = engine.clone();
        let handle = std::thread::Builder::new()
            .name("backup-scheduler".into())
            .spawn(move || run(thread_engine, thread_state, thread_stop))?;
        engine.log().info(&format!(
            "Automatic backup scheduler started ({})",
            describe(interval)
        ));
        Ok(Scheduler {
            stop,
            state,
            handle: Mutex::new(Some(handle)),
            engine,
        })
    }

    pub fn info(&self) -> ScheduleInfo {
        let state = lock(&self.state);
        ScheduleInfo {
            active: state.interval.is_some(),
            interval_secs: state.interval.map_or(0, |i| i.as_secs()),
            next_run: state.next_run,
        }
    }

    /// Applies a new interval now: the next backup is one interval after the newest one.
    pub fn reschedule(&self, interval: Option<Duration>) {
        let mut state = lock(&self.state);
        if state.interval != interval {
            state.interval = interval;
            state.next_run = next_due(&self.engine, interval);
            self.engine.log().info(&format!(
                "Automatic backup schedule changed ({})",
                describe(interval)
            ));
        }
    }

    pub fn stop(self) {
        self.shutdown();
    }

    /// Stops the thread (waiting for a backup it is making) and logs it. Idempotent.
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let handle = lock(&self.handle).take();
        if let Some(handle) = handle {
            let _ = handle.join();
            self.engine.log().info("Automatic backup scheduler stopped");
        }
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run(engine: BackupEngine, state: Arc<Mutex<State>>, stop: Arc<AtomicBool>) {
    let mut scheduler = JobScheduler::new();
    let Ok(every_second) = "* * * * * *".parse() else {
        tracing::error!("the scheduler's schedule does not parse");
        return;
    };
    let job_state = state.clone();
    let job_engine = engine.clone();
    let job_stop = stop.clone();
    scheduler.add(Job::new(every_second, move || {
        if !job_stop.load(Ordering::Relaxed) {
            tick(&job_engine, &job_state);
        }
    }));
    while !stop.load(Ordering::Relaxed) {
        scheduler.tick();
        let wait = scheduler
            .time_till_next_job()
            .min(Duration::from_millis(250));
        std::thread::sleep(wait);
    }
}

fn tick(engine: &BackupEngine, state: &Mutex<State>) {
    let changes = engine.changes();
    {
        let mut s = lock(state);
        if s.seen_changes != changes {
            s.seen_changes = changes;
            s.next_run = next_due(engine, s.interval);
        }
    }
    let due = lock(state).next_run.is_some_and(|t| engine.now() >= t);
    if due {
        let request = CreateRequest {
            kind: BackupKind::Automatic,
            description: String::new(),
            created_by: "scheduler".into(),
        };
        match engine.create(&request) {
            // Another operation (a restore, a manual backup) is running: try again next tick.
            Err(e) if e.is_busy() => {}
            Err(BackupError::Cancelled) => {}
            // Made (the change count moved: the next tick works out the next one from the
            // folder) or failed: the next try is one interval from now.
            _ => {
                let mut s = lock(state);
                s.next_run = next_after(engine, s.interval);
            }
        }
    }
    let full_due = {
        let s = lock(state);
        match s.last_full_check {
            Some(last) => last.elapsed() >= FULL_CHECK_MAX_AGE,
            None => s.started.elapsed() >= FIRST_FULL_CHECK_AFTER,
        }
    };
    if full_due {
        lock(state).last_full_check = Some(Instant::now());
        engine.check_live_db(true);
    }
}
