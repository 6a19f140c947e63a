//! Off-site copies: every verified local backup, compressed and encrypted, sent to folders and
//! S3-compatible buckets away from this computer, with tiered retention, restore drills and an
//! emergency kit. No web types here.
//!
//! Nothing of it lives in the business database: targets are in `backroom.toml`, credentials
//! in `offsite-secrets.toml`, the key in `offsite.key`, the status in `offsite-state.json`. A
//! background worker (the server) or `backroom offsite push` (the command line) does the work;
//! an OS lock on `offsite.lock` lets only one of them at a time.

pub mod auth;
pub mod bring_in;
mod cleanup;
mod disk;
mod drill;
mod error;
pub mod folder;
pub mod installation;
pub mod keys;
pub mod kit;
pub mod manifest;
pub mod pass;
pub mod pipeline;
mod plan;
pub mod retention;
pub mod s3;
pub mod settings;
#[cfg(test)]
mod stale_listing_tests;
pub mod state;
mod status;
pub mod store;
mod target;
pub mod transfer;
mod worker;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub use disk::same_disk_reason;
pub use error::OffsiteError;
use keys::Keyring;
use manifest::Manifest;
use settings::{OffsiteSettings, S3Credentials, Secrets, Target};
use state::OffsiteState;
pub use status::{Activity, CopyView, OffsiteStatus, TargetStatus};
use store::Store;
pub use target::TargetHandle;
use transfer::Meter;
pub use worker::Worker;

use crate::backup::BackupFolder;
use crate::clock::SharedClock;
use crate::config::{Paths, Settings};
use crate::fields::FieldErrors;
use crate::fsutil::FileLock;

/// Temp files of drills and off-site restores, beside the live data.
pub const FETCH_TEMP_PREFIX: &str = ".offsite-";

/// How often and how patiently off-site work runs.
#[derive(Debug, Clone, Copy)]
pub struct OffsiteOptions {
    /// How often the worker looks for new backups to send.
    pub poll: Duration,
    /// The first wait after a failure (doubling up to an hour).
    pub retry_base: Duration,
    /// How long a target's list of copies is trusted before it is read again.
    pub index_ttl: Duration,
    /// Tell whether a folder target is on the data's own disk (then it is not off-site). Only
    /// tests turn it off: their targets are temp folders on the data's disk, standing in for a
    /// USB stick that cannot be plugged in there.
    pub check_disk: bool,
}

impl Default for OffsiteOptions {
    fn default() -> Self {
        OffsiteOptions {
            poll: Duration::from_secs(5),
            retry_base: Duration::from_secs(30),
            index_ttl: Duration::from_secs(600),
            check_disk: true,
        }
    }
}

/// A target's store, kept open while its settings and credentials stay the same.
struct OpenStore {
    target: Target,
    credentials: Option<S3Credentials>,
    store: Arc<dyn Store>,
}

/// A target's copies as last read.
struct RemoteIndex {
    read_at: Instant,
    manifests: Vec<Manifest>,
}

struct Inner {
    paths: Paths,
    backups: BackupFolder,
    clock: SharedClock,
    options: OffsiteOptions,
    remote: Mutex<HashMap<String, RemoteIndex>>,
    stores: Mutex<HashMap<String, OpenStore>>,
    activity: Mutex<Option<Activity>>,
    meter: Meter,
    cancel: AtomicBool,
    wake: (Mutex<bool>, Condvar),
    /// Targets whose unfinished uploads of an earlier run were already cleaned up.
    cleaned: Mutex<std::collections::BTreeSet<String>>,
    installation: Mutex<Option<installation::Installation>>,
}

/// The off-site engine. Cheap to clone.
#[derive(Clone)]
pub struct Offsite {
    inner: Arc<Inner>,
}

/// A new target as set up on the page or from the command line.
pub struct NewTarget {
    pub target: Target,
    pub credentials: Option<S3Credentials>,
    /// An emergency kit (file or pasted key) to continue with its key instead of a new one.
    pub kit: Option<String>,
    /// Make a folder target's folder when it does not exist (only when asked: a missing
    /// folder is usually a typo or a USB stick not plugged in).
    pub create_folder: bool,
}

