//! Automatic backups every N hours (and the daily full `integrity_check`), on their own named
//! thread driven by job_scheduler_ng. A one-second job compares the clock with the next due
//! time, so the interval can change at any moment without a restart.

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
    started: Instant,
    last_full_check: Option<Instant>,
}

pub struct Scheduler {
    stop: Arc<AtomicBool>,
    state: Arc<Mutex<State>>,
    handle: Mutex<Option<JoinHandle<()>>>,
    engine: BackupEngine,
}

fn next_after(interval: Option<Duration>) -> Option<DateTime<Utc>> {
    interval.and_then(|i| chrono::Duration::from_std(i).ok().map(|d| Utc::now() + d))
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
            next_run: next_after(interval),
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

    /// Applies a new interval now: the next backup is one interval from now.
    pub fn reschedule(&self, interval: Option<Duration>) {
        let mut state = lock(&self.state);
        if state.interval != interval {
            state.interval = interval;
            state.next_run = next_after(interval);
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
    let due = lock(state).next_run.is_some_and(|t| Utc::now() >= t);
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
            _ => {
                let mut s = lock(state);
                s.next_run = next_after(s.interval);
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
