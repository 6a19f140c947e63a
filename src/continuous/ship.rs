//! Shipping the outbox to off-site targets: each base and segment, in the outbox's order,
//! becomes one object on every target — signed header and payload (`envelope`), zstd, age to
//! the off-site key (`offsite::pipeline::seal`) — under the target's folder of its own:
//!
//! ```text
//! continuous/<installation>/<generation>.base.zst.age           a generation's base
//! continuous/<installation>/<generation>.<txid>.seg.zst.age     one transaction (16 hex digits)
//! ```
//!
//! That folder is a nested store ([`Store::nested`]): a target's own listing never shows it, so
//! the copies' lists, retention and drills never see these objects. A segment of up to 4 MiB
//! is one request (a folder's partial file renamed into place, or one S3 PUT, atomic either
//! way); a larger item streams like a copy (partial file or multipart upload) and is read
//! back; so nothing half-written ever carries a finished name. An item leaves the outbox only when every target
//! given has confirmed it (a folder: file and folder flushed; S3: the PUT answered); what each
//! target confirmed is kept in `<outbox>/shipped.json`, so a target that was away is caught up
//! in order without sending the others anything twice.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use super::ShipError;
use super::envelope::{self, Header, Kind};
use super::outbox::{Outbox, OutboxItem};
use crate::offsite::keys::Keyring;
use crate::offsite::pipeline::{self, HashingReader};
use crate::offsite::store::Store;

/// The folder of every installation's continuous objects on a target.
pub const FOLDER: &str = "continuous";
const BASE_SUFFIX: &str = ".base.zst.age";
const SEGMENT_SUFFIX: &str = ".seg.zst.age";
const PROGRESS_FILE: &str = "shipped.json";

/// An installation's folder on a target.
pub fn folder_of(installation: &str) -> String {
    format!("{FOLDER}/{installation}")
}

pub(super) fn base_name(generation: &str) -> String {
    format!("{generation}{BASE_SUFFIX}")
}

pub(super) fn segment_name(generation: &str, txid: u64) -> String {
    format!("{generation}.{txid:016x}{SEGMENT_SUFFIX}")
}

/// What an object's name says it is (`None`: not one of ours).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ObjectName {
    Base { generation: String },
    Segment { generation: String, txid: u64 },
}

pub(super) fn parse_name(name: &str) -> Option<ObjectName> {
    if let Some(generation) = name.strip_suffix(BASE_SUFFIX) {
        return super::segment::valid_id(generation).then(|| ObjectName::Base {
            generation: generation.to_string(),
        });
    }
    let (generation, txid) = name.strip_suffix(SEGMENT_SUFFIX)?.split_once('.')?;
    if !super::segment::valid_id(generation) || txid.len() != 16 {
        return None;
    }
    Some(ObjectName::Segment {
        generation: generation.to_string(),
        txid: u64::from_str_radix(txid, 16).ok()?,
    })
}

/// A target to ship to: its name (what `shipped.json` remembers it by) and its store.
pub struct ShipTarget<'a> {
    pub name: &'a str,
    pub store: &'a dyn Store,
}

/// What one call did on one target.
#[derive(Debug)]
pub struct TargetShipped {
    pub target: String,
    /// Objects the target confirmed, and their bytes (after zstd and age).
    pub objects: u64,
    pub bytes: u64,
    /// Why it stopped early; the rest waits in the outbox for the next call.
    pub failure: Option<ShipError>,
}

/// What one call did.
#[derive(Debug, Default)]
pub struct Shipped {
    pub targets: Vec<TargetShipped>,
    /// Items every target confirmed, removed from the outbox.
    pub removed: usize,
}

/// Where each target is: the last item it confirmed, as (generation, txid; a base is txid 1).
type Progress = BTreeMap<String, (String, u64)>;

fn key(item: &OutboxItem) -> (String, u64) {
    match item {
        OutboxItem::Base { generation, .. } => (generation.clone(), super::BASE_TXID),
        OutboxItem::Segment {
            generation, txid, ..
        } => (generation.clone(), *txid),
    }
}

fn outbox_error(path: &Path) -> impl FnOnce(io::Error) -> ShipError + '_ {
    move |source| ShipError::Outbox {
        path: path.to_path_buf(),
        source,
    }
}

fn load_progress(outbox: &Outbox) -> Result<Progress, ShipError> {
    let path = outbox.dir().join(PROGRESS_FILE);
    match std::fs::read(&path) {
        // A damaged record only means sending again what was sent: names are the same.
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).unwrap_or_default()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Progress::new()),
        Err(e) => Err(outbox_error(&path)(e)),
    }
}

fn save_progress(outbox: &Outbox, progress: &Progress) -> Result<(), ShipError> {
    let path = outbox.dir().join(PROGRESS_FILE);
    let bytes = serde_json::to_vec_pretty(progress).unwrap_or_default();
    crate::fsutil::write_atomic(&path, &bytes).map_err(outbox_error(&path))
}

