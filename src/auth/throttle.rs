//! Login throttle: after 5 failed attempts for one user name or from one address within 15
//! minutes, further attempts are refused until the oldest of them is 15 minutes old.
//!
//! An attempt counts as a failure from the moment it starts (and is taken back only when the
//! password turns out right), so many attempts sent at once cannot slip past the limit while
//! their slow password checks run.
//!
//! The loopback address is only limited per name: everyone at the shop's own computer comes
//! from 127.0.0.1, and one person's typos must not lock the owner out.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub const MAX_FAILURES: usize = 5;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

fn keys(username: &str, address: &str) -> Vec<String> {
    let mut keys = vec![format!("user:{}", username.to_lowercase())];
    let loopback = address
        .parse::<std::net::IpAddr>()
        .is_ok_and(|a| a.to_canonical().is_loopback());
    if !loopback {
        keys.push(format!("addr:{address}"));
    }
    keys
}

impl LoginThrottle {
    fn map(&self) -> MutexGuard<'_, HashMap<String, Vec<Instant>>> {
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts an attempt: `Err(wait)` while the name or the address is locked out, otherwise
    /// the attempt is counted (as a failure until [`LoginThrottle::record_success`]).
    pub fn begin_attempt(&self, username: &str, address: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let mut map = self.map();
        let keys = keys(username, address);
        let mut wait = Duration::ZERO;
        for key in &keys {
            if let Some(times) = map.get_mut(key) {
                times.retain(|t| now.duration_since(*t) < WINDOW);
                if times.len() >= MAX_FAILURES
                    && let Some(oldest) = times.first()
                {
                    wait = wait.max(WINDOW.saturating_sub(now.duration_since(*oldest)));
                }
            }
        }
        if !wait.is_zero() {
            return Err(wait);
        }
        for key in keys {
            map.entry(key).or_default().push(now);
        }
        // Bound the memory an attacker can make us use.
        if map.len() > 10_000 {
            map.retain(|_, times| times.iter().any(|t| now.duration_since(*t) < WINDOW));
        }
        Ok(())
    }

    /// The password was right: the name's failures are forgiven, and this attempt no longer
    /// counts against the address.
    pub fn record_success(&self, username: &str, address: &str) {
        let mut map = self.map();
        for key in keys(username, address) {
            if key.starts_with("user:") {
                map.remove(&key);
            } else if let Some(times) = map.get_mut(&key) {
                times.pop();
            }
        }
    }

    /// The attempt never got as far as checking a password (e.g. the form was incomplete):
    /// take back just this attempt.
    pub fn cancel_attempt(&self, username: &str, address: &str) {
        let mut map = self.map();
        for key in keys(username, address) {
            if let Some(times) = map.get_mut(&key) {
                times.pop();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_the_name_and_the_address() {
        let t = LoginThrottle::default();
        for _ in 0..MAX_FAILURES {
            assert!(t.begin_attempt("anna", "1.2.3.4").is_ok());
        }
        assert!(
            t.begin_attempt("anna", "9.9.9.9").is_err(),
            "name locked from anywhere"
        );
        assert!(
            t.begin_attempt("bob", "1.2.3.4").is_err(),
            "address locked for any name"
        );
        assert!(t.begin_attempt("bob", "9.9.9.9").is_ok());
    }

    #[test]
    fn a_right_password_forgives_the_name() {
        let t = LoginThrottle::default();
        for _ in 0..MAX_FAILURES - 1 {
            t.begin_attempt("anna", "1.2.3.4").unwrap();
        }
        t.begin_attempt("anna", "1.2.3.4").unwrap();
        t.record_success("anna", "1.2.3.4");
        assert!(t.begin_attempt("anna", "1.2.3.4").is_ok());
    }

    #[test]
    fn loopback_is_limited_per_name_only() {
        let t = LoginThrottle::default();
        for _ in 0..MAX_FAILURES {
            t.begin_attempt("anna", "127.0.0.1").unwrap();
        }
        assert!(t.begin_attempt("anna", "127.0.0.1").is_err());
        assert!(t.begin_attempt("owner", "127.0.0.1").is_ok());
        assert!(t.begin_attempt("owner", "::ffff:127.0.0.1").is_ok());
    }
}
