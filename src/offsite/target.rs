//! One configured target, looked up once by its name (as litestream has one `Replica` per
//! destination): what the pages' and the command line's buttons do to a single target. The
//! work on every target at once (rounds, keys, the kit, status) stays on [`Offsite`].
//!
//! The handle holds the target's settings as they were when it was looked up; work that waits
//! for the off-site lock first (the drill) looks the target up again once it has it.

use super::settings::{Secrets, Target};
use super::{Offsite, OffsiteError, lock};
use crate::config::Settings;

/// A target that exists in `backroom.toml`, with the work that can be done on it alone.
pub struct TargetHandle<'a> {
    pub(super) offsite: &'a Offsite,
    pub(super) target: Target,
}

impl Offsite {
    /// The target named `name`, or [`OffsiteError::NoTarget`].
    pub fn target(&self, name: &str) -> Result<TargetHandle<'_>, OffsiteError> {
        Ok(TargetHandle {
            offsite: self,
            target: self.find_target(name)?,
        })
    }
}

impl TargetHandle<'_> {
    pub fn name(&self) -> &str {
        &self.target.name
    }

    /// Its settings (where it is, how long copies are kept).
    pub fn settings(&self) -> &Target {
        &self.target
    }

    /// Forgets the target (nothing on it is deleted) and its credentials.
    pub fn remove(self, user: &str) -> Result<(), OffsiteError> {
        let (offsite, name) = (self.offsite, self.target.name.as_str());
        Settings::update_file(&offsite.inner.paths.settings, |s| {
            s.offsite.targets.retain(|t| t.name != name);
        })?;
        let mut secrets = Secrets::load(&offsite.inner.paths)?;
        if secrets.s3.remove(name).is_some() {
            secrets.save(&offsite.inner.paths)?;
        }
        offsite.update_state(|s| {
            s.targets.remove(name);
        })?;
        lock(&offsite.inner.stores).remove(name);
        lock(&offsite.inner.remote).remove(name);
        offsite.inner.backups.log().info(&format!(
            "Off-site target removed: {name} ({}) by {user}; the copies on it were left as they are",
            self.target.describe()
        ));
        Ok(())
    }

    /// Turns the target on or off (off: nothing is sent to it, it stays listed).
    pub fn set_enabled(&self, enabled: bool, user: &str) -> Result<(), OffsiteError> {
        let (offsite, name) = (self.offsite, self.name());
        Settings::update_file(&offsite.inner.paths.settings, |s| {
            for t in &mut s.offsite.targets {
                if t.name == name {
                    t.enabled = enabled;
                }
            }
        })?;
        offsite.inner.backups.log().info(&format!(
            "Off-site target {name} turned {} by {user}",
            if enabled { "on" } else { "off" }
        ));
        offsite.wake();
        Ok(())
    }

    /// "Send now": the target's wait after a failure is over, and the worker looks at once.
    pub fn send_now(&self) -> Result<(), OffsiteError> {
        let (offsite, name) = (self.offsite, self.name());
        offsite.update_state(|s| s.target(name).progress.next_attempt_at = None)?;
        lock(&offsite.inner.remote).remove(name);
        offsite.wake();
        Ok(())
    }

    /// Starts the restore drill on a thread of its own (a page must not wait for it).
    pub fn drill_in_background(&self) -> Result<(), OffsiteError> {
        let (offsite, name) = (self.offsite.clone(), self.name().to_string());
        std::thread::Builder::new()
            .name("offsite-drill".into())
            .spawn(move || {
                if let Err(e) = offsite.target(&name).and_then(|t| t.drill_now()) {
                    offsite.inner.backups.log().error(&format!(
                        "Restore drill on {name} could not run: {}",
                        crate::error_chain::chain(&e)
                    ));
                }
            })
            .map_err(OffsiteError::Lock)?;
        Ok(())
    }

    /// Its copies, newest first (for pages and the command line), read fresh.
    pub fn copies(&self) -> Result<Vec<super::manifest::Manifest>, OffsiteError> {
        let mut copies = self.offsite.copies(&self.target, true)?;
        super::manifest::sort_newest_first(&mut copies);
        Ok(copies)
    }
}
