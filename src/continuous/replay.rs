//! Restore to a moment: the base copy of a generation with its segments laid over it in txid
//! order, up to a chosen transaction or time. Every step is checked against the chain: each
//! segment must be the next txid, start from the checksum the database has now
//! (pre-apply) and leave the checksum it promises (post-apply), so a missing, reordered,
//! changed or foreign segment is refused by name instead of making a database that never
//! existed.

use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use litetx::Checksum;

use super::outbox::{BaseInfo, Outbox};
use super::pages::{PageSums, read_image};
use super::segment::{self, Segment};
use super::{FileError, ReplayError};

/// Which state to rebuild.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    /// The state right after this transaction.
    Txid(u64),
    /// The newest state captured at or before this time.
    Time(SystemTime),
    /// The newest state the segments hold.
    Latest,
}

/// What was rebuilt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    pub txid: u64,
    /// When the capture saw that transaction (`None` for the base itself).
    pub timestamp: Option<SystemTime>,
    pub checksum: Checksum,
}

fn read_segment(path: &Path) -> Result<Segment, ReplayError> {
    let bytes = fs::read(path).map_err(|source| {
        ReplayError::File(FileError::Read {
            path: path.to_path_buf(),
            source,
        })
    })?;
    segment::decode(&bytes).map_err(|source| ReplayError::Damaged {
        path: path.to_path_buf(),
        source,
    })
}

/// Rebuilds into `out` (a new file) the database at `moment`, from the base (`base_file`,
/// described by `base`) and the segments that follow it, given in order.
pub fn restore(
    base: &BaseInfo,
    base_file: &Path,
    segments: &[PathBuf],
    installation: &str,
    moment: Moment,
    out: &Path,
) -> Result<Restored, ReplayError> {
    if base.installation != installation {
        return Err(ReplayError::OtherInstallation {
            path: base_file.to_path_buf(),
        });
    }
    if let Moment::Txid(wanted) = moment
        && wanted < base.txid
    {
        return Err(ReplayError::BeforeBase {
            wanted,
            base: base.txid,
        });
    }
    let write_error = |source| {
        ReplayError::File(FileError::Write {
            path: out.to_path_buf(),
            source,
        })
    };
    let copied = fs::copy(base_file, out).map_err(|source| {
        ReplayError::File(FileError::Read {
            path: base_file.to_path_buf(),
            source,
        })
    })?;
    // The record comes from elsewhere too: a page size SQLite cannot have, or more pages
    // than the file holds, is refused before anything is read by it.
    let page_size_ok = (512..=65536).contains(&base.page_size) && base.page_size.is_power_of_two();
    if !page_size_ok || u64::from(base.pages) * u64::from(base.page_size) > copied {
        return Err(ReplayError::BaseDamaged {
            path: base_file.to_path_buf(),
        });
    }
    let mut sums = read_image(out, Path::new(""), None, base.page_size, base.pages, |_| {
        Ok(())
    })
    .map_err(write_error)?;
    if sums.checksum().into_inner() != base.checksum {
        return Err(ReplayError::BaseDamaged {
            path: base_file.to_path_buf(),
        });
    }
    let mut file = OpenOptions::new()
        .write(true)
        .open(out)
        .map_err(write_error)?;
    let mut restored = Restored {
        txid: base.txid,
        timestamp: None,
        checksum: sums.checksum(),
    };
    for (i, path) in segments.iter().enumerate() {
        if moment == Moment::Txid(restored.txid) {
            break;
        }
        let segment = read_segment(path)?;
        let info = &segment.info;
        if info.installation != installation {
            return Err(ReplayError::OtherInstallation { path: path.clone() });
        }
        if info.generation != base.generation {
            return Err(ReplayError::OtherGeneration { path: path.clone() });
        }
        let expected = restored.txid + 1;
        if info.txid < expected {
            return Err(ReplayError::OutOfOrder {
                expected,
                found: info.txid,
            });
        }
        if info.txid > expected {
            return Err(missing_or_out_of_order(
                &segments[i + 1..],
                expected,
                info.txid,
            ));
        }
        if let Moment::Time(at) = moment
            && info.timestamp > at
        {
            break;
        }
        apply(&mut file, &mut sums, base.page_size, &segment)
            .map_err(|e| e.with_path(out, info.txid))?;
        restored = Restored {
            txid: info.txid,
            timestamp: Some(info.timestamp),
            checksum: sums.checksum(),
        };
    }
    if let Moment::Txid(wanted) = moment
        && restored.txid != wanted
    {
        return Err(ReplayError::NotReached {
            wanted,
            newest: restored.txid,
        });
    }
    crate::platform::flush_file(&file).map_err(write_error)?;
    Ok(restored)
}

/// A segment further on than expected: the expected one comes later (reordered) or nowhere.
fn missing_or_out_of_order(rest: &[PathBuf], expected: u64, found: u64) -> ReplayError {
    let later = rest
        .iter()
        .any(|p| read_segment(p).is_ok_and(|s| s.info.txid == expected));
    if later {
        ReplayError::OutOfOrder { expected, found }
    } else {
        ReplayError::Missing { expected, found }
    }
}

/// Why applying one segment failed.
enum ApplyError {
    Io(std::io::Error),
    Chain,
}

impl ApplyError {
    fn with_path(self, out: &Path, txid: u64) -> ReplayError {
        match self {
            ApplyError::Io(source) => ReplayError::File(FileError::Write {
                path: out.to_path_buf(),
                source,
            }),
            ApplyError::Chain => ReplayError::ChainBroken { txid },
        }
    }
}

fn apply(
    file: &mut File,
    sums: &mut PageSums,
    page_size: u32,
    segment: &Segment,
) -> Result<(), ApplyError> {
    let info = &segment.info;
    if info.pre_apply != sums.checksum() || info.page_size != page_size {
        return Err(ApplyError::Chain);
    }
    // A transaction grows the database only by pages it writes: a larger size is a lie that
    // would make a huge file before the checksum could refuse it.
    let highest = segment.pages.iter().map(|(n, _)| *n).max().unwrap_or(0);
    if info.commit > sums.pages().max(highest) {
        return Err(ApplyError::Chain);
    }
    for (pgno, data) in &segment.pages {
        let offset = u64::from(pgno - 1) * u64::from(page_size);
        file.seek(SeekFrom::Start(offset)).map_err(ApplyError::Io)?;
        file.write_all(data).map_err(ApplyError::Io)?;
        sums.set(*pgno, data);
    }
    sums.resize(info.commit);
    file.set_len(u64::from(info.commit) * u64::from(page_size))
        .map_err(ApplyError::Io)?;
    if sums.checksum() != info.post_apply {
        return Err(ApplyError::Chain);
    }
    Ok(())
}

/// [`restore`] from a generation in the outbox (its base and every segment still there).
pub fn restore_from_outbox(
    outbox: &Outbox,
    generation: &str,
    installation: &str,
    moment: Moment,
    out: &Path,
) -> Result<Restored, ReplayError> {
    let dir = outbox.generation_dir(generation);
    let read_error = |source| {
        ReplayError::File(FileError::Read {
            path: dir.clone(),
            source,
        })
    };
    let (base, base_file) = outbox.base(generation).map_err(read_error)?;
    let segments: Vec<PathBuf> = outbox
        .segments(generation)
        .map_err(read_error)?
        .into_iter()
        .map(|(_, path)| path)
        .collect();
    restore(&base, &base_file, &segments, installation, moment, out)
}
