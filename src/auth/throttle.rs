//! Login throttle: after 5 failed attempts for one user name or from one address within 15
//! minutes, further attempts are refused until the oldest of them is 15 minutes old.
//!
//! The loopback address is only limited per name: everyone at the shop's own computer comes
//! from 127.0.0.1, and one person's typos must not lock the owner out.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_FAILURES: usize = 5;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl LoginThrottle {
    fn keys(username: &str, address: &str) -> Vec<String> {
        let mut keys = vec![format!("user:{}", username.to_lowercase())];
        let loopback = address
            .parse::<std::net::IpAddr>()
            .is_ok_and(|a| a.is_loopback());
        if !loopback {
            keys.push(format!("addr:{address}"));
        }
        keys
    }

    /// `Err(wait)` while the name or the address is locked out.
    pub fn check(&self, username: &str, address: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = Duration::ZERO;
        for key in Self::keys(username, address) {
            if let Some(times) = map.get_mut(&key) {
                times.retain(|t| now.duration_since(*t) < WINDOW);
                if times.len() >= MAX_FAILURES
                    && let Some(oldest) = times.first()
                {
                    wait = wait.max(WINDOW.saturating_sub(now.duration_since(*oldest)));
                }
            }
        }
        if wait.is_zero() { Ok(()) } else { Err(wait) }
    }

    pub fn record_failure(&self, username: &str, address: &str) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for key in Self::keys(username, address) {
            map.entry(key).or_default().push(now);
        }
        // Bound the memory an attacker can make us use.
        if map.len() > 10_000 {
            map.retain(|_, times| times.iter().any(|t| now.duration_since(*t) < WINDOW));
        }
    }

    pub fn record_success(&self, username: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&format!("user:{}", username.to_lowercase()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_the_name_and_the_address() {
        let t = LoginThrottle::default();
        for _ in 0..MAX_FAILURES {
            assert!(t.check("anna", "1.2.3.4").is_ok());
            t.record_failure("anna", "1.2.3.4");
        }
        assert!(
            t.check("anna", "9.9.9.9").is_err(),
            "name locked from anywhere"
        );
        assert!(
            t.check("bob", "1.2.3.4").is_err(),
            "address locked for any name"
        );
        assert!(t.check("bob", "9.9.9.9").is_ok());
    }

    #[test]
    fn loopback_is_limited_per_name_only() {
        let t = LoginThrottle::default();
        for _ in 0..MAX_FAILURES {
            t.record_failure("anna", "127.0.0.1");
        }
        assert!(t.check("anna", "127.0.0.1").is_err());
        assert!(t.check("owner", "127.0.0.1").is_ok());
    }
}
