//! The server's off-site worker: a thread that runs a round of off-site work every few seconds
//! (or at once when woken: a new backup, "Send now", a new target), so backups and pages
//! never wait for uploads. The same low-priority thread re-hashes the stored backups (the
//! scrub, `backup/scrub.rs`) after the first round and then once a day on the app's clock.

use std::sync::atomic::Ordering;
use std::thread::JoinHandle;

use super::pass::Which;
use super::{Offsite, OffsiteError, lock};

pub struct Worker {
    offsite: Offsite,
    handle: Option<JoinHandle<()>>,
}

impl Worker {
    pub fn start(offsite: &Offsite) -> std::io::Result<Worker> {
        let worker = offsite.clone();
        let handle = std::thread::Builder::new()
            .name("offsite".into())
            .spawn(move || {
                // Pages come first: this thread (and zstd's workers, which inherit its
                // priority on Linux) only gets the CPU nobody else wants.
                crate::platform::lower_thread_priority();
                run(&worker)
            })?;
        Ok(Worker {
            offsite: offsite.clone(),
            handle: Some(handle),
        })
    }

    /// Cancels what is being sent (nothing half-done is kept) and waits for the thread.
    pub fn stop(mut self) {
        self.offsite.cancel();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            self.offsite.cancel();
            let _ = h.join();
        }
    }
}

fn run(offsite: &Offsite) {
    let inner = &offsite.inner;
    let mut scrub = ScrubTimes::default();
    while !inner.cancel.load(Ordering::SeqCst) {
        match offsite.run_pass(Which::Due, false) {
            Ok(_) | Err(OffsiteError::Busy) | Err(OffsiteError::Cancelled) => {}
            Err(e) => tracing::warn!("off-site round failed: {}", crate::error_chain::chain(&e)),
        }
        scrub_if_due(offsite, &mut scrub);
        let (flag, cond) = &inner.wake;
        let mut woken = lock(flag);
        if !*woken && !inner.cancel.load(Ordering::SeqCst) {
            woken = cond
                .wait_timeout(woken, inner.options.poll)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        *woken = false;
    }
}

#[derive(Default)]
struct ScrubTimes {
    /// The last complete scrub, on the app's clock.
    last: Option<chrono::DateTime<chrono::Utc>>,
    /// After an unfinished one (another operation was running): not again before this (the
    /// wait after a failure, `OffsiteOptions::retry_base`).
    retry_after: Option<std::time::Instant>,
}

/// The scrub of local backups: at start-up (after the first round) and daily.
fn scrub_if_due(offsite: &Offsite, times: &mut ScrubTimes) {
    let now = offsite.now();
    if times
        .retry_after
        .is_some_and(|at| std::time::Instant::now() < at)
    {
        return;
    }
    if times.retry_after.is_none()
        && times
            .last
            .is_some_and(|at| now - at < chrono::Duration::hours(24))
    {
        return;
    }
    let last = &mut times.last;
    times.retry_after = None;
    match offsite.backups().scrub(&offsite.inner.cancel) {
        Ok(done) if done.unfinished => {
            times.retry_after = Some(std::time::Instant::now() + offsite.inner.options.retry_base);
        }
        Ok(done) => {
            *last = Some(now);
            if done.damaged.is_empty() {
                offsite.backups().log().info(&format!(
                    "Stored backups checked: {} re-read, each matches its record",
                    done.checked
                ));
            }
        }
        Err(e) => {
            *last = Some(now);
            tracing::warn!(
                "the check of stored backups failed: {}",
                crate::error_chain::chain(&e)
            );
        }
    }
}
