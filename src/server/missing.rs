//! The data file is gone but backups exist (a sync client, a mistaken delete, a bad disk):
//! Backroom never makes an empty shop then. It starts into a page (served only to the
//! computer itself) that offers the newest good backup and the off-site copies, and changes
//! nothing in `database_backups/` until someone chooses. Starting over empty is a choice too
//! (`--new-empty-shop` or the page's button); the backups are kept either way.

use std::sync::{Mutex, OnceLock};

use actix_web::dev::ServerHandle;

use super::StartError;
use crate::backup::catalog::{self, BackupEntry};
use crate::backup::restore::{OfflineTarget, RestoreOptions, restore_offline};
use crate::backup::{Accounts, BackupError, BackupFolder, RestoreReport, lock};
use crate::config::{Paths, Settings};
use crate::fsutil::FileLock;
use crate::offsite::settings::Target;
use crate::offsite::{Offsite, OffsiteError, OffsiteOptions};

/// What says there was data here: backups in `database_backups/` or off-site targets.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// Every backup file, newest first.
    pub backups: Vec<BackupEntry>,
    pub targets: Vec<Target>,
}

impl Evidence {
    /// The backup a restore from the page or `restore --latest` tries first.
    pub fn newest_good(&self) -> Option<&BackupEntry> {
        catalog::emergency_choice(&self.backups)
    }
}

/// `Some` when the data file is missing although backups say there was data.
pub fn data_missing(paths: &Paths) -> Result<Option<Evidence>, StartError> {
    if paths.db.exists() {
        return Ok(None);
    }
    let backups = catalog::list(&paths.backups).map_err(StartError::io(format!(
        "cannot read {}",
        paths.backups.display()
    )))?;
    let targets = Settings::load(&paths.settings)?.offsite.targets;
    if backups.is_empty() && targets.is_empty() {
        return Ok(None);
    }
    Ok(Some(Evidence { backups, targets }))
}

/// What the person chose on the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// The data is back in place (from this backup).
    Restored(String),
    /// Start over with an empty shop; the backups are kept.
    NewEmptyShop,
}

/// The server while the data is missing: holds the data folder until a choice is made.
pub struct Missing {
    pub paths: Paths,
    /// Proves a form came from the page (no sessions exist in this state).
    pub token: String,
    lock: Mutex<Option<FileLock>>,
    choice: Mutex<Option<Choice>>,
    /// The page's own server, stopped once a choice is made.
    pub handle: OnceLock<ServerHandle>,
    /// The names this server answers to (the `Host` check).
    pub hosts: crate::web::http::host_guard::AllowedHosts,
}

impl Missing {
    pub fn new(paths: Paths, lock: FileLock) -> Missing {
        Missing {
            paths,
            token: crate::fsutil::random_hex(16),
            lock: Mutex::new(Some(lock)),
            choice: Mutex::new(None),
            handle: OnceLock::new(),
            hosts: crate::web::http::host_guard::AllowedHosts::default(),
        }
    }

    /// Reads the backup folder and the settings again (they may have changed meanwhile).
    pub fn evidence(&self) -> Result<Evidence, StartError> {
        Ok(data_missing(&self.paths)?.unwrap_or(Evidence {
            backups: Vec::new(),
            targets: Vec::new(),
        }))
    }

    pub fn choice(&self) -> Option<Choice> {
        lock(&self.choice).clone()
    }

    /// Records the choice and stops the page's server (call from an async handler).
    pub fn choose(&self, choice: Choice) {
        *lock(&self.choice) = Some(choice);
        if let Some(handle) = self.handle.get() {
            let handle = handle.clone();
            actix_web::rt::spawn(async move { handle.stop(true).await });
        }
    }

