//! The local outbox: what the capture wrote and no target has confirmed yet, on the data's own
//! disk, every file durable (fsync of file and folder) before the checkpoint may pass it.
//!
//! ```text
//! <outbox>/position.json               where the capture is (generation, txid, checksum, WAL place)
//! <outbox>/<generation>/base.db        the database as the generation began (txid 1), page for page
//! <outbox>/<generation>/base.json      its generation, txid and checksum
//! <outbox>/<generation>/<txid>.seg     one segment per transaction (txid in 16 hex digits)
//! ```
//!
//! Generation ids begin with the time they were made, so names sort in the order things
//! happened; a shipper takes [`Outbox::pending`] in order and calls [`Outbox::remove`] for
//! each item only after its target confirmed it. The position is written after every capture,
//! so removing every segment loses nothing the capture needs.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::segment::valid_id;
use super::wal::WalPos;
use crate::fsutil;

const POSITION_FILE: &str = "position.json";
const BASE_FILE: &str = "base.db";
const BASE_INFO_FILE: &str = "base.json";
const SEGMENT_EXT: &str = "seg";

/// A database state in a generation: its txid and the LTX checksum of the pages after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Point {
    pub installation: String,
    pub generation: String,
    pub txid: u64,
    /// The LTX checksum of the database after `txid`.
    pub checksum: u64,
    pub page_size: u32,
    pub pages: u32,
}

/// Where the capture is: the last transaction written to the outbox and the database after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Position {
    #[serde(flatten)]
    pub point: Point,
    /// The WAL place just after `txid`'s commit frame; `None` when the database file alone
    /// held `txid` (no WAL yet), so any WAL that appears next is new.
    pub wal: Option<WalPos>,
}

/// What a generation began from: the database file at `txid` (1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseInfo {
    /// `base.db` itself.
    #[serde(flatten)]
    pub point: Point,
    /// When it was taken (milliseconds since 1970).
    pub taken_at_ms: u64,
}

impl std::ops::Deref for Position {
    type Target = Point;
    fn deref(&self) -> &Point {
        &self.point
    }
}

impl std::ops::DerefMut for Position {
    fn deref_mut(&mut self) -> &mut Point {
        &mut self.point
    }
}

impl std::ops::Deref for BaseInfo {
    type Target = Point;
    fn deref(&self) -> &Point {
        &self.point
    }
}

/// One file waiting to be shipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxItem {
    /// A generation's base (`base.db` with `base.json`); ship it before its segments.
    Base { generation: String, path: PathBuf },
    Segment {
        generation: String,
        txid: u64,
        path: PathBuf,
    },
}

#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
}

fn segment_name(txid: u64) -> String {
    format!("{txid:016x}.{SEGMENT_EXT}")
}

fn write_durable(path: &Path, write: impl FnOnce(&mut File) -> io::Result<()>) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let result = (|| {
        let mut file = File::create(&tmp)?;
        write(&mut file)?;
        file.flush()?;
        crate::platform::flush_file(&file)?;
        drop(file);
        fsutil::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

impl Outbox {
    pub fn open(dir: &Path) -> io::Result<Outbox> {
        fs::create_dir_all(dir)?;
        Ok(Outbox {
            dir: dir.to_path_buf(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn generation_dir(&self, generation: &str) -> PathBuf {
        self.dir.join(generation)
    }

    pub(crate) fn load_position(&self) -> io::Result<Option<Position>> {
        let path = self.dir.join(POSITION_FILE);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub(crate) fn save_position(&self, position: &Position) -> io::Result<()> {
        let bytes = serde_json::to_vec_pretty(position).map_err(io::Error::other)?;
        fsutil::write_atomic(&self.dir.join(POSITION_FILE), &bytes)
    }

    /// Writes a new generation's base file: the pages come from `write`; durable on return.
    pub(crate) fn write_base(
        &self,
        generation: &str,
        write: impl FnOnce(&mut File) -> io::Result<()>,
    ) -> io::Result<()> {
        let dir = self.generation_dir(generation);
        fs::create_dir_all(&dir)?;
        fsutil::fsync_dir(&self.dir)?;
        write_durable(&dir.join(BASE_FILE), write)?;
        fsutil::fsync_dir(&dir)
    }

    /// Writes what the base is, after the base itself.
    pub(crate) fn write_base_info(&self, info: &BaseInfo) -> io::Result<()> {
        let json = serde_json::to_vec_pretty(info).map_err(io::Error::other)?;
        fsutil::write_atomic(
            &self.generation_dir(&info.generation).join(BASE_INFO_FILE),
            &json,
        )
    }

    pub fn base(&self, generation: &str) -> io::Result<(BaseInfo, PathBuf)> {
        let dir = self.generation_dir(generation);
        let info = serde_json::from_slice(&fs::read(dir.join(BASE_INFO_FILE))?)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        Ok((info, dir.join(BASE_FILE)))
    }

    /// Writes segments (txid, bytes); all are durable, folder included, on return.
    pub(crate) fn write_segments(
        &self,
        generation: &str,
        segments: &[(u64, Vec<u8>)],
    ) -> io::Result<()> {
        if segments.is_empty() {
            return Ok(());
        }
        let dir = self.generation_dir(generation);
        for (txid, bytes) in segments {
            write_durable(&dir.join(segment_name(*txid)), |f| f.write_all(bytes))?;
        }
        fsutil::fsync_dir(&dir)
    }

    /// The generations in the outbox, oldest first.
    pub fn generations(&self) -> io::Result<Vec<String>> {
        let mut found = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type()?.is_dir() && valid_id(&name) {
                found.push(name);
            }
        }
        found.sort();
        Ok(found)
    }

    /// A generation's segments in txid order (files that are not segments are left out).
    pub fn segments(&self, generation: &str) -> io::Result<Vec<(u64, PathBuf)>> {
        let dir = self.generation_dir(generation);
        let mut found = Vec::new();
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.extension().and_then(|e| e.to_str()) != Some(SEGMENT_EXT) {
                continue;
            }
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            if stem.len() == 16
                && let Ok(txid) = u64::from_str_radix(stem, 16)
            {
                found.push((txid, path));
            }
        }
        found.sort();
        Ok(found)
    }

    /// Everything waiting to be shipped, in the order to ship it.
    pub fn pending(&self) -> io::Result<Vec<OutboxItem>> {
        let mut items = Vec::new();
        for generation in self.generations()? {
            let dir = self.generation_dir(&generation);
            let base = dir.join(BASE_FILE);
            // A base without its record was cut short by a stop while the generation began.
            if base.exists() && dir.join(BASE_INFO_FILE).exists() {
                items.push(OutboxItem::Base {
                    generation: generation.clone(),
                    path: base,
                });
            }
            for (txid, path) in self.segments(&generation)? {
                items.push(OutboxItem::Segment {
                    generation: generation.clone(),
                    txid,
                    path,
                });
            }
        }
        Ok(items)
    }

    /// Removes an item a target confirmed (the base keeps its `base.json`: replays need it).
    pub fn remove(&self, item: &OutboxItem) -> io::Result<()> {
        let path = match item {
            OutboxItem::Base { path, .. } | OutboxItem::Segment { path, .. } => path,
        };
        fsutil::remove_file(path)?;
        fsutil::fsync_dir(&fsutil::parent_of(path))
    }
}
