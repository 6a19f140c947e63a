//! Restore drills and checks of what is on a target: the newest copy downloaded, decrypted,
//! decompressed and checked like a backup; every copy's object against its manifest.

use std::time::Instant;

use super::pass::{CopyCheck, being_removed, ms};
use super::settings::Target;
use super::state::Drill;
use super::store::StoreError;
use super::target::TargetHandle;
use super::transfer;
use super::{Activity, FETCH_TEMP_PREFIX, Offsite, OffsiteError, lock};
use crate::fsutil;

impl Offsite {
    pub(super) fn drill_due(
        &self,
        target: &Target,
        settings: &super::settings::OffsiteSettings,
    ) -> bool {
        if settings.drill_every_days == 0 {
            return false;
        }
        let last = self
            .state()
            .targets
            .get(&target.name)
            .and_then(|t| t.progress.last_drill.as_ref().map(|d| d.at));
        let every = chrono::Duration::days(i64::from(settings.drill_every_days));
        last.is_none_or(|at| self.inner.clock.now() - at >= every)
    }

    /// The restore drill: downloads the newest copy, decrypts, decompresses, checks SHA-256,
    /// `quick_check` and row counts, opens it read-only; records and logs the result.
    pub(super) fn drill(&self, target: &Target) -> Result<Drill, OffsiteError> {
        let started = Instant::now();
        let keys = self.keyring()?.ok_or(OffsiteError::NoKey)?;
        let store = self.store(target)?;
        let all = self.copies(target, true)?;
        let mut copies = self.own(all.clone())?;
        copies.sort_by_key(|m| std::cmp::Reverse(m.newness()));
        if copies.is_empty()
            && let Some(sealed) = sealed_to_another_key(&all, &self.installation()?.id)
        {
            // The wrong kit was imported (or the key file replaced): a failed drill, loudly.
            return self.record_drill(
                target,
                Drill {
                    at: self.inner.clock.now(),
                    ok: false,
                    copy: sealed.copy.clone(),
                    message: "this installation's copies cannot be decrypted with this key: they are sealed to a key this computer does not have (import the emergency kit they were made with)".into(),
                    duration_ms: ms(started),
                },
            );
        }
        // The newest copy that is still there: a listing may lag a delete (see `read_index`).
        let mut tried = copies.iter();
        let (newest, fetched) = loop {
            let Some(newest) = tried.next() else {
                return Err(OffsiteError::NoCopy(format!("any copy on {}", target.name)));
            };
            *lock(&self.inner.activity) = Some(Activity {
                target: target.name.clone(),
                what: format!("restore drill with {}", newest.copy),
            });
            let fetched = transfer::fetch(
                store.as_ref(),
                &keys.identities(),
                newest,
                self.data_dir(),
                FETCH_TEMP_PREFIX,
                &self.inner.meter,
                &self.inner.cancel,
            );
            *lock(&self.inner.activity) = None;
            if matches!(
                fetched,
                Err(OffsiteError::Store(StoreError::NotFound { .. }))
            ) && being_removed(store.as_ref(), newest)?
            {
                continue;
            }
            break (newest, fetched);
        };
        let drill = match fetched {
            Ok(f) => Drill {
                at: self.inner.clock.now(),
                ok: true,
                copy: newest.copy.clone(),
                message: format!(
                    "restored {} into a test file: checksums match, SQLite check ok, row counts match",
                    fsutil::human_size(f.digests.plain_size)
                ),
                duration_ms: ms(started),
            },
            Err(OffsiteError::Cancelled) => return Err(OffsiteError::Cancelled),
            Err(e) => Drill {
                at: self.inner.clock.now(),
                ok: false,
                copy: newest.copy.clone(),
                message: crate::error_chain::chain(&e),
                duration_ms: ms(started),
            },
        };
        self.record_drill(target, drill)
    }

    fn record_drill(&self, target: &Target, drill: Drill) -> Result<Drill, OffsiteError> {
        let saved = drill.clone();
        self.update_state(|s| s.target(&target.name).progress.last_drill = Some(saved))?;
        if drill.ok {
            self.inner.backups.log().info(&format!(
                "Restore drill on {} passed with {}: {} ({:.1} s)",
                target.name,
                drill.copy,
                drill.message,
                drill.duration_ms as f64 / 1000.0
            ));
        } else {
            self.inner.backups.log().error(&format!(
                "Restore drill on {} FAILED with {}: {}",
                target.name, drill.copy, drill.message
            ));
        }
        Ok(drill)
    }
}

impl TargetHandle<'_> {
    /// The drill on this target, now (the page's and the command line's button). Waits for
    /// the off-site lock, then reads the target's settings again.
    pub fn drill_now(&self) -> Result<Drill, OffsiteError> {
        let offsite = self.offsite;
        let _lock = offsite.take_lock(true)?;
        let target = offsite.find_target(self.name())?;
        offsite.drill(&target)
    }

    /// Checks every copy of this installation on the target: read back whole, its size and
    /// SHA-256 against its manifest. One result per copy.
    pub fn verify(&self) -> Result<Vec<CopyCheck>, OffsiteError> {
        let offsite = self.offsite;
        let store = offsite.store(&self.target)?;
        let copies = offsite.own(offsite.copies(&self.target, true)?)?;
        let mut checks = Vec::new();
        for m in &copies {
            let result = super::store::read_back(
                store.as_ref(),
                &m.object_name(),
                m.object_size,
                &m.object_sha256,
            );
            // Listed, then removed by retention before it was read: not a failed copy.
            if matches!(result, Err(StoreError::NotFound { .. }))
                && being_removed(store.as_ref(), m)?
            {
                continue;
            }
            checks.push((
                m.copy.clone(),
                result.map_err(|e| crate::error_chain::chain(&e)),
            ));
        }
        Ok(checks)
    }
}

/// The newest copy that says it is this installation's but is sealed to a key not held here.
fn sealed_to_another_key<'a>(
    copies: &'a [super::manifest::Manifest],
    own_id: &str,
) -> Option<&'a super::manifest::Manifest> {
    copies
        .iter()
        .filter(|m| m.trust == super::manifest::Trust::OtherKey)
        .filter(|m| m.installation.as_ref().is_none_or(|i| i.id == own_id))
        .max_by_key(|m| m.newness())
}
