//! Bringing a copy into this computer's backups: a copy on a target (configured, or only connected
//! to on a fresh install), or a lone `.db.zst.age` file with its emergency kit. It is
//! decrypted and unpacked into the backup folder (never more than its manifest declares, or
//! than the disk can take), checked, and added to the catalog as an uploaded backup; from
//! there it restores like any other backup.

use std::io::Read;

use super::keys::Keyring;
use super::manifest::Manifest;
use super::pass::read_index;
use super::settings::Secrets;
use super::store::Store;
use super::target::TargetHandle;
use super::transfer;
use super::{NewTarget, Offsite, OffsiteError, pipeline};
use crate::backup::{BackupEntry, BackupError};

/// The first bytes of every age file.
pub const AGE_MAGIC: &[u8] = b"age-encryption.org/v1";

/// True when the file starts like an age-encrypted one.
pub fn looks_sealed(first_bytes: &[u8]) -> bool {
    first_bytes.starts_with(AGE_MAGIC)
}

/// A target connected to without saving it (the first-run page on a new computer): its copies
/// can be listed and brought in; it is saved only once the data is back.
pub struct Connected {
    store: Box<dyn Store>,
    keys: Keyring,
}

impl Connected {
    /// The copies on it, newest first.
    pub fn copies(&self) -> Result<Vec<Manifest>, OffsiteError> {
        let mut copies = read_index(self.store.as_ref(), Some(&self.keys))?;
        super::manifest::sort_newest_first(&mut copies);
        Ok(copies)
    }
}

/// A copy this shop did not make is never brought back (it could be anyone's data, with
/// anyone's accounts).
fn refuse_foreign(manifest: &Manifest) -> Result<(), OffsiteError> {
    if manifest.is_trusted() {
        return Ok(());
    }
    Err(OffsiteError::NotOurs {
        copy: manifest.copy.clone(),
        reason: manifest.trust.reason(),
    })
}

impl Offsite {
    /// This computer's keys, plus the ones in `kit` when one is given.
    fn opening_keys(&self, kit: Option<&str>) -> Result<Keyring, OffsiteError> {
        let own = self.keyring()?;
        let given = match kit.map(str::trim).filter(|k| !k.is_empty()) {
            Some(text) => Some(Keyring::from_kit(text)?),
            None => None,
        };
        match (own, given) {
            (Some(mut own), Some(given)) => {
                own.merge(&given);
                Ok(own)
            }
            (Some(keys), None) | (None, Some(keys)) => Ok(keys),
            (None, None) => Err(OffsiteError::NeedKit),
        }
    }

    /// Opens a target from its details without saving anything (checks the fields first).
    pub fn connect(&self, new: &NewTarget) -> Result<Connected, OffsiteError> {
        let mut errors = crate::fields::FieldErrors::default();
        new.target.check(&mut errors);
        errors.into_result(()).map_err(OffsiteError::Invalid)?;
        let keys = self.opening_keys(new.kit.as_deref())?;
        let mut secrets = Secrets::default();
        if let Some(credentials) = &new.credentials {
            secrets
                .s3
                .insert(new.target.name.clone(), credentials.clone());
        }
        Ok(Connected {
            store: new.target.open(&secrets)?,
            keys,
        })
    }

    /// Downloads `copy` from a connected target and adds it to the local backups.
    pub fn bring_in_connected(
        &self,
        connected: &Connected,
        copy: &str,
        by: &str,
    ) -> Result<BackupEntry, OffsiteError> {
        let copies = connected.copies()?;
        let manifest = copies
            .iter()
            .find(|m| m.copy == copy)
            .ok_or_else(|| OffsiteError::NoCopy(copy.to_string()))?;
        refuse_foreign(manifest)?;
        self.fetch_and_import(connected.store.as_ref(), &connected.keys, manifest, by)
    }

    fn fetch_and_import(
        &self,
        store: &dyn Store,
        keys: &Keyring,
        manifest: &Manifest,
        by: &str,
    ) -> Result<BackupEntry, OffsiteError> {
        let engine = &self.inner.backups;
        let incoming = engine.incoming()?;
        if manifest.plain_size > incoming.limit() {
            return Err(BackupError::TooLarge {
                limit: incoming.limit(),
            }
            .into());
        }
        transfer::fetch_to(
            store,
            &keys.identities(),
            manifest,
            incoming.path(),
            &self.inner.meter,
            &self.inner.cancel,
        )?;
        let original = format!("{}.db.zst.age", manifest.copy);
        Ok(engine.import(incoming, &original, by)?)
    }

    /// Decrypts and unpacks a lone `.db.zst.age` (read from `sealed`) into the local backups,
    /// with this computer's key or the kit's. Without a manifest the only limit is the disk.
    pub fn bring_in_sealed(
        &self,
        sealed: &mut dyn Read,
        original: &str,
        kit: Option<&str>,
        by: &str,
    ) -> Result<BackupEntry, OffsiteError> {
        let keys = self.opening_keys(kit)?;
        let engine = &self.inner.backups;
        let incoming = engine.incoming()?;
        let file = std::fs::File::create(incoming.path()).map_err(OffsiteError::Temp)?;
        let (_, file) = pipeline::open(
            sealed,
            &keys.identities(),
            std::io::BufWriter::new(file),
            incoming.limit(),
        )
        .map_err(|e| match e {
            pipeline::PipelineError::TooLarge { limit } => {
                OffsiteError::Backup(BackupError::TooLarge { limit })
            }
            other => other.into(),
        })?;
        transfer::close_unpacked(file)?;
        Ok(engine.import(incoming, original, by)?)
    }

    /// Keeps the key of an emergency kit for later targets (bringing data back on a new
    /// computer from a file): old copies stay readable and new ones use the same key.
    pub fn adopt_kit(&self, kit: &str) -> Result<(), OffsiteError> {
        let given = Keyring::from_kit(kit.trim())?;
        let keys = match self.keyring()? {
            Some(mut own) => {
                own.merge(&given);
                own
            }
            None => given,
        };
        Ok(keys.save(self.data_dir())?)
    }
}

impl TargetHandle<'_> {
    /// Downloads `copy` (or the newest when `None`) from this target and adds it to the local
    /// backups.
    pub fn bring_in(
        &self,
        copy: Option<&str>,
        kit: Option<&str>,
        by: &str,
    ) -> Result<BackupEntry, OffsiteError> {
        let (offsite, target) = (self.offsite, &self.target);
        let keys = offsite.opening_keys(kit)?;
        let store = offsite.store(target)?;
        // Checked with the keys given too (a kit that is not saved here yet).
        let copies = read_index(store.as_ref(), Some(&keys))?;
        let manifest = match copy {
            Some(name) => copies.iter().find(|m| m.copy == name),
            None => {
                super::installation::newest(&copies, &offsite.installation()?.id, &target.name)?
            }
        }
        .ok_or_else(|| {
            OffsiteError::NoCopy(
                copy.map_or_else(|| format!("any copy on {}", target.name), str::to_string),
            )
        })?;
        refuse_foreign(manifest)?;
        offsite.fetch_and_import(store.as_ref(), &keys, manifest, by)
    }
}