/// What setting up a target did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOutcome {
    /// The first target: a key was made; the kit must be shown and saved.
    Generated,
    /// The key came from the emergency kit given.
    Imported,
    /// The existing key is used.
    Existing,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Offsite {
    pub fn new(
        paths: Paths,
        backups: BackupFolder,
        clock: SharedClock,
        options: OffsiteOptions,
    ) -> Offsite {
        Offsite {
            inner: Arc::new(Inner {
                paths,
                backups,
                clock,
                options,
                remote: Mutex::new(HashMap::new()),
                stores: Mutex::new(HashMap::new()),
                activity: Mutex::new(None),
                meter: Meter::default(),
                cancel: AtomicBool::new(false),
                wake: (Mutex::new(false), Condvar::new()),
                cleaned: Mutex::new(std::collections::BTreeSet::new()),
                installation: Mutex::new(None),
            }),
        }
    }

    fn data_dir(&self) -> &Path {
        &self.inner.paths.data_dir
    }

    /// The off-site part of `backroom.toml`, as it is on disk now.
    pub fn settings(&self) -> Result<OffsiteSettings, OffsiteError> {
        Ok(Settings::load(&self.inner.paths.settings)?.offsite)
    }

    /// The local backups this engine sends.
    pub fn backups(&self) -> &BackupFolder {
        &self.inner.backups
    }

    pub(super) fn keyring(&self) -> Result<Option<Keyring>, OffsiteError> {
        Ok(Keyring::load(self.data_dir())?)
    }

    fn state(&self) -> OffsiteState {
        OffsiteState::load(&self.inner.paths)
    }

    /// Changes the status file under its lock (the server and the command line share it).
    fn update_state(&self, change: impl FnOnce(&mut OffsiteState)) -> Result<(), OffsiteError> {
        let lock_path = self.inner.paths.offsite_state_lock();
        let _lock = FileLock::acquire(&lock_path).map_err(OffsiteError::Lock)?;
        let mut state = self.state();
        change(&mut state);
        Ok(state.save(&self.inner.paths)?)
    }

    /// The store of a configured target (cached while its settings stay the same).
    fn store(&self, target: &Target) -> Result<Arc<dyn Store>, OffsiteError> {
        let secrets = Secrets::load(&self.inner.paths)?;
        let credentials = secrets.s3.get(&target.name).cloned();
        let mut stores = lock(&self.inner.stores);
        if let Some(open) = stores.get(&target.name)
            && open.target == *target
            && open.credentials == credentials
        {
            return Ok(open.store.clone());
        }
        let store: Arc<dyn Store> = Arc::from(target.open(&secrets)?);
        stores.insert(
            target.name.clone(),
            OpenStore {
                target: target.clone(),
                credentials,
                store: store.clone(),
            },
        );
        Ok(store)
    }

    fn find_target(&self, name: &str) -> Result<Target, OffsiteError> {
        self.settings()?
            .target(name)
            .cloned()
            .ok_or_else(|| OffsiteError::NoTarget(name.to_string()))
    }

    /// Sets up a target: checks the fields, proves the target can be written, read and
    /// cleaned (a test file), makes or imports the key, and saves it all. Nothing is saved
    /// when any step fails.
    pub fn add_target(&self, new: NewTarget, user: &str) -> Result<KeyOutcome, OffsiteError> {
        let mut errors = FieldErrors::default();
        new.target.check(&mut errors);
        let current = self.settings()?;
        if current.target(&new.target.name).is_some() {
            errors.add(
                "name",
                format!("There is already a target named {}.", new.target.name),
            );
        }
        let imported = match new.kit.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
            Some(text) => match Keyring::from_kit(text) {
                Ok(keys) => Some(keys),
                Err(e) => {
                    errors.add("kit", crate::error_chain::chain(&e));
                    None
                }
            },
            None => None,
        };
        errors.into_result(()).map_err(OffsiteError::Invalid)?;
        let mut folder = FieldErrors::default();
        disk::prepare_folder(&new, &mut folder)?;
        folder.into_result(()).map_err(OffsiteError::Invalid)?;
        let mut secrets = Secrets::load(&self.inner.paths)?;
        if let Some(credentials) = &new.credentials {
            secrets
                .s3
                .insert(new.target.name.clone(), credentials.clone());
        }
        let store = new.target.open(&secrets)?;
        store::probe(store.as_ref(), self.inner.clock.now())?;
        let (keys, outcome) = match (self.keyring()?, imported) {
            (None, None) => (
                Keyring::generate(self.inner.clock.now()),
                KeyOutcome::Generated,
            ),
            (None, Some(kit)) => (kit, KeyOutcome::Imported),
            (Some(mut existing), Some(kit)) => {
                existing.merge(&kit);
                (existing, KeyOutcome::Imported)
            }
            (Some(existing), None) => (existing, KeyOutcome::Existing),
        };
        keys.save(self.data_dir())?;
        if new.credentials.is_some() {
            secrets.save(&self.inner.paths)?;
        }
        let target = new.target.clone();
        Settings::update_file(&self.inner.paths.settings, move |s| {
            s.offsite.targets.retain(|t| t.name != target.name);
            s.offsite.targets.push(target);
        })?;
        // The backup log is on the page staff see too: where the copies go stays out of it.
        self.inner.backups.log().info(&format!(
            "Off-site target added: {} ({}) by {user}",
            new.target.name,
            new.target.kind_label()
        ));
        tracing::info!(
            "off-site target {} is {}",
            new.target.name,
            new.target.describe()
        );
        self.note_disk(&new.target)?;
        self.wake();
        Ok(outcome)
    }

    /// A new key for new copies; the old ones stay in the key file (and in the next kit) so
    /// older copies stay readable. The new kit must be saved again.
    pub fn rotate_key(&self, user: &str) -> Result<(), OffsiteError> {
        let mut keys = self.keyring()?.ok_or(OffsiteError::NoKey)?;
        keys.rotate(self.inner.clock.now());
        keys.save(self.data_dir())?;
        self.inner.backups.log().warning(&format!(
            "Off-site key changed by {user}: new copies use the new key; save the new emergency kit"
        ));
        Ok(())
    }

    /// The emergency kit, with every key (never an S3 secret); `address` is where Backroom
    /// answers (`http://localhost:5000/`).
    pub fn kit_text(&self, address: &str) -> Result<String, OffsiteError> {
        let keys = self.keyring()?.ok_or(OffsiteError::NoKey)?;
        let targets = self.settings()?.targets;
        Ok(kit::text(
            &keys,
            &targets,
            &self.data_dir().display().to_string(),
            address,
            self.inner.clock.now(),
        ))
    }

    /// The same kit's facts for the printed page.
    pub fn printed_kit(&self) -> Result<kit::PrintedKit, OffsiteError> {
        let keys = self.keyring()?.ok_or(OffsiteError::NoKey)?;
        let targets = self.settings()?.targets;
        Ok(kit::PrintedKit::new(
            &keys,
            &targets,
            &self.data_dir().display().to_string(),
            self.inner.clock.now(),
        ))
    }

    /// A super-admin says the kit of the current key is saved.
    pub fn confirm_kit(&self, user: &str) -> Result<(), OffsiteError> {
        self.mark_kit_saved(&format!("Emergency kit confirmed as saved by {user}"))
    }

    /// A restore or bring-in just opened copies with `kit`: when it holds the current key,
    /// the kit is evidently saved, and is marked so (no need to ask).
    pub fn kit_used(&self, kit: &str, user: &str) -> Result<(), OffsiteError> {
        let given = Keyring::from_kit(kit.trim())?;
        let Some(own) = self.keyring()? else {
            return Ok(());
        };
        let current = own.current().public();
        if given.keys().iter().any(|k| k.public() == current) {
            self.mark_kit_saved(&format!(
                "Emergency kit marked as saved: {user} just used it to bring data back"
            ))?;
        }
        Ok(())
    }

    /// Records that the kit of the current key, naming today's targets, is saved.
    fn mark_kit_saved(&self, log_line: &str) -> Result<(), OffsiteError> {
        let keys = self.keyring()?.ok_or(OffsiteError::NoKey)?;
        let public = keys.current().public();
        let places = kit::places(&self.settings()?.targets);
        let now = self.inner.clock.now();
        self.update_state(|s| {
            s.kit_confirmed_at = Some(now);
            s.kit_confirmed_for = Some(public);
            s.kit_confirmed_targets = Some(places);
        })?;
        self.inner.backups.log().info(log_line);
        Ok(())
    }

    /// Asks the worker to look for work now.
    pub(crate) fn wake(&self) {
        let (flag, cond) = &self.inner.wake;
        *lock(flag) = true;
        cond.notify_all();
    }

    /// Stops uploads and downloads at the next chunk (shutdown).
    pub fn cancel(&self) {
        self.inner
            .cancel
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.wake();
    }
}
