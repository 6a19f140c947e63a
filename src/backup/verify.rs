//! Checking backups: whether a file is fit to use given its record (size, SHA-256, SQLite's
//! check, schema version, a schema exactly Backroom's), and re-verifying backups on request with the result recorded.

use super::catalog::{self, BackupEntry, BackupState, Origin, Sidecar, Verification};
use super::copy::{self, FileFacts};
use super::health::CheckMethod;
use super::operation::Operation;
use super::schema::SchemaError;
use super::{BackupError, BackupFolder};
use crate::db::DbError;

/// Why a backup must not be used.
#[derive(Debug, thiserror::Error)]
pub enum Unfit {
    #[error(
        "the file is {found} bytes but was {recorded} bytes when made (it was truncated or changed)"
    )]
    SizeChanged { found: u64, recorded: u64 },
    #[error("its SHA-256 checksum does not match the one recorded when it was made")]
    ChecksumMismatch,
    #[error("SQLite integrity check failed: {0}")]
    Check(#[source] DbError),
    #[error("it was made by a newer version of Backroom (schema {found} > {known})")]
    TooNew { found: i64, known: i64 },
    #[error("its row counts differ from the ones recorded when it was made")]
    RowCountsDiffer,
    #[error("cannot read it: {}", crate::fsutil::plain_io(.0))]
    Unreadable(#[source] std::io::Error),
    /// Its schema is not exactly Backroom's for its version.
    #[error("it is not a Backroom backup: {0}")]
    Foreign(#[source] SchemaError),
}

/// Whether a backup's bytes are fit to use, given its recorded facts and its check.
pub(super) fn judge(
    sidecar: Option<&Sidecar>,
    facts: &FileFacts,
    check: Result<(), DbError>,
    schema: Result<(), SchemaError>,
) -> Result<(), Unfit> {
    if let Some(s) = sidecar {
        if s.size != facts.size {
            return Err(Unfit::SizeChanged {
                found: facts.size,
                recorded: s.size,
            });
        }
        if !s.sha256.eq_ignore_ascii_case(&facts.sha256) {
            return Err(Unfit::ChecksumMismatch);
        }
    }
    check.map_err(Unfit::Check)?;
    if facts.schema_version > crate::db::SCHEMA_VERSION {
        return Err(Unfit::TooNew {
            found: facts.schema_version,
            known: crate::db::SCHEMA_VERSION,
        });
    }
    schema.map_err(Unfit::Foreign)
}

impl BackupFolder {
    /// Re-checks a backup: SHA-256 against its record and `quick_check` (`integrity_check`
    /// when `full`). The result is written to its sidecar (a lost sidecar is rebuilt).
    /// Runs under the operation lock, so a backup replacing the same name (the startup
    /// backup) or retention cannot change the file while its record is rewritten.
    pub(crate) fn verify(
        &self,
        name: &str,
        full: bool,
        user: &str,
    ) -> Result<BackupEntry, BackupError> {
        let _guard = self.begin(Operation::Verification, name)?;
        let entry = self.find(name)?;
        self.verify_unlocked(&entry, full, user)
    }

    /// [`BackupFolder::verify`] for a caller that already holds the operation lock.
    pub(crate) fn verify_unlocked(
        &self,
        entry: &BackupEntry,
        full: bool,
        user: &str,
    ) -> Result<BackupEntry, BackupError> {
        let _pin = self.pin(&entry.file_name);
        let (facts, verdict) = self.check_entry(entry, full)?;
        let method = if full {
            CheckMethod::Full
        } else {
            CheckMethod::Quick
        }
        .as_str();
        let verification = Verification::of(method, self.clock.now(), &verdict);
        let mut sidecar = match entry.sidecar.clone() {
            Some(sidecar) => sidecar,
            // Lost record: rebuilt from the file; who made it and why are unknown.
            None => Sidecar::from_facts(
                Origin {
                    kind: entry.kind(),
                    file_name: entry.file_name.clone(),
                    created_at: entry.created_at(),
                    created_by: "unknown".into(),
                    description: String::new(),
                    duration_ms: 0,
                },
                &facts,
                verification.clone(),
                None,
            ),
        };
        sidecar.verification = verification;
        // A good file that was only touched (copied back, mtime changed) is good again; a file
        // whose bytes changed keeps its original hash and size so it stays marked as failed.
        if verdict.is_ok() {
            sidecar.file_mtime_ms = entry.mtime_ms();
        }
        self.invalidate_health();
        catalog::write_sidecar(&entry.path, &sidecar)
            .map_err(BackupError::io("cannot write the backup's record"))?;
        match &verdict {
            Ok(()) => self.inner.log.info(&format!(
                "Backup verified: {} ({method} ok, SHA-256 matches) by {user}",
                entry.file_name
            )),
            Err(reason) => self.inner.log.error(&format!(
                "Backup verification failed: {}: {reason} (by {user})",
                entry.file_name
            )),
        }
        self.find(&entry.file_name)
    }

    /// Hashes and checks a backup file: the facts, and why it must not be used if so.
    fn check_entry(
        &self,
        entry: &BackupEntry,
        full: bool,
    ) -> Result<(FileFacts, Result<(), Unfit>), BackupError> {
        let inspected = copy::inspect_file(&entry.path, full)?;
        let verdict = judge(
            entry.sidecar.as_ref(),
            &inspected.facts,
            inspected.check,
            inspected.schema,
        );
        Ok((inspected.facts, verdict))
    }

    /// Verifies every backup; returns (name, result) pairs.
    pub(crate) fn verify_all(
        &self,
        full: bool,
        user: &str,
    ) -> Result<Vec<(String, BackupState)>, BackupError> {
        let _guard = self.begin(Operation::Verification, "all backups")?;
        let mut results = Vec::new();
        for entry in self.list()? {
            let checked = self.verify_unlocked(&entry, full, user)?;
            results.push((checked.file_name.clone(), checked.state()));
        }
        Ok(results)
    }
}
