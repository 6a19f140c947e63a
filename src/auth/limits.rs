//! How often a person may ask for a manual backup. Every manual backup can push the oldest one
//! out (the cap of ten), so for staff, who may not delete backups, making backups must not
//! become a way to delete them: one per [`STAFF_MANUAL_BACKUP_EVERY`]. Admins and up, who may
//! delete backups anyway, are not limited.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::Role;
use crate::clock::SharedClock;

pub const STAFF_MANUAL_BACKUP_EVERY: Duration = Duration::from_secs(10 * 60);

pub struct ManualBackupLimit {
    clock: SharedClock,
    last: Mutex<HashMap<i64, DateTime<Utc>>>,
}

impl ManualBackupLimit {
    pub fn new(clock: SharedClock) -> ManualBackupLimit {
        ManualBackupLimit {
            clock,
            last: Mutex::new(HashMap::new()),
        }
    }

    /// Takes this person's turn: `Err(wait)` when staff asked less than ten minutes ago.
    /// The turn is taken at once, so parallel requests cannot slip through; give it back
    /// with [`ManualBackupLimit::give_back`] when no backup was made.
    pub fn take_turn(&self, user_id: i64, role: Role) -> Result<(), Duration> {
        if role >= Role::Admin {
            return Ok(());
        }
        let now = self.clock.now();
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = last.get(&user_id) {
            let since = (now - *at).to_std().unwrap_or_default();
            if since < STAFF_MANUAL_BACKUP_EVERY {
                return Err(STAFF_MANUAL_BACKUP_EVERY - since);
            }
        }
        last.insert(user_id, now);
        Ok(())
    }

    pub fn give_back(&self, user_id: i64) {
        self.last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&user_id);
    }
}

/// "Staff can make one manual backup every 10 minutes; try again in 7 minutes."
pub fn wait_message(wait: Duration) -> String {
    let minutes = wait.as_secs().div_ceil(60).max(1);
    format!(
        "Staff can make one manual backup every {} minutes (older backups make room for new ones, and only admins may remove backups). Try again in {minutes} minute{}.",
        STAFF_MANUAL_BACKUP_EVERY.as_secs() / 60,
        if minutes == 1 { "" } else { "s" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::sync::Arc;

    #[test]
    fn staff_get_one_turn_per_ten_minutes_admins_are_free() {
        let clock = ManualClock::new();
        let limit = ManualBackupLimit::new(Arc::new(clock.clone()));
        assert!(limit.take_turn(1, Role::Staff).is_ok());
        let wait = limit.take_turn(1, Role::Staff).unwrap_err();
        assert_eq!(wait, STAFF_MANUAL_BACKUP_EVERY);
        assert!(limit.take_turn(2, Role::Staff).is_ok(), "per person");
        for _ in 0..5 {
            assert!(limit.take_turn(3, Role::Admin).is_ok());
        }
        clock.advance(chrono::Duration::minutes(9));
        assert!(limit.take_turn(1, Role::Staff).is_err());
        clock.advance(chrono::Duration::minutes(1));
        assert!(limit.take_turn(1, Role::Staff).is_ok());
        limit.give_back(1);
        assert!(
            limit.take_turn(1, Role::Staff).is_ok(),
            "a failed backup does not count"
        );
        assert!(wait_message(Duration::from_secs(61)).contains("2 minutes"));
    }
}
