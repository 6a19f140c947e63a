//! How many files may arrive at once, and how long a body may pause: a held-open upload must
//! not fill the disk or hold the server. The disk itself is checked as every chunk lands
//! (`Incoming::append`), so uploads side by side share one floor of free space.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::error::AppError;

/// Limits for files arriving over HTTP (uploads and first-run files).
#[derive(Debug, Clone, Copy)]
pub struct UploadLimits {
    /// Uploads received at the same time, for the whole server.
    pub at_once: usize,
    /// The longest pause between two pieces of a body before it is given up.
    pub idle: Duration,
}

impl Default for UploadLimits {
    fn default() -> Self {
        UploadLimits {
            at_once: 2,
            idle: Duration::from_secs(60),
        }
    }
}

pub struct UploadGate {
    limits: UploadLimits,
    busy: Arc<AtomicUsize>,
}

/// One upload's place; given back when dropped (done, refused or cut off).
pub struct UploadPermit {
    busy: Arc<AtomicUsize>,
}

impl Drop for UploadPermit {
    fn drop(&mut self) {
        self.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

impl UploadGate {
    pub fn new(limits: UploadLimits) -> UploadGate {
        UploadGate {
            limits,
            busy: Arc::new(AtomicUsize::new(0)),
        }
    }

    pub fn idle(&self) -> Duration {
        self.limits.idle
    }

    /// A place for one more upload, or a refusal before any of its body is read.
    pub fn enter(&self) -> Result<UploadPermit, AppError> {
        let at_once = self.limits.at_once;
        self.busy
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < at_once).then_some(n + 1)
            })
            .map_err(|_| {
                AppError::TooManyRequests(format!(
                    "{at_once} files are already arriving; try again when one of them is done. Nothing was added."
                ))
            })?;
        Ok(UploadPermit {
            busy: self.busy.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_limited_and_given_back() {
        let gate = UploadGate::new(UploadLimits {
            at_once: 2,
            idle: Duration::from_secs(1),
        });
        let a = gate.enter().unwrap();
        let _b = gate.enter().unwrap();
        assert!(matches!(gate.enter(), Err(AppError::TooManyRequests(_))));
        drop(a);
        assert!(gate.enter().is_ok());
    }
}
