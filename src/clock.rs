//! The time, from one place that tests can replace: backup names, retention, session idle
//! limits, login delays and the manual-backup limit all read it here, so a test moves the clock
//! forward instead of sleeping.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Local, NaiveDateTime, Utc};

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;

    /// The same moment as local wall-clock time (backup names use it).
    fn local_now(&self) -> NaiveDateTime {
        self.now().with_timezone(&Local).naive_local()
    }
}

/// The real time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to (for tests).
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    /// Starts at the real time now, on a whole second (stored times keep milliseconds).
    pub fn new() -> ManualClock {
        use chrono::SubsecRound;
        ManualClock::at(Utc::now().trunc_subsecs(0))
    }

    pub fn at(start: DateTime<Utc>) -> ManualClock {
        ManualClock {
            now: Arc::new(Mutex::new(start)),
        }
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = to;
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The clock every component shares.
pub type SharedClock = Arc<dyn Clock>;

pub fn system() -> SharedClock {
    Arc::new(SystemClock)
}
