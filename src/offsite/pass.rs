//! One round of off-site work: for each target that is due, read its list of copies, send
//! every local backup it does not have (newest first), thin it out (tiered retention), and run
//! the restore drill when one is due. Failures are recorded with a growing wait; the next
//! round tries again.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::auth;
use super::manifest::{self, MAX_MANIFEST_BYTES, Manifest};
use super::plan::{self, sendable};
use super::settings::Target;
use super::state::{Drill, InFlight, backoff};
use super::store::{Store, StoreError};
use super::transfer::{self, Outgoing};
use super::{Activity, Offsite, OffsiteError, RemoteIndex, lock};
use crate::backup::BackupEntry;
use crate::fsutil::{self, FileLock};

/// One copy's check: its name, and why it failed.
pub type CopyCheck = (String, Result<(), String>);

/// What a round did, for the command line.
#[derive(Debug, Default)]
pub struct PassReport {
    pub sent: Vec<(String, Manifest)>,
    pub failed: Vec<(String, String)>,
    pub removed: Vec<(String, String)>,
    /// Not sent, and why (retention would remove it at once).
    pub skipped: Vec<(String, String)>,
    pub drills: Vec<(String, Drill)>,
}

/// Which targets a round works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Targets whose wait after a failure is over (the worker).
    Due,
    /// Every enabled target now (the command line).
    All,
}

