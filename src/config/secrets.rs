//! The owner-only TOML files that hold secrets (`offsite-secrets.toml`, `alerts-secrets.toml`):
//! a missing file reads as empty, a save is atomic and readable by its owner only, and no
//! error ever quotes what is inside.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("cannot read {path}: {}", crate::fsutil::plain_io(source))]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid (fix or remove it, then {redo}): {source}")]
    Parse {
        path: PathBuf,
        /// What to do again once the file is gone ("add the S3 target again").
        redo: &'static str,
        // Boxed: the error types that carry this one stay small.
        source: Box<toml::de::Error>,
    },
    #[error("cannot save the {what}: {}", crate::fsutil::plain_io(source))]
    Write {
        what: &'static str,
        source: std::io::Error,
    },
}

/// Reads a secrets file; `redo` says what to do again if it has to be removed.
pub fn load<T: DeserializeOwned + Default>(
    path: &Path,
    redo: &'static str,
) -> Result<T, SecretsError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(T::default()),
        Err(source) => {
            return Err(SecretsError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    toml::from_str(text).map_err(|source| SecretsError::Parse {
        path: path.to_path_buf(),
        redo,
        source: Box::new(source),
    })
}

/// Writes a secrets file, owner-only, under a first line that names `what` it holds.
pub fn save<T: Serialize>(path: &Path, what: &'static str, value: &T) -> Result<(), SecretsError> {
    let write = |source| SecretsError::Write { what, source };
    let body = toml::to_string(value).map_err(|e| write(std::io::Error::other(e)))?;
    let text = format!(
        "# Backroom {what}. Keep this file private: it is readable by its owner only.\n{body}"
    );
    crate::fsutil::write_atomic_private(path, text.as_bytes()).map_err(write)
}
