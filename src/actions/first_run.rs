//! "Bring back my data" on the first-run page, while nobody has an account: a file or a copy
//! from a target is checked, added and restored with its own accounts. No role proof exists
//! yet, so each step first checks that there are still no accounts.

use std::sync::Mutex;
use std::time::Duration;

use subtle::ConstantTimeEq;

use super::ActionError;
use super::bring_in::{Upload, add};
use crate::backup::{
    Accounts, BackupEngine, BackupEntry, BackupKind, CreateRequest, RestoreOptions, RestoreReport,
};
use crate::db::Db;
use crate::offsite::manifest::Manifest;
use crate::offsite::{NewTarget, Offsite};

/// Who does the work: the same name in the log and in the backups made.
const BY: &str = "first run";

/// A target connected to on the first-run page: kept on the server (its secret never goes
/// back to the browser) under a one-time token until a copy is chosen.
#[derive(Default)]
pub struct PendingLink(Mutex<Option<(String, NewTarget)>>);

impl PendingLink {
    fn put(&self, new: NewTarget) -> String {
        let token = crate::fsutil::random_hex(16);
        *crate::offsite::lock(&self.0) = Some((token.clone(), new));
        token
    }

    fn take(&self, token: &str) -> Option<NewTarget> {
        let mut slot = crate::offsite::lock(&self.0);
        match slot.as_ref() {
            Some((t, _)) if bool::from(t.as_bytes().ct_eq(token.as_bytes())) => {
                slot.take().map(|(_, n)| n)
            }
            _ => None,
        }
    }
}

/// The services the first run works with.
pub struct FirstRun<'a> {
    pub db: &'a Db,
    pub engine: &'a BackupEngine,
    pub offsite: &'a Offsite,
    pub link: &'a PendingLink,
}

impl FirstRun<'_> {
    /// Refuses first-run work once anyone has an account (the page is gone for good then).
    pub fn ensure_no_users(&self) -> Result<(), ActionError> {
        let count = self.db.with_conn(|c| crate::auth::users::count(c))?;
        if count > 0 {
            return Err(ActionError::Conflict(
                "Backroom already has accounts, so data can only be brought back by a super-admin on Database Backup.".into(),
            ));
        }
        Ok(())
    }

    /// The restore at the end of a first run: the accounts come from the data brought back,
    /// and a backup is made at once so off-site copies continue from this computer.
    fn restore(&self, entry: &BackupEntry) -> Result<RestoreReport, ActionError> {
        self.ensure_no_users()?;
        let options = RestoreOptions {
            accounts: Accounts::AsInBackup,
        };
        let report = self.engine.restore(&entry.file_name, BY, options)?;
        let request = CreateRequest::manual("brought back on this computer", BY);
        if let Err(e) = self
            .engine
            .create_when_free(&request, Duration::from_secs(60))
        {
            tracing::warn!(
                "the backup after bringing the data back failed: {}",
                crate::error_chain::chain(&e)
            );
        }
        Ok(report)
    }

    /// From a file: check it and add it (the person confirms from its numbers next); keep
    /// the kit's key for later targets.
    pub fn add_upload(&self, upload: Upload) -> Result<BackupEntry, ActionError> {
        self.ensure_no_users()?;
        let kit = upload.kit.clone();
        let entry = add(self.offsite, upload, BY)?;
        if let Some(kit) = kit.filter(|k| !k.trim().is_empty()) {
            match self.offsite.adopt_kit(&kit) {
                Ok(()) => super::bring_in::kit_used(self.offsite, &kit, BY),
                Err(e) => tracing::warn!(
                    "the emergency kit's key could not be kept: {}",
                    crate::error_chain::chain(&e)
                ),
            }
        }
        Ok(entry)
    }

    /// Confirmed: restores the uploaded backup named `name` (only a file brought in).
    pub fn restore_upload(&self, name: &str) -> Result<RestoreReport, ActionError> {
        let entry = self.engine.find(name)?;
        if entry.kind() != BackupKind::Uploaded {
            return Err(ActionError::Invalid(
                "Only a file brought in on this page can be restored here.".into(),
            ));
        }
        self.restore(&entry)
    }

    /// Connecting to a target: its copies (newest first) and the token to pick one.
    pub fn connect(&self, new: NewTarget) -> Result<(String, Vec<Manifest>), ActionError> {
        self.ensure_no_users()?;
        let copies = self.offsite.connect(&new)?.copies()?;
        let token = self.link.put(new);
        Ok((token, copies))
    }

    /// The copy chosen: fetch, check, add, restore; then the target is saved so copies
    /// continue from this computer.
    pub fn from_target(&self, token: &str, copy: &str) -> Result<RestoreReport, ActionError> {
        self.ensure_no_users()?;
        let new = self.link.take(token).ok_or_else(|| {
            ActionError::Invalid(
                "The connection to the target has expired; connect again and pick the copy.".into(),
            )
        })?;
        let connected = self.offsite.connect(&new)?;
        let entry = self.offsite.bring_in_connected(&connected, copy, BY)?;
        let report = self.restore(&entry)?;
        let described = new.target.describe();
        let kit = new.kit.clone().unwrap_or_default();
        match self.offsite.add_target(new, BY) {
            // The kit just brought the data back (and names this target): it is saved.
            Ok(_) => super::bring_in::kit_used(self.offsite, &kit, BY),
            // The data is back; only the target must be added again on Database Backup.
            Err(e) => self.engine.log().warning(&format!(
                "The data was brought back from {described}, but the target could not be kept: {}",
                crate::error_chain::chain(&e)
            )),
        }
        Ok(report)
    }
}