pub(super) fn ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl Offsite {
    pub(super) fn take_lock(&self, wait: bool) -> Result<FileLock, OffsiteError> {
        let path = self.inner.paths.offsite_lock();
        if wait {
            return FileLock::acquire(&path).map_err(OffsiteError::Lock);
        }
        FileLock::try_acquire(&path)
            .map_err(OffsiteError::Lock)?
            .ok_or(OffsiteError::Busy)
    }

    /// The copies on a target (manifests whose object is there too), read fresh when the
    /// cached list is old or `fresh` is asked.
    pub(super) fn copies(
        &self,
        target: &Target,
        fresh: bool,
    ) -> Result<Vec<Manifest>, OffsiteError> {
        if !fresh
            && let Some(index) = lock(&self.inner.remote).get(&target.name)
            && index.read_at.elapsed() < self.inner.options.index_ttl
        {
            return Ok(index.manifests.clone());
        }
        let store = self.store(target)?;
        let manifests = read_index(store.as_ref(), self.keyring()?.as_ref())?;
        lock(&self.inner.remote).insert(
            target.name.clone(),
            RemoteIndex {
                read_at: Instant::now(),
                manifests: manifests.clone(),
            },
        );
        Ok(manifests)
    }

    /// One round of off-site work (see the module docs). `wait` waits for another process
    /// doing off-site work; otherwise such a round answers [`OffsiteError::Busy`].
    pub fn run_pass(&self, which: Which, wait: bool) -> Result<PassReport, OffsiteError> {
        let _lock = self.take_lock(wait)?;
        let settings = self.settings()?;
        let mut report = PassReport::default();
        let Some(keys) = self.keyring()? else {
            return Ok(report);
        };
        let now = self.inner.clock.now();
        let state = self.state();
        for target in settings.targets.iter().filter(|t| t.enabled) {
            let due = match which {
                Which::Due => state
                    .targets
                    .get(&target.name)
                    .and_then(|s| s.progress.next_attempt_at)
                    .is_none_or(|at| now >= at),
                Which::All => true,
            };
            if !due {
                continue;
            }
            if let Err(e) = self.work_on(target, &keys, &settings, &mut report) {
                self.record_failure(target, e, &mut report)?;
            }
        }
        Ok(report)
    }

    /// Sends one local backup to every enabled target that does not have it yet (the command
    /// line's `offsite push BACKUP`). Returns what was sent, per target.
    pub fn push_backup(&self, backup: &str) -> Result<PassReport, OffsiteError> {
        let _lock = self.take_lock(true)?;
        let keys = self.keyring()?.ok_or(OffsiteError::NoKey)?;
        let entry = self.inner.backups.find(backup)?;
        if !sendable(std::slice::from_ref(&entry)).any(|_| true) {
            return Err(OffsiteError::NoRecord(entry.file_name.clone()));
        }
        let copy = manifest::copy_name(&entry);
        let entries = self.inner.backups.list()?;
        let now = self.inner.clock.now();
        let mut report = PassReport::default();
        for target in self.settings()?.targets.iter().filter(|t| t.enabled) {
            let result = self.copies(target, true).and_then(|copies| {
                if copies.iter().any(|m| m.copy == copy) {
                    return Ok(None);
                }
                let own = self.own(copies)?;
                let planned = plan::to_send(&entries, &own, &target.keep, now);
                if !planned.iter().any(|e| manifest::copy_name(e) == copy) {
                    report.skipped.push((
                        target.name.clone(),
                        format!(
                            "{copy}: its retention would remove it at once (mark the backup Keep to keep a copy)"
                        ),
                    ));
                    return Ok(None);
                }
                let store = self.store(target)?;
                self.send_one(target, store.as_ref(), &keys, &entry)
            });
            match result {
                Ok(Some(m)) => report.sent.push((target.name.clone(), m)),
                Ok(None) => {}
                Err(e) => self.record_failure(target, e, &mut report)?,
            }
        }
        Ok(report)
    }

    fn work_on(
        &self,
        target: &Target,
        keys: &super::keys::Keyring,
        settings: &super::settings::OffsiteSettings,
        report: &mut PassReport,
    ) -> Result<(), OffsiteError> {
        let store = self.store(target)?;
        self.note_disk(target)?;
        if !lock(&self.inner.cleaned).contains(&target.name) {
            self.clean_unfinished(target, store.as_ref())?;
            lock(&self.inner.cleaned).insert(target.name.clone());
        }
        let on_target = self.copies(target, false)?;
        let entries = self.inner.backups.list()?;
        let own = self.own(on_target.clone())?;
        // A same-named copy of another installation is never overwritten.
        let pending: Vec<&BackupEntry> =
            plan::to_send(&entries, &own, &target.keep, self.inner.clock.now())
                .into_iter()
                .filter(|e| !on_target.iter().any(|m| m.copy == manifest::copy_name(e)))
                .collect();
        let mut sent_any = false;
        for entry in pending {
            if let Some(manifest) = self.send_one(target, store.as_ref(), keys, entry)? {
                report.sent.push((target.name.clone(), manifest));
                sent_any = true;
            }
        }
        let copies = self.copies(target, sent_any)?;
        for copy in self.apply_retention(target, store.as_ref(), &copies, &entries)? {
            report.removed.push((target.name.clone(), copy));
        }
        self.record_success(target)?;
        if self.drill_due(target, settings) {
            let drill = self.drill(target)?;
            report.drills.push((target.name.clone(), drill));
        }
        Ok(())
    }

    /// Sends one local backup to one target and records it; `None` when the backup was
    /// deleted here after the list was read (nothing to send, and not the target's fault).
    fn send_one(
        &self,
        target: &Target,
        store: &dyn Store,
        keys: &super::keys::Keyring,
        entry: &BackupEntry,
    ) -> Result<Option<Manifest>, OffsiteError> {
        let copy = manifest::copy_name(entry);
        let _pin = self.inner.backups.pin(&entry.file_name);
        let started = Instant::now();
        *lock(&self.inner.activity) = Some(Activity {
            target: target.name.clone(),
            what: format!("sending {copy}"),
        });
        let object = format!("{copy}{}", manifest::OBJECT_SUFFIX);
        let mut recorded = None;
        let mut on_started = |id: Option<String>| {
            if let Some(upload_id) = id {
                let entry = InFlight {
                    object: object.clone(),
                    upload_id,
                };
                recorded = Some(entry.clone());
                let _ = self.update_state(|s| s.target(&target.name).in_flight.push(entry));
            }
        };
        let installation = self.installation()?;
        let sequence = self.next_sequence(target, &installation.id)?;
        let outgoing = Outgoing {
            entry,
            copy: &copy,
            now: self.inner.clock.now(),
            installation: &installation,
            sequence,
        };
        let sent = transfer::send(
            store,
            keys,
            &outgoing,
            &self.inner.meter,
            &self.inner.cancel,
            &mut on_started,
        );
        *lock(&self.inner.activity) = None;
        if let Some(done) = recorded {
            self.update_state(|s| s.target(&target.name).in_flight.retain(|f| *f != done))?;
        }
        let manifest = match sent {
            // Opening it failed before anything was written to the target.
            Err(OffsiteError::ReadBackup { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                return Ok(None);
            }
            other => other?,
        };
        let now = self.inner.clock.now();
        self.update_state(|s| {
            let t = s.target(&target.name);
            t.progress.last_copy = Some(copy.clone());
            t.progress.last_copy_at = Some(manifest.created_at);
            t.progress.bytes_sent += manifest.object_size;
            t.progress.copies_sent += 1;
            t.progress.last_success_at = Some(now);
        })?;
        if let Some(index) = lock(&self.inner.remote).get_mut(&target.name) {
            index.manifests.push(manifest.clone());
        }
        self.inner.backups.log().info(&format!(
            "Off-site copy sent to {}: {copy} ({} of data, {} sent, {:.1} s)",
            target.name,
            fsutil::human_size(manifest.plain_size),
            fsutil::human_size(manifest.object_size),
            ms(started) as f64 / 1000.0
        ));
        Ok(Some(manifest))
    }

    /// The next sequence number: past the last one recorded here and past every copy of this
    /// installation on the target (a lost or older status file never makes it go back).
    fn next_sequence(&self, target: &Target, own_id: &str) -> Result<u64, OffsiteError> {
        let seen = self
            .copies(target, false)?
            .iter()
            .filter(|m| m.is_from(own_id))
            .filter_map(|m| m.sequence)
            .max()
            .unwrap_or(0);
        let mut next = 0;
        self.update_state(|s| {
            next = s.last_sequence.max(seen) + 1;
            s.last_sequence = next;
        })?;
        Ok(next)
    }

    fn record_success(&self, target: &Target) -> Result<(), OffsiteError> {
        let now = self.inner.clock.now();
        self.update_state(|s| {
            let t = s.target(&target.name);
            t.progress.failing_since = None;
            t.progress.last_error = None;
            t.progress.unreachable = false;
            t.failures = 0;
            t.progress.next_attempt_at = None;
            t.progress.last_success_at = Some(now);
        })
    }

    /// A target's turn that failed: a cancel stops the whole pass; anything else is counted
    /// (the next attempt backs off), logged and reported, and the pass goes on.
    fn record_failure(
        &self,
        target: &Target,
        error: OffsiteError,
        report: &mut PassReport,
    ) -> Result<(), OffsiteError> {
        if matches!(error, OffsiteError::Cancelled) {
            return Err(error);
        }
        let now = self.inner.clock.now();
        let base = self.inner.options.retry_base;
        let said = crate::error_chain::chain(&error);
        let mut wait = Duration::ZERO;
        self.update_state(|s| {
            let t = s.target(&target.name);
            t.failures += 1;
            t.progress.failing_since.get_or_insert(now);
            t.progress.last_error = Some(said.clone());
            t.progress.unreachable = error.is_unreachable();
            wait = backoff(t.failures, base);
            t.progress.next_attempt_at =
                Some(now + chrono::Duration::from_std(wait).unwrap_or_default());
        })?;
        lock(&self.inner.remote).remove(&target.name);
        self.inner.backups.log().error(&format!(
            "Off-site copy to {} failed (trying again in {}): {said}",
            target.name,
            crate::timefmt::span(i64::try_from(wait.as_secs()).unwrap_or(i64::MAX))
        ));
        report.failed.push((target.name.clone(), said));
        Ok(())
    }

    /// What is being sent or checked right now, and how far along.
    pub fn activity(&self) -> Option<(super::Activity, u8)> {
        lock(&self.inner.activity)
            .clone()
            .map(|a| (a, self.inner.meter.percent()))
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }
}

/// Every copy whose manifest and object are both on the target, each marked whether this
/// shop made it (`keys`: the keys that can tell; see `auth`). A listing may lag a delete
/// (an S3 cluster right after a node rejoins): a listed manifest that is gone when read is a
/// copy being removed, skipped rather than a failure.
pub(crate) fn read_index(
    store: &dyn Store,
    keys: Option<&super::keys::Keyring>,
) -> Result<Vec<Manifest>, OffsiteError> {
    let objects = store.list()?;
    let mut manifests = Vec::new();
    for info in &objects {
        let Some((copy, true)) = manifest::copy_of_object(&info.name) else {
            continue;
        };
        if info.size > MAX_MANIFEST_BYTES {
            continue;
        }
        let bytes = match store.read_small(&info.name, MAX_MANIFEST_BYTES) {
            Ok(bytes) => bytes,
            Err(StoreError::NotFound { .. }) => continue,
            Err(e) => return Err(e.into()),
        };
        let Some(mut m) = Manifest::parse(&bytes, copy) else {
            continue;
        };
        if m.trust != manifest::Trust::Renamed {
            m.trust = auth::check(&m, keys);
        }
        if objects.iter().any(|o| o.name == m.object_name()) {
            manifests.push(m);
        }
    }
    auth::flag_repeats(&mut manifests);
    Ok(manifests)
}

/// True when `copy` was being removed while it was listed: its manifest is gone too. A
/// missing object whose manifest is still there is a damaged copy, not a stale listing.
pub(super) fn being_removed(store: &dyn Store, copy: &Manifest) -> Result<bool, OffsiteError> {
    Ok(store.head(&Manifest::manifest_name(&copy.copy))?.is_none())
}
