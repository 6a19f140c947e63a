//! Password guessing is slowed per (name, address), not by locking a name everywhere: five
//! wrong passwords for a name from one address make that address wait before the next try
//! for that name, 1 s, then 2, 4, … up to 15 minutes. The same name from another address, with
//! no failures of its own, is not held back at all, so nobody can lock the owner out by
//! guessing from elsewhere. An address that fails for many names (spraying) is slowed the
//! same way, except the computer itself (127.0.0.1), where everyone at the shop sits.
//!
//! An attempt counts as a failure from the moment it starts and is taken back when the
//! password is right, so parallel guesses cannot slip past while their slow hashes run. The
//! counters live in `sessions.db`, outside the business data: `backroom user unlock NAME` and
//! `user passwd` clear them from the command line while the server runs.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::store::{AuthStore, Failures, StoreError};
use crate::clock::SharedClock;

/// Wrong passwords allowed per (name, address) before delays start.
pub const FREE_FAILURES: u32 = 5;
/// Wrong passwords allowed from one address, over all names, before delays start.
pub const FREE_ADDRESS_FAILURES: u32 = 20;
/// The longest wait between attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// Counters untouched for this long are forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Which password check an attempt is for: logging in, or the current password on
/// `/account` (its own counter, so one cannot be used to lock the other).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Login,
    Account,
}

impl Check {
    fn prefix(self) -> &'static str {
        match self {
            Check::Login => "login",
            Check::Account => "account",
        }
    }
}

#[derive(Clone)]
pub struct LoginThrottle {
    store: Arc<AuthStore>,
    clock: SharedClock,
}

/// How long to wait after `failures` failures (zero while they are free).
pub fn delay_after(failures: u32, free: u32) -> Duration {
    if failures < free {
        return Duration::ZERO;
    }
    let doublings = (failures - free).min(20);
    Duration::from_secs(1u64 << doublings).min(MAX_DELAY)
}

fn is_loopback(address: &str) -> bool {
    address
        .parse::<std::net::IpAddr>()
        .is_ok_and(|a| a.to_canonical().is_loopback())
}

/// Names are case-insensitive; a long typed name is cut so it cannot bloat the store.
fn name_key(check: Check, username: &str, address: &str) -> String {
    let name: String = username.to_lowercase().chars().take(64).collect();
    format!("{}:{name}|{address}", check.prefix())
}

fn address_key(check: Check, address: &str) -> Option<String> {
    (!is_loopback(address)).then(|| format!("{}-addr:{address}", check.prefix()))
}

/// The wait left for one counter, at `now`.
fn wait_for(
    failures: &Failures<'_>,
    key: &str,
    free: u32,
    now: DateTime<Utc>,
) -> Result<Duration, StoreError> {
    let Some((count, last)) = failures.get(key)? else {
        return Ok(Duration::ZERO);
    };
    let since = (now - last).to_std().unwrap_or_default();
    Ok(delay_after(count, free).saturating_sub(since))
}

impl LoginThrottle {
    pub fn new(store: Arc<AuthStore>, clock: SharedClock) -> LoginThrottle {
        LoginThrottle { store, clock }
    }

    /// Starts an attempt: `Ok(Err(wait))` while this name from this address (or this address)
    /// must wait, otherwise the attempt is counted as a failure until
    /// [`LoginThrottle::succeeded`].
    pub fn begin(
        &self,
        check: Check,
        username: &str,
        address: &str,
    ) -> Result<Result<(), Duration>, StoreError> {
        let now = self.clock.now();
        let name = name_key(check, username, address);
        let addr = address_key(check, address);
        self.store.with_failures(|f| {
            f.forget_older_than(now, FORGET_AFTER)?;
            let mut wait = wait_for(f, &name, FREE_FAILURES, now)?;
            if let Some(addr) = &addr {
                wait = wait.max(wait_for(f, addr, FREE_ADDRESS_FAILURES, now)?);
            }
            if !wait.is_zero() {
                return Ok(Err(wait));
            }
            for key in std::iter::once(&name).chain(addr.as_ref()) {
                let count = f.get(key)?.map_or(0, |(n, _)| n);
                f.set(key, count.saturating_add(1), now)?;
            }
            Ok(Ok(()))
        })
    }

    /// The password was right: this name's failures from this address are forgiven, and the
    /// attempt no longer counts against the address.
    pub fn succeeded(&self, check: Check, username: &str, address: &str) -> Result<(), StoreError> {
        let now = self.clock.now();
        self.store.with_failures(|f| {
            f.clear(&name_key(check, username, address))?;
            if let Some(addr) = address_key(check, address) {
                take_back(f, &addr, now)?;
            }
            Ok(())
        })
    }

