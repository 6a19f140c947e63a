//! What a round deletes on a target: uploads and partial files an interrupted run left,
//! copies that tiered retention lets go, and objects of ours whose manifest is long gone.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::manifest::{self, Manifest};
use super::plan;
use super::settings::Target;
use super::store::Store;
use super::{Offsite, OffsiteError, lock};
use crate::backup::BackupEntry;

/// Orphan objects (ours, without a manifest) younger than this may still be being written.
const ORPHAN_AGE: Duration = Duration::from_secs(24 * 3600);

impl Offsite {
    /// Aborts uploads an interrupted run left and removes partial files (once per process).
    pub(super) fn clean_unfinished(
        &self,
        target: &Target,
        store: &dyn Store,
    ) -> Result<(), OffsiteError> {
        let in_flight = self
            .state()
            .targets
            .get(&target.name)
            .map(|t| t.in_flight.clone())
            .unwrap_or_default();
        for f in &in_flight {
            store.abort_upload(&f.object, &f.upload_id)?;
            self.inner.backups.log().warning(&format!(
                "Off-site: aborted the unfinished upload of {} on {} left by an interrupted copy",
                f.object, target.name
            ));
        }
        for partial in store.clean_unfinished()? {
            self.inner.backups.log().warning(&format!(
                "Off-site: removed {partial} from {}, left by an interrupted copy",
                target.name
            ));
        }
        self.update_state(|s| s.target(&target.name).in_flight.clear())?;
        Ok(())
    }

    /// Deletes what tiered retention lets go (never a copy of a backup marked Keep here, `local`
    /// being the backups here): manifest first (so the copy leaves the list at
    /// once), then the object. Also objects of ours whose manifest is long gone.
    pub(super) fn apply_retention(
        &self,
        target: &Target,
        store: &dyn Store,
        copies: &[Manifest],
        local: &[BackupEntry],
    ) -> Result<Vec<String>, OffsiteError> {
        let now = self.inner.clock.now();
        // Only this installation's copies: another shop's on the same target are theirs.
        let own = self.own(copies.to_vec())?;
        let removed = plan::to_remove(&own, local, &target.keep, now);
        for copy in &removed {
            store.delete(&Manifest::manifest_name(copy))?;
            store.delete(&format!("{copy}{}", manifest::OBJECT_SUFFIX))?;
            self.inner.backups.log().info(&format!(
                "Off-site retention removed {copy} from {} (keeping the newest {}, one a day for {} days, a week for {} weeks, a month for {} months)",
                target.name,
                target.keep.keep_last,
                target.keep.keep_daily,
                target.keep.keep_weekly,
                target.keep.keep_monthly
            ));
        }
        if !removed.is_empty()
            && let Some(index) = lock(&self.inner.remote).get_mut(&target.name)
        {
            index.manifests.retain(|m| !removed.contains(&m.copy));
        }
        for orphan in orphans(store, copies, now)? {
            store.delete(&orphan)?;
        }
        Ok(removed)
    }
}

/// Objects of ours (by name) without a manifest, old enough not to be an upload in progress.
fn orphans(
    store: &dyn Store,
    copies: &[Manifest],
    now: DateTime<Utc>,
) -> Result<Vec<String>, OffsiteError> {
    let cutoff = now - chrono::Duration::from_std(ORPHAN_AGE).unwrap_or_default();
    Ok(store
        .list()?
        .into_iter()
        .filter(|o| {
            manifest::copy_of_object(&o.name).is_some_and(|(copy, is_manifest)| {
                !is_manifest && !copies.iter().any(|m| m.copy == copy)
            }) && o.modified.is_some_and(|m| m < cutoff)
        })
        .map(|o| o.name)
        .collect())
}
