//! The server's off-site worker: a thread that runs a round of off-site work every few seconds
//! (or at once when woken: a new backup, "Send now", a new target), so backups and pages
//! never wait for uploads.

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
    while !inner.cancel.load(Ordering::SeqCst) {
        match offsite.run_pass(Which::Due, false) {
            Ok(_) | Err(OffsiteError::Busy) | Err(OffsiteError::Cancelled) => {}
            Err(e) => tracing::warn!("off-site round failed: {e}"),
        }
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
