//! The off-site key: one age X25519 identity, made when the first target is set up and kept in
//! `offsite.key` beside the settings (owner-only, like `session.key`). Changing the key keeps
//! the old ones in the file, newest first, so older copies stay readable; the standard `age`
//! tool accepts such a file (and the emergency kit) as it is.

use std::path::{Path, PathBuf};

use age::secrecy::ExposeSecret;
use chrono::{DateTime, Utc};

use crate::config::Paths;
const SECRET_PREFIX: &str = "AGE-SECRET-KEY-1";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "cannot read the off-site key {path}: {}",
        crate::fsutil::plain_io(source)
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot save the off-site key: {}", crate::fsutil::plain_io(.0))]
    Write(#[source] std::io::Error),
    #[error("{path} holds no off-site key (no AGE-SECRET-KEY-1... line)")]
    Empty { path: PathBuf },
    #[error(
        "that is not a key from a Backroom emergency kit: no line starting with AGE-SECRET-KEY-1 could be read"
    )]
    NotAKit,
}

/// One key and when it was made.
#[derive(Clone)]
pub struct Key {
    pub identity: age::x25519::Identity,
    pub created: String,
}

impl Key {
    pub fn public(&self) -> String {
        self.identity.to_public().to_string()
    }
}

/// Every off-site key, the current one first.
#[derive(Clone)]
pub struct Keyring {
    keys: Vec<Key>,
}

/// Reads every `AGE-SECRET-KEY-1...` line of a key file or an emergency kit, with the
/// `# created:` comment above it when there is one.
fn parse(text: &str) -> Vec<Key> {
    let mut created = String::new();
    let mut keys = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(when) = line.strip_prefix("# created:") {
            created = when.trim().to_string();
        } else if line.starts_with(SECRET_PREFIX)
            && let Ok(identity) = line.parse::<age::x25519::Identity>()
        {
            keys.push(Key {
                identity,
                created: std::mem::take(&mut created),
            });
        }
    }
    keys
}

impl Keyring {
    /// The keyring in the data folder; `Ok(None)` before the first target was set up.
    pub fn load(data_dir: &Path) -> Result<Option<Keyring>, KeyError> {
        let path = Paths::new(data_dir).offsite_key();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(KeyError::Read { path, source }),
        };
        let keys = parse(&text);
        if keys.is_empty() {
            return Err(KeyError::Empty { path });
        }
        Ok(Some(Keyring { keys }))
    }

    /// A new keyring with one fresh key.
    pub fn generate(now: DateTime<Utc>) -> Keyring {
        Keyring {
            keys: vec![Key {
                identity: age::x25519::Identity::generate(),
                created: now.to_rfc3339(),
            }],
        }
    }

    /// The keys of an emergency kit (or a pasted key), to continue with on a new computer.
    pub fn from_kit(text: &str) -> Result<Keyring, KeyError> {
        let keys = parse(text);
        if keys.is_empty() {
            return Err(KeyError::NotAKit);
        }
        Ok(Keyring { keys })
    }

    /// A new current key; the old ones stay for reading older copies.
    pub fn rotate(&mut self, now: DateTime<Utc>) {
        self.keys.insert(
            0,
            Key {
                identity: age::x25519::Identity::generate(),
                created: now.to_rfc3339(),
            },
        );
    }

    /// Adds keys from a kit that this keyring does not have yet (after the current one, so
    /// new copies keep using the current key).
    pub fn merge(&mut self, other: &Keyring) {
        for key in &other.keys {
            if !self.keys.iter().any(|k| k.public() == key.public()) {
                self.keys.push(key.clone());
            }
        }
    }

    pub fn current(&self) -> &Key {
        // Never empty: every constructor makes or finds at least one key.
        &self.keys[0]
    }

    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    pub fn identities(&self) -> Vec<age::x25519::Identity> {
        self.keys.iter().map(|k| k.identity.clone()).collect()
    }

    pub fn recipient(&self) -> age::x25519::Recipient {
        self.current().identity.to_public()
    }

    /// The file text: an age identity file, newest key first.
    pub fn to_file_text(&self) -> String {
        let mut text = String::from(
            "# Backroom off-site key (age X25519). Keep it secret: with it anyone can read the\n\
             # off-site copies. Your emergency kit holds the same key.\n",
        );
        for (i, key) in self.keys.iter().enumerate() {
            if i > 0 {
                text.push_str("# an older key, kept to read older copies\n");
            }
            text.push_str(&format!("# created: {}\n", key.created));
            text.push_str(&format!("# public key: {}\n", key.public()));
            text.push_str(key.identity.to_string().expose_secret());
            text.push('\n');
        }
        text
    }

    /// Saves the keyring owner-only (atomically: a crash leaves the old file or the new one).
    pub fn save(&self, data_dir: &Path) -> Result<(), KeyError> {
        crate::fsutil::write_atomic_private(
            &Paths::new(data_dir).offsite_key(),
            self.to_file_text().as_bytes(),
        )
        .map_err(KeyError::Write)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_rotate_and_stay_private() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Keyring::load(dir.path()).unwrap().is_none());
        let mut ring = Keyring::generate(Utc::now());
        let first = ring.current().public();
        ring.save(dir.path()).unwrap();
        assert!(crate::platform::is_owner_only(&Paths::new(dir.path()).offsite_key()).unwrap());
        ring.rotate(Utc::now());
        ring.save(dir.path()).unwrap();
        let loaded = Keyring::load(dir.path()).unwrap().unwrap();
        assert_eq!(loaded.keys().len(), 2);
        assert_ne!(loaded.current().public(), first);
        assert_eq!(loaded.keys()[1].public(), first, "the old key is kept");
        let kit = Keyring::from_kit(&format!("Some words\n{}", loaded.to_file_text())).unwrap();
        assert_eq!(kit.current().public(), loaded.current().public());
        assert!(matches!(
            Keyring::from_kit("no key here"),
            Err(KeyError::NotAKit)
        ));
    }
}
