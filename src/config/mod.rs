//! Where Backroom keeps its files and the settings a person can change.
//!
//! The data folder defaults to the folder that holds the executable (never the current
//! directory), so the program and its data travel together. `--data-dir` / `BACKROOM_DATA_DIR`
//! override it. Settings live in `backroom.toml` there, outside the database, so restoring a
//! backup never changes the backup policy.

pub mod alerts;
pub mod offsite;
mod paths;
pub mod secrets;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use alerts::AlertSettings;
use offsite::OffsiteSettings;
pub use paths::*;

use crate::fsutil;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot find the folder that holds the backroom program: {}", crate::fsutil::plain_io(.0))]
    NoExecutable(#[source] std::io::Error),
    #[error(
        "the data folder {path} is not writable ({source}). Choose another with --data-dir DIR or BACKROOM_DATA_DIR."
    )]
    NotWritable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the settings file {path}: {source}")]
    BadSettings {
        path: PathBuf,
        source: SettingsFileError,
    },
    #[error(
        "cannot save the settings file {path}: {}",
        crate::fsutil::plain_io(source)
    )]
    SaveSettings {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A value out of range; the message says which and what is allowed.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Serialize(#[from] toml::ser::Error),
}

/// Why `backroom.toml` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsFileError {
    #[error(transparent)]
    Read(#[from] std::io::Error),
    #[error(transparent)]
    Parse(#[from] toml::de::Error),
    #[error(transparent)]
    Invalid(Box<ConfigError>),
}

/// The backup policy and session settings, stored in `backroom.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Hours between automatic backups; 0 turns them off.
    pub interval_hours: u32,
    /// How many backups to keep (1–100).
    pub max_backups: u32,
    /// Hours of inactivity after which a session ends.
    pub session_idle_hours: u32,
    /// Off-site targets and their policy.
    pub offsite: OffsiteSettings,
    /// Alert channels (no secrets) and when a failing target is told.
    pub alerts: AlertSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            interval_hours: 6,
            max_backups: 10,
            session_idle_hours: 8,
            offsite: OffsiteSettings::default(),
            alerts: AlertSettings::default(),
        }
    }
}

pub const MAX_INTERVAL_HOURS: u32 = 24 * 7;
pub const MAX_BACKUPS_LIMIT: u32 = 100;
/// The longest a session may stay idle: 30 days.
pub const MAX_SESSION_IDLE_HOURS: u32 = 24 * 30;

impl Settings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.interval_hours > MAX_INTERVAL_HOURS {
            return Err(ConfigError::Invalid(format!(
                "The automatic interval must be between 0 (off) and {MAX_INTERVAL_HOURS} hours."
            )));
        }
        if !(1..=MAX_BACKUPS_LIMIT).contains(&self.max_backups) {
            return Err(ConfigError::Invalid(format!(
                "The number of backups to keep must be between 1 and {MAX_BACKUPS_LIMIT}."
            )));
        }
        if !(1..=MAX_SESSION_IDLE_HOURS).contains(&self.session_idle_hours) {
            return Err(ConfigError::Invalid(format!(
                "The session idle time must be between 1 and {MAX_SESSION_IDLE_HOURS} hours."
            )));
        }
        self.alerts
            .validate()
            .map_err(|errors| ConfigError::Invalid(errors.joined()))?;
        self.offsite
            .validate()
            .map_err(|errors| ConfigError::Invalid(errors.joined()))
    }

    pub fn interval(&self) -> Option<Duration> {
        (self.interval_hours > 0)
            .then(|| Duration::from_secs(u64::from(self.interval_hours) * 3600))
    }

    /// Reads the settings file; a missing file means the defaults.
    pub fn load(path: &Path) -> Result<Settings, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Settings::default()),
            Err(e) => return Err(bad_settings(path, e.into())),
        };
        // Notepad may save the file with a byte-order mark.
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let settings: Settings = toml::from_str(text).map_err(|e| bad_settings(path, e.into()))?;
        settings
            .validate()
            .map_err(|e| bad_settings(path, SettingsFileError::Invalid(Box::new(e))))?;
        Ok(settings)
    }

    /// Changes the settings file in place: reads what is there now (another process, the
    /// command line, may have changed other parts), applies `change`, validates and saves,
    /// all under a lock so two writers never lose each other's change. Returns what was saved.
    pub fn update_file(
        path: &Path,
        change: impl FnOnce(&mut Settings),
    ) -> Result<Settings, ConfigError> {
        let lock_path = {
            let mut name = path.as_os_str().to_owned();
            name.push(".lock");
            PathBuf::from(name)
        };
        let _lock =
            fsutil::FileLock::acquire(&lock_path).map_err(|source| ConfigError::SaveSettings {
                path: path.to_path_buf(),
                source,
            })?;
        let mut settings = Settings::load(path)?;
        change(&mut settings);
        settings.save(path)?;
        Ok(settings)
    }

    /// Writes the settings atomically (temp file, fsync, rename).
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        self.validate()?;
        let body = toml::to_string(self)?;
        let text = format!(
            "# Backroom settings. Edit while the program is stopped, or use the Database Backup page.\n{body}"
        );
        fsutil::write_atomic(path, text.as_bytes()).map_err(|source| ConfigError::SaveSettings {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// One rule for channel and target names (1 to 32 of `a-z 0-9 - _`): they are typed on the
/// command line and used in lists, file names and URLs. The message names `what` it is.
fn check_plain_name(name: &str, what: &str, example: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "“{name}”: a {what} name has 1 to 32 lower-case letters, digits, - or _ (e.g. {example})."
        ))
    }
}

