//! Which Backroom installation made a copy. Two shops (or two computers of one shop) may send
//! to the same folder or bucket; each acts only on its own copies there. The id is random, made
//! once, and kept in `installation.json` beside the data (outside the business database, so a
//! restore never changes it). Copies without an id were made before ids existed: ours.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::Paths;

/// Written into every manifest; the shop and computer names are for people telling copies
/// apart (the shop's name can be set in `installation.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installation {
    pub id: String,
    #[serde(default)]
    pub shop: String,
    #[serde(default)]
    pub computer: String,
}

#[derive(Debug, thiserror::Error)]
pub enum InstallationError {
    #[error("cannot read {path}: {}", crate::fsutil::plain_io(source))]
    Read { path: PathBuf, source: io::Error },
    #[error(
        "{path} is not valid (restore it from a backup of the folder, or fix it by hand): {source}"
    )]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot save {path}: {}", crate::fsutil::plain_io(source))]
    Write { path: PathBuf, source: io::Error },
}

impl Installation {
    /// "Corner Shop on TILL-1 (installation 1a2b3c4d)": how lists tell installations apart.
    pub fn label(&self) -> String {
        let short: String = self.id.chars().take(8).collect();
        let computer = if self.computer.is_empty() {
            "an unnamed computer"
        } else {
            &self.computer
        };
        if self.shop.is_empty() {
            format!("{computer} (installation {short})")
        } else {
            format!("{} on {computer} (installation {short})", self.shop)
        }
    }

    /// This data folder's installation, made on first use.
    pub fn load_or_create(paths: &Paths) -> Result<Installation, InstallationError> {
        let path = paths.installation();
        if let Some(found) = read(&path)? {
            return Ok(found);
        }
        let made = Installation {
            id: crate::fsutil::random_hex(16),
            shop: String::new(),
            computer: crate::platform::computer_name(),
        };
        let bytes = serde_json::to_vec_pretty(&made).unwrap_or_default();
        create_new(&path, &bytes).map_err(|source| InstallationError::Write {
            path: path.clone(),
            source,
        })?;
        // Another process may have made it first: its file is the one.
        Ok(read(&path)?.unwrap_or(made))
    }
}

fn read(path: &Path) -> Result<Option<Installation>, InstallationError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|source| InstallationError::Parse {
                    path: path.to_path_buf(),
                    source,
                })
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(InstallationError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes the file whole and never replaces one that is there (a hard link of a finished temp
/// file; where links are not supported, an atomic write when the file is still missing).
fn create_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temp = path.with_extension(format!("json.tmp-{}", crate::fsutil::random_hex(6)));
    crate::fsutil::write_atomic(&temp, bytes)?;
    let linked = std::fs::hard_link(&temp, path);
    let _ = std::fs::remove_file(&temp);
    match linked {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(_) if !path.exists() => crate::fsutil::write_atomic(path, bytes),
        Err(_) => Ok(()),
    }
}

impl super::Offsite {
    /// This data folder's installation (read once, made on first use).
    pub(super) fn installation(&self) -> Result<Installation, super::OffsiteError> {
        let mut cached = super::lock(&self.inner.installation);
        if let Some(known) = cached.as_ref() {
            return Ok(known.clone());
        }
        let known = Installation::load_or_create(&self.inner.paths)?;
        *cached = Some(known.clone());
        Ok(known)
    }

    /// The copies on a target that this installation sent (or older ones without an id).
    pub(super) fn own(
        &self,
        copies: Vec<super::Manifest>,
    ) -> Result<Vec<super::Manifest>, super::OffsiteError> {
        let id = self.installation()?.id;
        Ok(copies.into_iter().filter(|m| m.is_from(&id)).collect())
    }
}

/// How many installations sent the copies (older copies without an id count as ours).
pub fn count(copies: &[super::Manifest], own_id: &str) -> usize {
    let mut ids: std::collections::BTreeSet<&str> = copies
        .iter()
        .map(|m| m.installation.as_ref().map_or(own_id, |i| i.id.as_str()))
        .collect();
    ids.insert(own_id);
    ids.len()
}

/// The copy to bring back when none is named: this installation's newest; with none of ours,
/// the newest of the one installation there. Another's copy is never picked silently from
/// among several: that is refused with each installation's newest copy.
pub fn newest<'a>(
    copies: &'a [super::Manifest],
    own_id: &str,
    target: &str,
) -> Result<Option<&'a super::Manifest>, super::OffsiteError> {
    let newest_of = |keep: &dyn Fn(&super::Manifest) -> bool| {
        copies
            .iter()
            .filter(|m| keep(m))
            .max_by_key(|m| m.newness())
    };
    if let Some(own) = newest_of(&|m| m.is_from(own_id)) {
        return Ok(Some(own));
    }
    let mut by_sender: std::collections::BTreeMap<&str, &super::Manifest> = Default::default();
    // A copy this shop did not make is never the newest (see `auth`).
    for m in copies.iter().filter(|m| m.is_trusted()) {
        let id = m.installation.as_ref().map_or("", |i| i.id.as_str());
        let slot = by_sender.entry(id).or_insert(m);
        if m.newness() > slot.newness() {
            *slot = m;
        }
    }
    if by_sender.len() <= 1 {
        return Ok(by_sender.into_values().next());
    }
    let list = by_sender
        .values()
        .map(|m| {
            format!(
                "{} (newest {}, {})",
                m.sender(),
                m.copy,
                crate::timefmt::local(m.created_at)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    Err(super::OffsiteError::SeveralInstallations {
        target: target.to_string(),
        count: by_sender.len(),
        list,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = Installation::load_or_create(&Paths::new(dir.path())).unwrap();
        assert_eq!(first.id.len(), 32);
        let again = Installation::load_or_create(&Paths::new(dir.path())).unwrap();
        assert_eq!(first, again);
        let other = tempfile::tempdir().unwrap();
        assert_ne!(
            Installation::load_or_create(&Paths::new(other.path()))
                .unwrap()
                .id,
            first.id
        );
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temp file is left");
    }
}