    /// The attempt never got as far as a password check: take just this attempt back.
    pub fn cancel(&self, check: Check, username: &str, address: &str) -> Result<(), StoreError> {
        let now = self.clock.now();
        self.store.with_failures(|f| {
            take_back(f, &name_key(check, username, address), now)?;
            if let Some(addr) = address_key(check, address) {
                take_back(f, &addr, now)?;
            }
            Ok(())
        })
    }
}

fn take_back(f: &Failures<'_>, key: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
    if let Some((count, _)) = f.get(key)? {
        f.set(key, count.saturating_sub(1), now)?;
    }
    Ok(())
}

/// Clears every counter for a name, from every address (`backroom user unlock`, `user passwd`).
pub fn unlock(store: &AuthStore, username: &str) -> Result<usize, StoreError> {
    let name: String = username.to_lowercase().chars().take(64).collect();
    store.with_failures(|f| {
        let mut cleared = 0;
        for check in [Check::Login, Check::Account] {
            cleared += f.clear_prefix(&format!("{}:{name}|", check.prefix()))?;
        }
        Ok(cleared)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn throttle() -> (
        tempfile::TempDir,
        LoginThrottle,
        ManualClock,
        Arc<AuthStore>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Arc::new(AuthStore::open(&crate::config::Paths::new(dir.path()).sessions()).unwrap());
        let clock = ManualClock::new();
        let t = LoginThrottle::new(store.clone(), Arc::new(clock.clone()));
        (dir, t, clock, store)
    }

    #[test]
    fn delays_grow_and_are_capped() {
        assert_eq!(delay_after(4, 5), Duration::ZERO);
        assert_eq!(delay_after(5, 5), Duration::from_secs(1));
        assert_eq!(delay_after(7, 5), Duration::from_secs(4));
        assert_eq!(delay_after(60, 5), MAX_DELAY);
    }

    #[test]
    fn failures_slow_one_name_from_one_address_only() {
        let (_d, t, clock, _) = throttle();
        for _ in 0..FREE_FAILURES {
            assert_eq!(t.begin(Check::Login, "owner", "1.2.3.4").unwrap(), Ok(()));
        }
        assert!(t.begin(Check::Login, "owner", "1.2.3.4").unwrap().is_err());
        assert!(
            t.begin(Check::Login, "Owner", "1.2.3.4").unwrap().is_err(),
            "any case"
        );
        // The owner elsewhere, and others from the same address, are not held back.
        assert_eq!(t.begin(Check::Login, "owner", "9.9.9.9").unwrap(), Ok(()));
        assert_eq!(t.begin(Check::Login, "bob", "1.2.3.4").unwrap(), Ok(()));
        // The account page's check has its own counter.
        assert_eq!(t.begin(Check::Account, "owner", "1.2.3.4").unwrap(), Ok(()));
        // After the delay one more try is allowed, then a longer wait.
        clock.advance(chrono::Duration::seconds(1));
        assert_eq!(t.begin(Check::Login, "owner", "1.2.3.4").unwrap(), Ok(()));
        let wait = t
            .begin(Check::Login, "owner", "1.2.3.4")
            .unwrap()
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(2));
    }

    #[test]
    fn success_forgives_and_unlock_clears_every_address() {
        let (_d, t, _clock, store) = throttle();
        for addr in ["1.2.3.4", "5.6.7.8"] {
            for _ in 0..FREE_FAILURES {
                t.begin(Check::Login, "anna", addr).unwrap().unwrap();
            }
        }
        assert!(t.begin(Check::Login, "anna", "1.2.3.4").unwrap().is_err());
        assert_eq!(unlock(&store, "ANNA").unwrap(), 2);
        assert_eq!(t.begin(Check::Login, "anna", "1.2.3.4").unwrap(), Ok(()));
        t.succeeded(Check::Login, "anna", "1.2.3.4").unwrap();
        for _ in 0..FREE_FAILURES - 1 {
            t.begin(Check::Login, "anna", "1.2.3.4").unwrap().unwrap();
        }
        t.cancel(Check::Login, "anna", "1.2.3.4").unwrap();
        t.begin(Check::Login, "anna", "1.2.3.4").unwrap().unwrap();
        assert!(t.begin(Check::Login, "anna", "1.2.3.4").unwrap().is_ok());
    }

    #[test]
    fn spraying_names_from_one_address_is_slowed_except_on_loopback() {
        let (_d, t, _clock, _) = throttle();
        for i in 0..FREE_ADDRESS_FAILURES {
            t.begin(Check::Login, &format!("name{i}"), "1.2.3.4")
                .unwrap()
                .unwrap();
            t.begin(Check::Login, &format!("name{i}"), "127.0.0.1")
                .unwrap()
                .unwrap();
        }
        assert!(t.begin(Check::Login, "fresh", "1.2.3.4").unwrap().is_err());
        assert_eq!(t.begin(Check::Login, "fresh", "127.0.0.1").unwrap(), Ok(()));
    }
}
