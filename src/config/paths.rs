//! Every file and folder Backroom keeps in the data folder, by name, in one place: the
//! README's "Where the data lives" table in code. Nothing else spells a file name out.

use std::path::{Path, PathBuf};

use super::ConfigError;

pub const DB_FILE: &str = "business_data.db";
pub const BACKUPS_DIR: &str = "database_backups";
pub const SETTINGS_FILE: &str = "backroom.toml";
pub const SESSION_KEY_FILE: &str = "session.key";
pub const SESSIONS_FILE: &str = "sessions.db";
pub const OFFSITE_KEY_FILE: &str = "offsite.key";
pub const OFFSITE_SECRETS_FILE: &str = "offsite-secrets.toml";
pub const INSTALLATION_FILE: &str = "installation.json";
pub const OFFSITE_STATE_FILE: &str = "offsite-state.json";
pub const OFFSITE_LOCK_FILE: &str = "offsite.lock";
pub const SERVER_LOCK_FILE: &str = "backroom.lock";
pub const ALERTS_SECRETS_FILE: &str = "alerts-secrets.toml";
pub const ALERTS_STATE_FILE: &str = "alerts-state.json";
/// In the backup folder.
pub const BACKUP_LOG_FILE: &str = "backup.log";
/// In the backup folder.
pub const RECOVERY_FILE: &str = "RECOVERY.txt";
/// In the backup folder: one backup operation at a time, across processes.
pub const BACKUP_LOCK_FILE: &str = ".backup.lock";

/// Every file path the program uses, derived from one data folder.
#[derive(Debug, Clone)]
pub struct Paths {
    pub data_dir: PathBuf,
    pub db: PathBuf,
    pub backups: PathBuf,
    pub settings: PathBuf,
    pub session_key: PathBuf,
    pub server_lock: PathBuf,
}

impl Paths {
    pub fn new(data_dir: &Path) -> Paths {
        Paths {
            data_dir: data_dir.to_path_buf(),
            db: data_dir.join(DB_FILE),
            backups: data_dir.join(BACKUPS_DIR),
            settings: data_dir.join(SETTINGS_FILE),
            session_key: data_dir.join(SESSION_KEY_FILE),
            server_lock: data_dir.join(SERVER_LOCK_FILE),
        }
    }

    /// Resolves the data folder (the override, else the executable's folder with symlinks
    /// followed), creates it if needed and proves it is writable.
    pub fn resolve(data_dir_override: Option<&Path>) -> Result<Paths, ConfigError> {
        let dir = match data_dir_override {
            Some(dir) => dir.to_path_buf(),
            None => executable_dir()?,
        };
        ensure_writable(&dir)?;
        // dunce: a plain `C:\...` path on Windows, not the verbatim `\\?\C:\...` that
        // SQLite, people and RECOVERY.txt would trip over.
        let dir = dunce::canonicalize(&dir).unwrap_or(dir);
        Ok(Paths::new(&dir))
    }

    /// `business_data.db-wal` / `-shm` beside the live database.
    pub fn db_sidecar(&self, suffix: &str) -> PathBuf {
        let mut name = self.db.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    }

    /// `business_data.db.lock`: every process using the database holds it shared, a restore
    /// without the server alone.
    pub fn db_lock(&self) -> PathBuf {
        crate::db::use_lock_path(&self.db)
    }

    /// The server-side sessions, outside the business database.
    pub fn sessions(&self) -> PathBuf {
        self.data_dir.join(SESSIONS_FILE)
    }

    /// The age identity that opens off-site copies.
    pub fn offsite_key(&self) -> PathBuf {
        self.data_dir.join(OFFSITE_KEY_FILE)
    }

    /// The S3 credentials of the off-site targets.
    pub fn offsite_secrets(&self) -> PathBuf {
        self.data_dir.join(OFFSITE_SECRETS_FILE)
    }

    /// This installation's id in the off-site manifests.
    pub fn installation(&self) -> PathBuf {
        self.data_dir.join(INSTALLATION_FILE)
    }

    /// What happened with each off-site target.
    pub fn offsite_state(&self) -> PathBuf {
        self.data_dir.join(OFFSITE_STATE_FILE)
    }

    /// The lock around changes to [`Paths::offsite_state`] (the server and the command line
    /// share the file).
    pub fn offsite_state_lock(&self) -> PathBuf {
        self.data_dir.join(format!("{OFFSITE_STATE_FILE}.lock"))
    }

    /// The lock that lets one process at a time do off-site work.
    pub fn offsite_lock(&self) -> PathBuf {
        self.data_dir.join(OFFSITE_LOCK_FILE)
    }

    /// SMTP passwords and webhook and heartbeat addresses of the alert channels.
    pub fn alerts_secrets(&self) -> PathBuf {
        self.data_dir.join(ALERTS_SECRETS_FILE)
    }

    /// What alerts told and when, and the messages still waiting.
    pub fn alerts_state(&self) -> PathBuf {
        self.data_dir.join(ALERTS_STATE_FILE)
    }

    /// `database_backups/backup.log`.
    pub fn backup_log(&self) -> PathBuf {
        self.backups.join(BACKUP_LOG_FILE)
    }

    /// `database_backups/RECOVERY.txt`.
    pub fn recovery_note(&self) -> PathBuf {
        self.backups.join(RECOVERY_FILE)
    }

    /// `database_backups/.backup.lock`.
    pub fn backup_lock(&self) -> PathBuf {
        self.backups.join(BACKUP_LOCK_FILE)
    }
}

/// The folder holding the running executable, symlinks followed.
pub fn executable_dir() -> Result<PathBuf, ConfigError> {
    let exe = std::env::current_exe().map_err(ConfigError::NoExecutable)?;
    let exe = dunce::canonicalize(&exe).unwrap_or(exe);
    exe.parent().map(Path::to_path_buf).ok_or_else(|| {
        ConfigError::NoExecutable(std::io::Error::other("the executable has no parent folder"))
    })
}

fn ensure_writable(dir: &Path) -> Result<(), ConfigError> {
    let not_writable = |source: std::io::Error| ConfigError::NotWritable {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(not_writable)?;
    // Metadata permission bits lie for root and on some file systems: try a real write.
    let probe = tempfile::Builder::new()
        .prefix(".write-test-")
        .tempfile_in(dir)
        .map_err(not_writable)?;
    drop(probe);
    Ok(())
}
