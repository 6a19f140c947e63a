//! Test helpers: start the real app on port 0 in a temp folder, talk to it over HTTP like a
//! browser (cookies, CSRF token), and run the real binary as a subprocess.

mod app;
mod client;
mod files;
mod process;

use std::time::{Duration, Instant};

pub use app::*;
pub use client::*;
pub use files::*;
pub use process::*;

/// Polls `done` until it holds, failing after `limit` with `what` (the one poll-with-deadline
/// helper of the integration tests).
pub fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
