//! How a use-case says no: a refusal worded for the person, or the failure of the engine it
//! called (carried as its source, classified by the web layer).

use crate::auth::AuthError;
use crate::auth::permission::Denied;
use crate::auth::store::StoreError;
use crate::backup::BackupError;
use crate::config::ConfigError;
use crate::db::DbError;
use crate::offsite::OffsiteError;
use crate::records::RecordsError;

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// What was sent cannot be used as it is (the message says what to change).
    #[error("{0}")]
    Invalid(String),
    /// Too soon after the last time (the message says how long to wait).
    #[error("{0}")]
    TooSoon(String),
    /// The actor may not do this (logged where it matters).
    #[error("{0}")]
    NotAllowed(String),
    /// The state of things does not allow it (e.g. accounts exist already).
    #[error("{0}")]
    Conflict(String),
    /// A backup table that does not exist.
    #[error("no such table")]
    NoSuchTable,
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error(transparent)]
    Backup(#[from] BackupError),
    #[error(transparent)]
    Offsite(#[from] OffsiteError),
    #[error(transparent)]
    Records(#[from] RecordsError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Sessions(#[from] StoreError),
    /// The backup settings could not be saved.
    #[error(transparent)]
    SaveSettings(ConfigError),
}
