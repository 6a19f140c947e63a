//! Why an off-site operation did not work, in words for the person at the page.

use super::keys::KeyError;
use super::pipeline::PipelineError;
use super::settings::SecretsError;
use super::state::StateError;
use super::store::StoreError;
use crate::backup::BackupError;
use crate::config::ConfigError;
use crate::fields::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum OffsiteError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Settings(#[from] ConfigError),
    #[error(transparent)]
    Backup(#[from] BackupError),
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Installation(#[from] super::installation::InstallationError),
    #[error(
        "{target} holds copies from {count} installations, so the newest is not picked for you: {list}. Name the copy to bring back (`backroom offsite list {target}` shows them all)"
    )]
    SeveralInstallations {
        target: String,
        count: usize,
        list: String,
    },
    #[error("there is no off-site key yet: set up a target first")]
    NoKey,
    #[error(
        "this computer has no off-site key: give the emergency kit (the file, or the AGE-SECRET-KEY-1… line) to open the copy"
    )]
    NeedKit,
    #[error("no off-site target is named {0:?}")]
    NoTarget(String),
    #[error("the target {0} is turned off")]
    Disabled(String),
    #[error("cannot read the local backup {name}: {}", crate::fsutil::plain_io(.source))]
    ReadBackup {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the backup {0} has no record yet (verify it first)")]
    NoRecord(String),
    #[error(
        "the backup {0} changed while it was being sent (its checksum differs from its record); nothing was kept"
    )]
    Changed(String),
    #[error(
        "the copy {copy} was not made by this shop ({reason}), so it is not brought back: anyone who can write to the target could have put it there"
    )]
    NotOurs { copy: String, reason: &'static str },
    #[error("{0} is not on the target")]
    NoCopy(String),
    #[error("the copy {copy} does not match its record: {what}")]
    Mismatch { copy: String, what: String },
    #[error("the copy {copy} unpacked, but the data in it is damaged: {problem}")]
    Damaged {
        copy: String,
        #[source]
        problem: crate::db::DbError,
    },
    #[error("the copy {copy} unpacked, but it is not a Backroom backup: {problem}")]
    Foreign {
        copy: String,
        #[source]
        problem: crate::backup::SchemaError,
    },
    #[error("cannot write a temporary file for the check: {}", crate::fsutil::plain_io(.0))]
    Temp(#[source] std::io::Error),
    #[error("off-site work was cancelled because the program is shutting down")]
    Cancelled,
    #[error(
        "another Backroom program is sending off-site copies right now; try again when it has finished"
    )]
    Busy,
    #[error("cannot take the off-site lock: {}", crate::fsutil::plain_io(.0))]
    Lock(#[source] std::io::Error),
}

impl OffsiteError {
    /// True when the target did not answer at all (the network, not the target's contents).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, OffsiteError::Store(StoreError::Unreachable { .. }))
    }
}