    /// Runs `work` without this server's lock on the data folder (the offline restore takes
    /// it itself); takes it back when the work failed.
    fn unlocked<T>(&self, work: impl FnOnce() -> Result<T, RescueError>) -> Result<T, RescueError> {
        drop(lock(&self.lock).take());
        let result = work();
        if result.is_err()
            && let Ok(Some(again)) = FileLock::try_acquire(&self.paths.server_lock)
        {
            *lock(&self.lock) = Some(again);
        }
        result
    }

    /// Restores the newest backup that passes its checks, with the accounts in it. Blocking;
    /// the caller then [`Missing::choose`]s.
    pub fn restore_newest(&self) -> Result<RestoreReport, RescueError> {
        self.unlocked(|| {
            Ok(restore_offline(
                &self.paths,
                &OfflineTarget::Latest,
                BY,
                as_in_backup(),
            )?)
        })
    }

    /// Brings the newest copy in from an off-site target, restores it, and backs it up as a
    /// manual backup (a copy brought in is not a regular backup). Blocking.
    pub fn restore_offsite(&self, target: &str) -> Result<RestoreReport, RescueError> {
        self.unlocked(|| {
            let settings = Settings::load(&self.paths.settings).map_err(RescueError::Settings)?;
            let backups = BackupFolder::new(
                self.paths.clone(),
                std::sync::Arc::new(std::sync::RwLock::new(settings.clone())),
            );
            let offsite = Offsite::new(
                self.paths.clone(),
                backups,
                crate::clock::system(),
                OffsiteOptions::default(),
            );
            let entry = offsite.target(target)?.bring_in(None, None, BY)?;
            let report = restore_offline(
                &self.paths,
                &OfflineTarget::Named(entry.file_name),
                BY,
                as_in_backup(),
            )?;
            crate::backup::restore::backup_after_bringing_in(&self.paths, settings, BY)?;
            Ok(report)
        })
    }

    /// Lets go of the data folder (the normal start takes it again).
    pub fn release(&self) {
        drop(lock(&self.lock).take());
    }
}

/// Why a restore from the page did not happen (nothing was changed).
#[derive(Debug, thiserror::Error)]
pub enum RescueError {
    #[error(transparent)]
    Backup(#[from] BackupError),
    #[error(transparent)]
    Offsite(#[from] OffsiteError),
    #[error(transparent)]
    Settings(crate::config::ConfigError),
}

/// Who the log names for what the page does.
const BY: &str = "the start-up page";

fn as_in_backup() -> RestoreOptions {
    RestoreOptions {
        accounts: Accounts::AsInBackup,
    }
}

/// What the console says when Backroom starts this way.
pub fn console_text(paths: &Paths, evidence: &Evidence, url: &str) -> String {
    let mut text = format!(
        "The data file {} is missing, but there are backups of it.\n",
        paths.db.display()
    );
    match evidence.newest_good() {
        Some(entry) => text.push_str(&format!(
            "The newest good backup is {} ({}, {}).\n",
            entry.file_name,
            entry.kind().label(),
            crate::timefmt::local(entry.created_at())
        )),
        None => text.push_str("No backup in database_backups/ can be used.\n"),
    }
    if !evidence.targets.is_empty() {
        let names: Vec<&str> = evidence.targets.iter().map(|t| t.name.as_str()).collect();
        text.push_str(&format!("Off-site copies: {}.\n", names.join(", ")));
    }
    text.push_str(&format!(
        "Backroom did not make an empty shop and changed nothing in {}.\n\
         To bring the data back, open {url} on this computer, or stop Backroom (Ctrl-C) and run:\n    {}\n",
        paths.backups.display(),
        crate::platform::RESTORE_LATEST_COMMAND
    ));
    if let Some(target) = evidence.targets.first() {
        text.push_str(&format!(
            "or, from an off-site copy:\n    {} restore --offsite {} --latest\n",
            crate::platform::EXE_COMMAND,
            target.name
        ));
    }
    text.push_str(&format!(
        "To start over with an empty shop instead (the backups are kept):\n    {} --new-empty-shop",
        crate::platform::EXE_COMMAND
    ));
    text
}
