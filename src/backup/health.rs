//! Is the data safe? Checks of the live database (`quick_check` at most every ten minutes,
//! `integrity_check` daily) and the one-line health summary shown on every page.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rusqlite::InterruptHandle;
use serde::Serialize;

use super::coverage::Coverage;
use super::{BackupEngine, BackupError, BackupFolder, lock};
use crate::db;
use crate::timefmt;

/// How often the status page may re-run `quick_check` on the live database.
pub const QUICK_CHECK_MAX_AGE: Duration = Duration::from_secs(10 * 60);
/// How often the full `integrity_check` runs.
pub const FULL_CHECK_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// Which SQLite check ran: the quick one (minutes apart) or the full one (daily).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckMethod {
    /// `PRAGMA quick_check`.
    Quick,
    /// `PRAGMA integrity_check`.
    Full,
}

impl CheckMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckMethod::Quick => "quick_check",
            CheckMethod::Full => "integrity_check",
        }
    }
}

impl std::fmt::Display for CheckMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CheckMethod {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LiveCheck {
    pub ok: bool,
    pub method: CheckMethod,
    pub checked_at: DateTime<Utc>,
    pub message: String,
    pub duration_ms: u64,
}

/// With automatic backups off, the newest backup counts as old after this.
const OLD_WITHOUT_AUTOMATIC: chrono::Duration = chrono::Duration::hours(48);

/// Every page shows the health line: it is computed at most this often (and again at once
/// after any backup event), not on every request.
const HEALTH_CACHE_TTL: Duration = Duration::from_secs(2);

#[derive(Default)]
pub struct HealthState {
    cached: Mutex<Option<(Instant, Health)>>,
    quick: Mutex<Option<LiveCheck>>,
    full: Mutex<Option<LiveCheck>>,
    running: Mutex<Vec<(u64, InterruptHandle)>>,
    next_id: AtomicU64,
    quick_running: AtomicBool,
    /// The change markers of backup files, read once per file.
    pub(super) markers: super::coverage::Markers,
}

/// Interrupts long checks on the live database (a restore must not wait an hour for one).
pub fn interrupt_all(state: &HealthState) {
    for (_, handle) in lock(&state.running).iter() {
        handle.interrupt();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthLevel {
    Green,
    Amber,
    Red,
}

impl HealthLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthLevel::Green => "green",
            HealthLevel::Amber => "amber",
            HealthLevel::Red => "red",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Health {
    pub level: HealthLevel,
    pub message: String,
    /// When the newest usable backup was made, for lines that add to this one.
    #[serde(skip)]
    pub last_backup: Option<DateTime<Utc>>,
    /// The live data has changes that are in no backup (the message says so).
    #[serde(skip)]
    pub changes_in_no_backup: bool,
    /// What someone who cannot act on the message reads instead (a task only the owner, a
    /// super-admin, can do: "ask the owner"); `None`: the message is for everyone.
    #[serde(skip)]
    pub for_staff: Option<String>,
}

impl Health {
    /// The line as this person reads it.
    pub fn message_for(&self, super_admin: bool) -> &str {
        match &self.for_staff {
            Some(staff) if !super_admin => staff,
            _ => &self.message,
        }
    }
}

impl BackupFolder {
    /// Forgets the cached health line (call after anything that changes it).
    pub(crate) fn invalidate_health(&self) {
        *lock(&self.inner.health.cached) = None;
    }
}

impl BackupEngine {
    /// Runs `quick_check` (or `integrity_check`) on the live database now. Blocking. A check
    /// interrupted by a restore is returned but not recorded: it says nothing about the data.
    pub(crate) fn check_live_db(&self, full: bool) -> LiveCheck {
        let started = Instant::now();
        let outcome = self.run_live_check(full);
        let method = if full {
            CheckMethod::Full
        } else {
            CheckMethod::Quick
        };
        let interrupted = matches!(&outcome, Err(BackupError::Db(e)) if e.is_interrupted());
        let check = LiveCheck {
            ok: outcome.is_ok(),
            method,
            checked_at: self.clock.now(),
            message: outcome
                .err()
                .map_or_else(|| "ok".into(), |e| crate::error_chain::chain(&e)),
            duration_ms: super::elapsed_ms(started),
        };
        if !interrupted {
            self.record_live_check(check.clone());
            if !check.ok {
                self.inner.log.error(&format!(
                    "Database check failed ({}): {}",
                    check.method, check.message
                ));
            } else if full {
                self.inner.log.info(&format!(
                    "Thorough database check: no damage found ({:.1} s)",
                    started.elapsed().as_secs_f64()
                ));
            }
        }
        check
    }

    /// The check itself, interruptible through [`interrupt_all`].
    fn run_live_check(&self, full: bool) -> Result<(), BackupError> {
        let state = &self.inner.health;
        let id = state.next_id.fetch_add(1, Ordering::Relaxed);
        self.db.with_conn(|conn| {
            lock(&state.running).push((id, conn.get_interrupt_handle()));
            let result = super::copy::low_priority(move || db::check_integrity(conn, full));
            lock(&state.running).retain(|(i, _)| *i != id);
            result.map_err(BackupError::from)
        })
    }

    pub(crate) fn record_live_check(&self, check: LiveCheck) {
        self.invalidate_health();
        let slot = match check.method {
            CheckMethod::Full => &self.inner.health.full,
            CheckMethod::Quick => &self.inner.health.quick,
        };
        *lock(slot) = Some(check);
    }

    pub(crate) fn last_quick_check(&self) -> Option<LiveCheck> {
        lock(&self.inner.health.quick).clone()
    }

    pub(crate) fn last_full_check(&self) -> Option<LiveCheck> {
        lock(&self.inner.health.full).clone()
    }

    /// Starts a background `quick_check` when the last one is older than ten minutes.
    pub(crate) fn refresh_quick_check_if_stale(&self) {
        let fresh = self.last_quick_check().is_some_and(|c| {
            (self.clock.now() - c.checked_at)
                .to_std()
                .unwrap_or_default()
                < QUICK_CHECK_MAX_AGE
        });
        if fresh || self.inner.health.quick_running.swap(true, Ordering::SeqCst) {
            return;
        }
        let engine = self.clone();
        let spawned = std::thread::Builder::new()
            .name("db-quick-check".into())
            .spawn(move || {
                engine.check_live_db(false);
                engine
                    .inner
                    .health
                    .quick_running
                    .store(false, Ordering::SeqCst);
            });
        if spawned.is_err() {
            self.inner
                .health
                .quick_running
                .store(false, Ordering::SeqCst);
        }
    }

    /// The one-line answer to "is my data safe?" (cached for a moment).
    pub(crate) fn health(&self, now: DateTime<Utc>) -> Health {
        if let Some((at, health)) = lock(&self.inner.health.cached).as_ref()
            && at.elapsed() < HEALTH_CACHE_TTL
        {
            return health.clone();
        }
        let health = self.compute_health(now);
        *lock(&self.inner.health.cached) = Some((Instant::now(), health.clone()));
        health
    }

    fn compute_health(&self, now: DateTime<Utc>) -> Health {
        let red = |message: String| Health {
            level: HealthLevel::Red,
            message,
            last_backup: None,
            changes_in_no_backup: false,
            for_staff: None,
        };
        let amber = |message: String| Health {
            level: HealthLevel::Amber,
            message,
            last_backup: None,
            changes_in_no_backup: false,
            for_staff: None,
        };
        for check in [self.last_quick_check(), self.last_full_check()]
            .into_iter()
            .flatten()
        {
            if !check.ok {
                return red(
                    "Database check failed: the data file is damaged. A super-admin can use Emergency restore below; the details are in Recent activity."
                        .into(),
                );
            }
        }
        if let Some(attempt) = self.last_attempt()
            && !attempt.ok
        {
            return red(format!("Last backup failed: {}", attempt.message));
        }
        let entries = self.list().unwrap_or_default();
        if let Some(rotten) = entries.iter().find(|e| {
            e.sidecar.as_ref().is_some_and(|s| {
                !s.verification.ok && s.verification.method == super::scrub::SCRUB_METHOD
            })
        }) {
            return red(format!(
                "Backup {} is damaged on disk (its checksum changed since it was made): the disk may be failing. It is no longer used to restore; make a new backup, check the disk, and delete the damaged one on its page",
                rotten.file_name
            ));
        }
        let newest = super::catalog::newest_usable(&entries);
        let Some(newest) = newest else {
            return amber("No backup yet: create one on the Database Backup page".into());
        };
        let age = (now - newest.created_at()).num_seconds().max(0);
        let age_text = timefmt::span(age);
        let made = Some(newest.created_at());
        let health = match self.settings().interval() {
            Some(interval) if age > 2 * i64::try_from(interval.as_secs()).unwrap_or(i64::MAX) => {
                amber(format!("Last backup is {age_text} old"))
            }
            None if age > OLD_WITHOUT_AUTOMATIC.num_seconds() => amber(format!(
                "Last backup is {age_text} old and automatic backups are off"
            )),
            // Only startup and manual backups are made: the data is not protected as you work.
            None => amber(format!(
                "Automatic backups are off — last backup {}. Turn them on under Settings on the Database Backup page",
                timefmt::ago(newest.created_at(), now)
            )),
            Some(_) => Health {
                level: HealthLevel::Green,
                message: format!(
                    "Protected — last backup {}",
                    timefmt::ago(newest.created_at(), now)
                ),
                last_backup: None,
                changes_in_no_backup: false,
                for_staff: None,
            },
        };
        // Never "protected" for changes that are in no backup.
        let health = match self.coverage(&entries) {
            Coverage::ChangedSince {
                shop_in_no_backup: true,
            } => Health {
                changes_in_no_backup: true,
                for_staff: None,
                ..amber(format!(
                    "Your shop's data is in no backup yet: the last backup ({}) was made before it. Create a backup on the Database Backup page",
                    timefmt::ago(newest.created_at(), now)
                ))
            },
            Coverage::ChangedSince { .. } if health.level == HealthLevel::Green => Health {
                message: format!(
                    "Last backup {}; changes made since then are in no backup until the next one",
                    timefmt::ago(newest.created_at(), now)
                ),
                changes_in_no_backup: true,
                for_staff: None,
                ..health
            },
            _ => health,
        };
        Health {
            last_backup: made,
            ..health
        }
    }
}