fn bad_settings(path: &Path, source: SettingsFileError) -> ConfigError {
    ConfigError::BadSettings {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SETTINGS_FILE);
        assert_eq!(Settings::load(&path).unwrap(), Settings::default());
        let s = Settings {
            interval_hours: 0,
            max_backups: 3,
            session_idle_hours: 2,
            ..Settings::default()
        };
        s.save(&path).unwrap();
        assert_eq!(Settings::load(&path).unwrap(), s);
        assert!(s.interval().is_none());
    }

    #[test]
    fn settings_validation() {
        let mut s = Settings {
            max_backups: 0,
            ..Default::default()
        };
        assert!(s.validate().is_err());
        s.max_backups = 101;
        assert!(s.validate().is_err());
        s.max_backups = 100;
        s.interval_hours = MAX_INTERVAL_HOURS + 1;
        assert!(s.validate().is_err());
    }

    #[test]
    fn settings_saved_with_a_byte_order_mark_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SETTINGS_FILE);
        std::fs::write(&path, "\u{feff}interval_hours = 2\r\nmax_backups = 4\r\n").unwrap();
        let s = Settings::load(&path).unwrap();
        assert_eq!((s.interval_hours, s.max_backups), (2, 4));
    }

    #[test]
    fn resolved_data_folder_is_a_plain_path() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::resolve(Some(dir.path())).unwrap();
        let shown = paths.data_dir.display().to_string();
        assert!(!shown.starts_with(r"\\?\"), "{shown}");
        assert!(paths.data_dir.is_absolute(), "{shown}");
    }

    #[test]
    fn bad_settings_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SETTINGS_FILE);
        std::fs::write(&path, "max_backups = \"many\"").unwrap();
        let err = Settings::load(&path).unwrap_err().to_string();
        assert!(err.contains("backroom.toml"), "{err}");
    }

    #[test]
    fn bad_settings_error_keeps_its_toml_cause() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SETTINGS_FILE);
        std::fs::write(&path, "max_backups = \"many\"").unwrap();
        let err = Settings::load(&path).unwrap_err();
        let cause = std::error::Error::source(&err).expect("a cause");
        assert!(
            matches!(
                cause.downcast_ref::<SettingsFileError>(),
                Some(SettingsFileError::Parse(_))
            ),
            "{cause:?}"
        );
        // The toml error's words appear once, after the file's name.
        let text = crate::error_chain::chain(&err);
        let toml_words = cause.to_string();
        assert_eq!(text.matches(&toml_words).count(), 1, "{text}");
        assert!(text.starts_with("cannot read the settings file"), "{text}");
    }

    #[test]
    fn settings_out_of_range_keep_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SETTINGS_FILE);
        std::fs::write(&path, "max_backups = 0").unwrap();
        let err = Settings::load(&path).unwrap_err();
        assert!(
            matches!(
                &err,
                ConfigError::BadSettings {
                    source: SettingsFileError::Invalid(inner),
                    ..
                } if matches!(**inner, ConfigError::Invalid(_))
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("between 1 and 100"), "{err}");
    }
}
