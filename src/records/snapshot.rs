//! A backup opened for reading its records: the file itself, read-only and immutable, pinned
//! so that retention or a deletion waits (a deletion says "in use") while it is read, once its
//! schema is known to be exactly Backroom's. A backup of an older schema is copied to a temp
//! file in the backup folder and migrated there.

use rusqlite::Connection;

use super::RecordsError;
use crate::backup::schema;
use crate::backup::temp_file::TempFile;
use crate::backup::{BackupEngine, BackupEntry, BackupState, Pin, TEMP_PREFIX};
use crate::db::{self, DbError};

pub struct Snapshot<'a> {
    pub entry: BackupEntry,
    pub conn: Connection,
    /// The migrated copy of an older backup (removed when done).
    _migrated: Option<TempFile>,
    _pin: Pin<'a>,
}

impl<'a> Snapshot<'a> {
    pub fn open(engine: &'a BackupEngine, name: &str) -> Result<Snapshot<'a>, RecordsError> {
        let entry = engine.find(name)?;
        let pin = engine.pin(&entry.file_name);
        if let BackupState::Failed(_) = entry.state() {
            return Err(RecordsError::Unfit(entry.file_name.clone()));
        }
        let open_error = |source: DbError| RecordsError::Open {
            name: entry.file_name.clone(),
            source,
        };
        let conn = db::open_immutable(&entry.path).map_err(|e| open_error(e.into()))?;
        // Nothing in the file is queried before its schema is known to be Backroom's (a view
        // of its own making could run for ever).
        let version = schema::check(&conn).map_err(|source| RecordsError::Foreign {
            name: entry.file_name.clone(),
            source,
        })?;
        if version >= db::SCHEMA_VERSION {
            return Ok(Snapshot {
                entry,
                conn,
                _migrated: None,
                _pin: pin,
            });
        }
        drop(conn);
        let temp = TempFile::new(engine.backups_dir(), TEMP_PREFIX);
        std::fs::copy(&entry.path, &temp.path).map_err(|source| RecordsError::Copy {
            name: entry.file_name.clone(),
            source,
        })?;
        let mut conn = Connection::open(&temp.path).map_err(|e| open_error(e.into()))?;
        db::migrations::migrate(&mut conn, &temp.path).map_err(open_error)?;
        Ok(Snapshot {
            entry,
            conn,
            _migrated: Some(temp),
            _pin: pin,
        })
    }

    /// True when the file has an older schema and a migrated copy is read instead.
    pub fn was_migrated(&self) -> bool {
        self._migrated.is_some()
    }
}
