//! Bringing backups in, shared by the backup page, the first-run page and the JSON API: a
//! file that arrived (streamed to disk by `web::http::upload`) is checked and added as
//! `uploaded_…`, an encrypted copy unpacked first; a copy is fetched from a target.

use std::io::Read;

use crate::auth::permission::SuperAdmin;
use crate::backup::{BackupEntry, BackupError, Incoming};
use crate::offsite::bring_in::{AGE_MAGIC, looks_sealed};
use crate::offsite::{Offsite, OffsiteError};

use super::ActionError;

/// A file received and on disk, not yet checked.
pub struct Upload {
    pub raw: Incoming,
    pub original: String,
    pub kit: Option<String>,
}

/// Whether the file on disk is an age-encrypted copy.
fn is_sealed(incoming: &Incoming) -> Result<bool, BackupError> {
    let mut head = vec![0u8; AGE_MAGIC.len()];
    let mut file = std::fs::File::open(incoming.path()).map_err(|e| BackupError::Io {
        action: "cannot read the uploaded file".into(),
        source: e,
    })?;
    let n = file.read(&mut head).map_err(|e| BackupError::Io {
        action: "cannot read the uploaded file".into(),
        source: e,
    })?;
    Ok(looks_sealed(&head[..n]))
}

/// Checks the upload and adds it to the backups (an encrypted copy is unpacked first, with
/// this computer's key or the kit that came with it). Only the use-cases call it without a
/// proof: the first run, while nobody has an account.
pub(super) fn add(offsite: &Offsite, upload: Upload, by: &str) -> Result<BackupEntry, ActionError> {
    if is_sealed(&upload.raw)? {
        let mut sealed = std::fs::File::open(upload.raw.path()).map_err(|e| BackupError::Io {
            action: "cannot read the uploaded file".into(),
            source: e,
        })?;
        let entry =
            offsite.bring_in_sealed(&mut sealed, &upload.original, upload.kit.as_deref(), by)?;
        // The encrypted upload is removed here (it was only the way in).
        drop(upload.raw);
        if let Some(kit) = &upload.kit {
            kit_used(offsite, kit, by);
        }
        Ok(entry)
    } else {
        Ok(offsite.backups().import(upload.raw, &upload.original, by)?)
    }
}

/// A kit just opened a copy: when it holds this shop's current key it is evidently saved, so
/// nobody is asked to save it again. Only logged when that cannot be recorded (the data
/// came in all the same).
pub(super) fn kit_used(offsite: &Offsite, kit: &str, by: &str) {
    if kit.trim().is_empty() {
        return;
    }
    if let Err(e) = offsite.kit_used(kit, by) {
        tracing::warn!(
            "the emergency kit could not be marked as saved: {}",
            crate::error_chain::chain(&e)
        );
    }
}

/// Adds an uploaded backup file (super-admin only).
pub fn add_upload(
    offsite: &Offsite,
    boss: &SuperAdmin,
    upload: Upload,
) -> Result<BackupEntry, ActionError> {
    add(offsite, upload, boss.username())
}

/// Fetches a copy from a configured target into the backups (super-admin only).
pub fn bring_in_copy(
    offsite: &Offsite,
    boss: &SuperAdmin,
    target: &str,
    copy: &str,
) -> Result<BackupEntry, OffsiteError> {
    offsite
        .target(target)
        .and_then(|t| t.bring_in(Some(copy), None, boss.username()))
}
