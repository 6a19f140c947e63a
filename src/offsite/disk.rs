//! A folder target is only off-site when it is somewhere else: not on the disk that holds the
//! data (a dead disk takes both), and not a folder Backroom made up because of a typo or an
//! unplugged USB stick.

use std::path::Path;

use super::settings::{Location, Target};
use super::store::StoreError;
use super::{NewTarget, Offsite, OffsiteError};
use crate::fields::FieldErrors;

/// The words for a target on the data's own disk (the health line and the card).
pub fn same_disk_reason(target: &str) -> String {
    format!("{target} is on the same disk as the data: it does not protect against a dead disk")
}

/// A new folder target's folder must be there, unless making it was asked for explicitly.
pub(super) fn prepare_folder(
    new: &NewTarget,
    errors: &mut FieldErrors,
) -> Result<(), OffsiteError> {
    let Location::Folder { path } = &new.target.location else {
        return Ok(());
    };
    if !path.is_absolute() || path.exists() {
        return Ok(());
    }
    // A path through a file (or unreadable) is left to the test write, which says why.
    if !parent_chain_is_folders(path) {
        return Ok(());
    }
    if new.create_folder {
        return std::fs::create_dir_all(path).map_err(|source| {
            OffsiteError::Store(StoreError::Folder {
                path: path.display().to_string(),
                source,
            })
        });
    }
    errors.add(
        "path",
        format!(
            "The folder {} does not exist. Is the USB stick plugged in, or the network share connected? To make a new folder there, choose “Create the folder” (--create-folder on the command line).",
            path.display()
        ),
    );
    Ok(())
}

/// True when every existing ancestor of `path` is a folder (so it is merely missing).
fn parent_chain_is_folders(path: &Path) -> bool {
    path.ancestors()
        .skip(1)
        .find(|p| p.exists())
        .is_some_and(Path::is_dir)
}

impl Offsite {
    /// Whether a folder target is on the data's disk; `None` when it cannot be told now (the
    /// folder is away). S3 targets are never on it.
    fn on_data_disk(&self, target: &Target) -> Option<bool> {
        let Location::Folder { path } = &target.location else {
            return Some(false);
        };
        if !self.inner.options.check_disk {
            return Some(false);
        }
        let data = crate::platform::volume_id(self.data_dir()).ok()?;
        let there = crate::platform::volume_id(path).ok()?;
        Some(data == there)
    }

    /// Looks at a target's disk again and records it (at set-up and every round: a stick may
    /// be mounted at that folder later, or be away and its empty mount folder left).
    pub(super) fn note_disk(&self, target: &Target) -> Result<(), OffsiteError> {
        let Some(same) = self.on_data_disk(target) else {
            return Ok(());
        };
        let recorded = self
            .state()
            .targets
            .get(&target.name)
            .is_some_and(|t| t.progress.same_disk_as_data);
        if recorded == same {
            return Ok(());
        }
        self.update_state(|s| s.target(&target.name).progress.same_disk_as_data = same)?;
        if same {
            self.inner
                .backups
                .log()
                .warning(&format!("Off-site: {}", same_disk_reason(&target.name)));
        }
        Ok(())
    }
}