/// Sends everything waiting in the outbox to each target, in order; removes from the outbox
/// what all of them confirmed. A target that fails keeps its place (its failure is in the
/// answer) and the next call goes on from there.
pub fn ship(
    outbox: &Outbox,
    targets: &[ShipTarget<'_>],
    keys: &Keyring,
    installation: &str,
) -> Result<Shipped, ShipError> {
    // With no target, nothing could confirm anything: the outbox keeps it all.
    if targets.is_empty() {
        return Ok(Shipped::default());
    }
    let pending = outbox.pending().map_err(outbox_error(outbox.dir()))?;
    let mut progress = load_progress(outbox)?;
    // Targets no longer given are forgotten: they no longer hold items in the outbox.
    progress.retain(|name, _| targets.iter().any(|t| t.name == name));
    let mut shipped = Shipped::default();
    for target in targets {
        let mut done = TargetShipped {
            target: target.name.to_string(),
            objects: 0,
            bytes: 0,
            failure: None,
        };
        let place = progress.get(target.name).cloned();
        let todo: Vec<&OutboxItem> = pending
            .iter()
            .filter(|item| place.as_ref().is_none_or(|p| key(item) > *p))
            .collect();
        if !todo.is_empty() {
            match target.store.nested(&folder_of(installation)) {
                Ok(store) => {
                    for item in todo {
                        match send(store.as_ref(), outbox, item, keys, installation) {
                            Ok(bytes) => {
                                done.objects += 1;
                                done.bytes += bytes;
                                progress.insert(target.name.to_string(), key(item));
                            }
                            Err(e) => {
                                done.failure = Some(e);
                                break;
                            }
                        }
                    }
                }
                Err(e) => done.failure = Some(e.into()),
            }
        }
        shipped.targets.push(done);
    }
    save_progress(outbox, &progress)?;
    for item in &pending {
        let everywhere = targets.iter().all(|t| {
            progress
                .get(t.name)
                .is_some_and(|place| *place >= key(item))
        });
        if !everywhere {
            break;
        }
        outbox.remove(item).map_err(outbox_error(outbox.dir()))?;
        shipped.removed += 1;
    }
    Ok(shipped)
}

/// Up to this size (a sale is a few KiB) an object is sealed in memory and sent in one
/// request; a larger one (a base, a `VACUUM`'s segment) is streamed, in bounded memory.
const WHOLE_MAX: u64 = 4 << 20;

/// Puts one item on a store; returns the object's size once the store confirmed it.
fn send(
    store: &dyn Store,
    outbox: &Outbox,
    item: &OutboxItem,
    keys: &Keyring,
    installation: &str,
) -> Result<u64, ShipError> {
    let (kind, generation, txid, path, base) = match item {
        OutboxItem::Segment {
            generation,
            txid,
            path,
        } => (Kind::Segment, generation, *txid, path, None),
        OutboxItem::Base { generation, path } => {
            let (info, _) = outbox
                .base(generation)
                .map_err(outbox_error(&outbox.generation_dir(generation)))?;
            (Kind::Base, generation, info.txid, path, Some(info))
        }
    };
    let name = match kind {
        Kind::Base => base_name(generation),
        Kind::Segment => segment_name(generation, txid),
    };
    let mut hashing = HashingReader::new(File::open(path).map_err(outbox_error(path))?);
    let mut small = Vec::new();
    let whole = (&mut hashing)
        .take(WHOLE_MAX + 1)
        .read_to_end(&mut small)
        .map_err(outbox_error(path))? as u64
        <= WHOLE_MAX;
    io::copy(&mut hashing, &mut io::sink()).map_err(outbox_error(path))?;
    let (payload_sha256, payload_size) = hashing.finish();
    let mut header = Header {
        format: envelope::FORMAT,
        kind,
        installation: installation.to_string(),
        generation: generation.clone(),
        txid,
        payload_size,
        payload_sha256,
        base,
        recipient: String::new(),
        mac: None,
    };
    header.sign(keys);
    if whole {
        let mut plain = header.to_prefix();
        plain.extend_from_slice(&small);
        let (_, object) = pipeline::seal(&plain[..], &keys.recipient(), Vec::new())?;
        // One request: a folder's rename or one S3 PUT, each all or nothing.
        store.put_small(&name, &object)?;
        return Ok(object.len() as u64);
    }
    drop(small);
    let input =
        io::Cursor::new(header.to_prefix()).chain(File::open(path).map_err(outbox_error(path))?);
    // A failure drops the writer, which throws the partial object away.
    let writer = store.create(&name)?;
    let (digests, writer) = pipeline::seal(input, &keys.recipient(), writer)?;
    writer.finish()?;
    store.verify_object(&name, digests.object_size, &digests.object_sha256)?;
    Ok(digests.object_size)
}
