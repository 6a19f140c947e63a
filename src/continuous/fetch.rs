//! Restore to a moment from a target: list this installation's continuous objects there, pick
//! the generation, fetch its base and its segments in txid order into a work folder beside the
//! output — each one decrypted, its signed header checked before a byte of it is kept, and its
//! name held against what it says — then rebuild with [`restore`] (which checks the chain link
//! by link) and prove the result with SQLite's `integrity_check`. Anything not made by this
//! shop, missing, renamed or changed is refused by its name on the target.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::envelope::{Header, Kind, Refused, Unwrap};
use super::outbox::BaseInfo;
use super::replay::{Moment, Restored, restore};
use super::ship::{ObjectName, base_name, folder_of, parse_name, segment_name};
use super::{FetchError, segment};
use crate::offsite::keys::Keyring;
use crate::offsite::pipeline::{self, PipelineError};
use crate::offsite::store::Store;

/// Which state to bring back from a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// The newest state on the target.
    Latest,
    /// The newest state captured at or before this time.
    Time(SystemTime),
    /// The state right after this transaction of the newest generation.
    Txid(u64),
}

/// What a target holds of one generation, by name.
#[derive(Debug, Default)]
struct Listed {
    base: bool,
    segments: BTreeMap<u64, ()>,
}

/// When a generation began, from its id (`<ms in 12 hex digits>-<random>`).
fn generation_time(generation: &str) -> Option<SystemTime> {
    let ms = u64::from_str_radix(generation.get(..12)?, 16).ok()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_millis(ms))
}

fn millis(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Rebuilds into `out` (a new file) this installation's database as it was at `at`, from
/// what the target `store` holds under its continuous folder.
pub fn restore_at(
    store: &dyn Store,
    keys: &Keyring,
    installation: &str,
    at: At,
    out: &Path,
) -> Result<Restored, FetchError> {
    let store = store.nested(&folder_of(installation))?;
    let store = store.as_ref();
    let mut generations: BTreeMap<String, Listed> = BTreeMap::new();
    for object in store.list()? {
        match parse_name(&object.name) {
            Some(ObjectName::Base { generation }) => {
                generations.entry(generation).or_default().base = true;
            }
            Some(ObjectName::Segment { generation, txid }) => {
                generations
                    .entry(generation)
                    .or_default()
                    .segments
                    .insert(txid, ());
            }
            None => {}
        }
    }
    let (generation, listed) = match at {
        At::Time(t) => generations
            .iter()
            .rev()
            .find(|(g, _)| generation_time(g).is_some_and(|began| began <= t))
            .ok_or(FetchError::NothingBefore)?,
        At::Latest | At::Txid(_) => generations.iter().next_back().ok_or(FetchError::Nothing)?,
    };
    if !listed.base {
        return Err(FetchError::Missing {
            name: base_name(generation),
        });
    }

    let parent = crate::fsutil::parent_of(out);
    let work = tempfile::Builder::new()
        .prefix(".continuous-restore-")
        .tempdir_in(&parent)
        .map_err(|source| FetchError::Work {
            path: parent.clone(),
            source,
        })?;
    let name = base_name(generation);
    let base_file = work.path().join(&name);
    let header = fetch(store, &name, keys, &base_file)?;
    let base: BaseInfo = match header.base {
        Some(base)
            if header.kind == Kind::Base
                && header.installation == installation
                && header.generation == *generation
                && base.installation == installation
                && base.generation == *generation
                && base.txid == header.txid =>
        {
            base
        }
        _ => return Err(FetchError::Renamed { name }),
    };
    if let At::Time(t) = at
        && base.taken_at_ms > millis(t)
    {
        return Err(FetchError::NothingBefore);
    }

    let mut segments: Vec<PathBuf> = Vec::new();
    let listed = listed.segments.keys().filter(|&&t| t > base.txid);
    for (expected, &txid) in (base.txid + 1..).zip(listed) {
        if at == At::Txid(expected - 1) {
            break;
        }
        if txid != expected {
            return Err(FetchError::Missing {
                name: segment_name(generation, expected),
            });
        }
        let name = segment_name(generation, txid);
        let path = work.path().join(&name);
        let header = fetch(store, &name, keys, &path)?;
        if header.kind != Kind::Segment
            || header.installation != installation
            || header.generation != *generation
            || header.txid != txid
        {
            return Err(FetchError::Renamed { name });
        }
        if let At::Time(t) = at {
            let bytes = std::fs::read(&path).map_err(|source| FetchError::Work {
                path: path.clone(),
                source,
            })?;
            let info = segment::decode(&bytes)
                .map_err(|source| FetchError::Damaged {
                    name: name.clone(),
                    source,
                })?
                .info;
            if info.timestamp > t {
                break;
            }
        }
        segments.push(path);
    }
    let moment = match at {
        At::Latest => Moment::Latest,
        At::Time(t) => Moment::Time(t),
        At::Txid(txid) => Moment::Txid(txid),
    };
    let restored = restore(&base, &base_file, &segments, installation, moment, out)?;
    integrity_check(out)?;
    Ok(restored)
}

/// Fetches one object into `dest`: decrypted, unpacked, its header checked; returns the header.
fn fetch(store: &dyn Store, name: &str, keys: &Keyring, dest: &Path) -> Result<Header, FetchError> {
    let work_error = |source| FetchError::Work {
        path: dest.to_path_buf(),
        source,
    };
    let reader = store.open(name)?;
    let file = BufWriter::new(File::create(dest).map_err(work_error)?);
    let unwrap = Unwrap::new(keys, file);
    let unwrap = match pipeline::open(reader, &keys.identities(), unwrap, u64::MAX) {
        Ok((_, unwrap)) => unwrap,
        Err(PipelineError::Write(e)) => {
            return Err(
                match e.get_ref().and_then(|i| i.downcast_ref::<Refused>()) {
                    Some(Refused(why)) => FetchError::NotOurs {
                        name: name.to_string(),
                        why: *why,
                    },
                    None => work_error(e),
                },
            );
        }
        Err(source) => {
            return Err(FetchError::Unreadable {
                name: name.to_string(),
                source: Box::new(source),
            });
        }
    };
    let (header, mut file) = unwrap.finish().map_err(|why| FetchError::NotOurs {
        name: name.to_string(),
        why,
    })?;
    file.flush().map_err(work_error)?;
    Ok(header)
}

/// SQLite's own check of the rebuilt file.
fn integrity_check(path: &Path) -> Result<(), FetchError> {
    // Read-write: a WAL-mode file needs its -shm, which a read-only open may not make.
    let conn = rusqlite::Connection::open(path).map_err(FetchError::Check)?;
    let answer: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(FetchError::Check)?;
    if answer == "ok" {
        Ok(())
    } else {
        Err(FetchError::Integrity { detail: answer })
    }
}
