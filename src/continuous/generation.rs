//! Where a capture starts: the place the outbox recorded, when the database is still exactly
//! what the capture left (its checksum, recomputed from the file and the WAL, says so), or
//! else a new generation: a new id, a base copy of the database page for page, txid 1.

use std::io::{self, Write};
use std::time::SystemTime;

use super::NewGeneration;
use super::capture::Capture;
use super::outbox::{BaseInfo, Position};
use super::pages::{PageSums, db_file_geometry, read_image};
use super::segment;
use super::wal::WalReader;
use super::{CaptureError, FileError};
use crate::fsutil;

/// The txid of a generation's base.
pub const BASE_TXID: u64 = 1;

/// A new generation id: the time in milliseconds (so ids sort in order) and random bits.
fn new_generation_id(now: SystemTime) -> String {
    let ms = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    format!("{ms:012x}-{}", fsutil::random_hex(6))
}

impl Capture {
    /// The recorded place and the page sums there, or why the chain cannot continue.
    pub(super) fn resume(
        &self,
    ) -> Result<Result<(Position, PageSums), NewGeneration>, CaptureError> {
        let position = match self.outbox.load_position() {
            Ok(Some(p)) => p,
            Ok(None) => return Ok(Err(NewGeneration::FirstCapture)),
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                return Ok(Err(NewGeneration::OutboxUnreadable));
            }
            Err(source) => {
                return Err(CaptureError::File(FileError::Read {
                    path: self.outbox.dir().to_path_buf(),
                    source,
                }));
            }
        };
        if position.installation != self.installation {
            return Ok(Err(NewGeneration::OtherInstallation));
        }
        let Some(mut position) = self.written_after(position)? else {
            return Ok(Err(NewGeneration::OutboxUnreadable));
        };

        let mut reader = WalReader::open(&self.wal).map_err(|e| self.read_error(e))?;
        let mut overlay = None;
        let mut wal_place = None;
        if let Some(r) = reader.as_mut() {
            match position.wal {
                Some(place) if place.salt == r.header.salt => {
                    match r
                        .overlay(Some(place.frames))
                        .map_err(|e| self.read_error(e))?
                    {
                        Some(o) if o.end == place => overlay = Some(o),
                        _ => return Ok(Err(NewGeneration::DatabaseChanged)),
                    }
                    wal_place = Some(place);
                }
                // A WAL begun after the place: the database file alone must hold the place,
                // and every frame in this WAL is new.
                _ => wal_place = Some(r.pos()),
            }
        }
        let geometry = match overlay.as_ref().and_then(|o| o.commit) {
            Some(commit) => Some((position.page_size, commit)),
            None => db_file_geometry(&self.db).map_err(|e| self.db_read_error(e))?,
        };
        let (page_size, pages) = geometry.unwrap_or((position.page_size, 0));
        if page_size != position.page_size && pages > 0 {
            return Ok(Err(NewGeneration::DatabaseChanged));
        }
        let sums = read_image(
            &self.db,
            &self.wal,
            overlay.as_ref(),
            page_size,
            pages,
            |_| Ok(()),
        )
        .map_err(|e| self.db_read_error(e))?;
        if sums.checksum().into_inner() != position.checksum || pages != position.pages {
            return Ok(Err(NewGeneration::DatabaseChanged));
        }
        position.wal = wal_place;
        Ok(Ok((position, sums)))
    }

    /// The position moved up to segments written after it (a stop between writing them and
    /// the position); `None` when those cannot be read or do not follow on.
    fn written_after(&self, position: Position) -> Result<Option<Position>, CaptureError> {
        let dir = self.outbox.generation_dir(&position.generation);
        let segments = match self.outbox.segments(&position.generation) {
            Ok(s) => s,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Some(position)),
            Err(source) => return Err(CaptureError::File(FileError::Read { path: dir, source })),
        };
        let after: Vec<_> = segments
            .into_iter()
            .filter(|(txid, _)| *txid > position.txid)
            .collect();
        let Some((newest, path)) = after.last() else {
            return Ok(Some(position));
        };
        if *newest != position.txid + after.len() as u64 {
            return Ok(None);
        }
        let bytes = std::fs::read(path).map_err(|source| {
            CaptureError::File(FileError::Read {
                path: path.clone(),
                source,
            })
        })?;
        let Ok(segment) = segment::decode(&bytes) else {
            return Ok(None);
        };
        let info = segment.info;
        if info.txid != *newest || info.generation != position.generation {
            return Ok(None);
        }
        Ok(Some(Position {
            txid: info.txid,
            checksum: info.post_apply.into_inner(),
            page_size: info.page_size,
            pages: info.commit,
            wal: Some(info.wal),
            ..position
        }))
    }

    fn db_read_error(&self, source: io::Error) -> CaptureError {
        CaptureError::File(FileError::Read {
            path: self.db.clone(),
            source,
        })
    }

    /// Begins a new generation from the database as it is now (under the pin): writes its
    /// base, then the position.
    pub(super) fn start_generation(&mut self) -> Result<(), CaptureError> {
        let now = SystemTime::from(self.clock.now());
        let generation = new_generation_id(now);
        let mut reader = WalReader::open(&self.wal).map_err(|e| self.read_error(e))?;
        let (overlay, wal_page_size) = match reader.as_mut() {
            Some(r) => (
                r.overlay(None).map_err(|e| self.read_error(e))?,
                Some(r.header.page_size),
            ),
            None => (None, None),
        };
        let (page_size, pages) = match (overlay.as_ref().and_then(|o| o.commit), wal_page_size) {
            (Some(commit), Some(page_size)) => (page_size, commit),
            _ => db_file_geometry(&self.db)
                .map_err(|e| self.db_read_error(e))?
                .unwrap_or((wal_page_size.unwrap_or(4096), 0)),
        };
        let mut sums = None;
        let dir = self.outbox.generation_dir(&generation);
        let (db, wal) = (self.db.clone(), self.wal.clone());
        self.outbox
            .write_base(&generation, |file| {
                let mut out = io::BufWriter::new(file);
                let found = read_image(&db, &wal, overlay.as_ref(), page_size, pages, |page| {
                    out.write_all(page)
                })?;
                out.flush()?;
                sums = Some(found);
                Ok(())
            })
            .map_err(|source| {
                CaptureError::File(FileError::Write {
                    path: dir.clone(),
                    source,
                })
            })?;
        let sums = sums.unwrap_or_else(PageSums::new);
        let info = BaseInfo {
            installation: self.installation.clone(),
            generation: generation.clone(),
            txid: BASE_TXID,
            checksum: sums.checksum().into_inner(),
            page_size,
            pages,
            taken_at_ms: now
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
        };
        self.outbox
            .write_base_info(&info)
            .map_err(|source| CaptureError::File(FileError::Write { path: dir, source }))?;
        self.position = Position {
            installation: self.installation.clone(),
            generation,
            txid: BASE_TXID,
            checksum: info.checksum,
            page_size,
            pages,
            wal: overlay.map(|o| o.end),
        };
        self.sums = sums;
        self.save_position()
    }
}
