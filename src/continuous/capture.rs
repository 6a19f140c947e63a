//! The capture: reads the transactions committed to the WAL since the last capture, writes one
//! segment per transaction to the outbox, durably, and only then lets a checkpoint run.
//!
//! What keeps a checkpoint (ours, another connection's automatic one, another program's) from
//! passing a frame not yet captured is a read transaction the capture always holds open (its
//! "pin"): SQLite never copies WAL frames newer than the oldest reader's snapshot into the
//! database, and never starts the WAL over while a reader uses it. Each capture first opens a
//! new pin (its snapshot is at most what the capture is about to read), reads and writes the
//! segments, and only then lets the old pin go; two connections take turns. When the WAL is
//! fully checkpointed, a new pin reads the database file alone, which lets a `TRUNCATE`
//! checkpoint empty the WAL but still keeps any later frame out of the database file.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OpenFlags};

use super::outbox::{Outbox, Position};
use super::pages::PageSums;
use super::segment::{self, SegmentInfo};
use super::wal::WalReader;
use super::{CaptureError, FileError, NewGeneration};
use crate::clock::Clock;

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Which checkpoint runs after a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointMode {
    /// Copies captured frames into the database; never waits for anyone.
    Passive,
    /// Also empties the WAL file when everything in it is captured and checkpointed.
    Truncate,
}

/// What one capture wrote to the outbox.
#[derive(Debug, Default)]
pub struct Captured {
    /// (txid, size in bytes) of each segment written, in order.
    pub segments: Vec<(u64, u64)>,
    /// Set when the chain could not continue and a new generation began (with a new base).
    pub new_generation: Option<NewGeneration>,
}

impl Captured {
    fn absorb(&mut self, later: Captured) {
        self.segments.extend(later.segments);
        if later.new_generation.is_some() {
            self.new_generation = later.new_generation;
        }
    }
}

/// A capture followed by a checkpoint.
#[derive(Debug)]
pub struct Checkpointed {
    pub captured: Captured,
    /// SQLite's answer to the last checkpoint: whether it could not finish, the frames in the
    /// WAL, and the frames checkpointed.
    pub busy: bool,
    pub wal_frames: i64,
    pub checkpointed: i64,
}

/// Where a test stops a capture, as if the process were killed there.
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Segments durable; the position not yet written.
    AfterSegments,
    /// Position written; the old pin still held, no checkpoint.
    AfterPosition,
}

/// The capture of one database into one outbox.
pub struct Capture {
    pub(super) db: PathBuf,
    pub(super) wal: PathBuf,
    pub(super) outbox: Outbox,
    pub(super) installation: String,
    pub(super) clock: Arc<dyn Clock>,
    conns: [Connection; 2],
    pinned: [bool; 2],
    pub(super) position: Position,
    pub(super) sums: PageSums,
    /// Set when a capture failed half way: the next one first finds its place again.
    stale: bool,
    #[cfg(test)]
    pub(crate) fault: Option<Fault>,
}

fn open_connection(db: &Path) -> Result<Connection, CaptureError> {
    let open = |db: &Path| -> rusqlite::Result<(Connection, String)> {
        let conn = Connection::open_with_flags(
            db,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        // Backroom runs every checkpoint itself, after the capture.
        conn.execute_batch("PRAGMA wal_autocheckpoint=0;")?;
        Ok((conn, mode))
    };
    let (conn, mode) = open(db).map_err(|source| CaptureError::Open {
        path: db.to_path_buf(),
        source,
    })?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(CaptureError::NotWal {
            path: db.to_path_buf(),
            mode,
        });
    }
    Ok(conn)
}

fn wal_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

impl Capture {
    /// Starts capturing `db` (in WAL mode) into the outbox folder: continues the chain where
    /// the last capture left it when the database is exactly as it left it, or begins a new
    /// generation with a new base and says why. `installation` is written into every segment.
    pub fn open(
        db: &Path,
        outbox: &Path,
        installation: &str,
        clock: Arc<dyn Clock>,
    ) -> Result<(Capture, Option<NewGeneration>), CaptureError> {
        if !segment::valid_id(installation) {
            return Err(CaptureError::BadInstallationId);
        }
        let outbox = Outbox::open(outbox).map_err(|source| {
            CaptureError::File(FileError::Write {
                path: outbox.to_path_buf(),
                source,
            })
        })?;
        let mut capture = Capture {
            db: db.to_path_buf(),
            wal: wal_path(db),
            outbox,
            installation: installation.to_string(),
            clock,
            conns: [open_connection(db)?, open_connection(db)?],
            pinned: [false; 2],
            position: Position {
                installation: installation.to_string(),
                generation: String::new(),
                txid: 0,
                checksum: 0,
                page_size: 0,
                pages: 0,
                wal: None,
            },
            sums: PageSums::new(),
            stale: false,
            #[cfg(test)]
            fault: None,
        };
        capture.pin(0)?;
        let new_generation = capture.find_place()?;
        Ok((capture, new_generation))
    }

    /// The generation being captured and its newest txid.
    pub fn place(&self) -> (&str, u64) {
        (&self.position.generation, self.position.txid)
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Continues where the outbox says, or begins a new generation (and says why).
    fn find_place(&mut self) -> Result<Option<NewGeneration>, CaptureError> {
        match self.resume()? {
            Ok((position, sums)) => {
                self.position = position;
                self.sums = sums;
                Ok(None)
            }
            Err(reason) => {
                self.start_generation()?;
                Ok(Some(reason))
            }
        }
    }

    fn pin(&mut self, i: usize) -> Result<(), CaptureError> {
        let conn = &self.conns[i];
        conn.execute_batch("BEGIN DEFERRED")
            .and_then(|()| conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(())))
            .map_err(|e| {
                let _ = conn.execute_batch("ROLLBACK");
                CaptureError::Pin(e)
            })?;
        self.pinned[i] = true;
        Ok(())
    }

    fn unpin(&mut self, i: usize) {
        if self.pinned[i] {
            // A read transaction has nothing to lose: ending it cannot fail in a way that
            // matters, and the connection is usable again either way.
            let _ = self.conns[i].execute_batch("ROLLBACK");
            self.pinned[i] = false;
        }
    }

    /// Writes every transaction committed since the last capture to the outbox (durable on
    /// return), then moves the pin up to what it wrote.
    pub fn capture(&mut self) -> Result<Captured, CaptureError> {
        let new = if self.pinned[0] { 1 } else { 0 };
        self.pin(new)?;
        let result = self.capture_pinned();
        #[cfg(test)]
        if matches!(result, Err(CaptureError::Killed)) {
            return result;
        }
        match result {
            Ok(captured) => {
                self.unpin(1 - new);
                Ok(captured)
            }
            Err(e) => {
                // The old pin stays: it is still at or before everything captured.
                self.unpin(new);
                Err(e)
            }
        }
    }

    fn capture_pinned(&mut self) -> Result<Captured, CaptureError> {
        if self.stale {
            let new_generation = self.find_place()?;
            self.stale = false;
            if new_generation.is_some() {
                return Ok(Captured {
                    segments: Vec::new(),
                    new_generation,
                });
            }
        }
        let Some(mut reader) = WalReader::open(&self.wal).map_err(|e| self.read_error(e))? else {
            return Ok(Captured::default());
        };
        // Other salts: SQLite started the WAL over, which it does only once every frame in it
        // was checkpointed, and the pin (held since `open`) kept the checkpoint from passing
        // any frame before it was captured. So the new WAL's frames follow on, from its start.
        if let Some(place) = self.position.wal
            && place.salt == reader.header.salt
        {
            reader.seek(place).map_err(|e| self.read_error(e))?;
        }
        if reader.header.page_size != self.position.page_size && self.position.pages > 0 {
            return self.begin_again(NewGeneration::PageSizeChanged);
        }
        let txns = reader.committed().map_err(|e| self.read_error(e))?;
        if txns.is_empty() {
            return Ok(Captured::default());
        }
        self.stale = true;
        let mut written = Vec::with_capacity(txns.len());
        let timestamp = SystemTime::from(self.clock.now());
        for txn in &txns {
            let pre_apply = self.sums.checksum();
            for (&pgno, data) in &txn.pages {
                self.sums.set(pgno, data);
            }
            self.sums.resize(txn.commit);
            let info = SegmentInfo {
                installation: self.installation.clone(),
                generation: self.position.generation.clone(),
                txid: self.position.txid + 1,
                timestamp,
                page_size: reader.header.page_size,
                commit: txn.commit,
                pre_apply,
                post_apply: self.sums.checksum(),
                wal: txn.end,
            };
            written.push((info.txid, segment::encode(&info, &txn.pages)?));
            self.position.txid = info.txid;
            self.position.checksum = info.post_apply.into_inner();
            self.position.pages = txn.commit;
            self.position.page_size = info.page_size;
            self.position.wal = Some(txn.end);
        }
        let dir = self.outbox.generation_dir(&self.position.generation);
        self.outbox
            .write_segments(&self.position.generation, &written)
            .map_err(|source| CaptureError::File(FileError::Write { path: dir, source }))?;
        #[cfg(test)]
        if self.fault == Some(Fault::AfterSegments) {
            return Err(CaptureError::Killed);
        }
        self.save_position()?;
        self.stale = false;
        #[cfg(test)]
        if self.fault == Some(Fault::AfterPosition) {
            return Err(CaptureError::Killed);
        }
        Ok(Captured {
            segments: written
                .iter()
                .map(|(txid, bytes)| (*txid, bytes.len() as u64))
                .collect(),
            new_generation: None,
        })
    }

    /// The chain cannot continue: a new generation, with a new base, from the database now.
    fn begin_again(&mut self, reason: NewGeneration) -> Result<Captured, CaptureError> {
        self.stale = true;
        self.start_generation()?;
        self.stale = false;
        Ok(Captured {
            segments: Vec::new(),
            new_generation: Some(reason),
        })
    }

    pub(super) fn save_position(&self) -> Result<(), CaptureError> {
        self.outbox.save_position(&self.position).map_err(|source| {
            CaptureError::File(FileError::Write {
                path: self.outbox.dir().to_path_buf(),
                source,
            })
        })
    }

    pub(super) fn read_error(&self, source: std::io::Error) -> CaptureError {
        CaptureError::File(FileError::Read {
            path: self.wal.clone(),
            source,
        })
    }

    /// Captures, then checkpoints: the checkpoint cannot pass what the capture wrote (see the
    /// module comment). The WAL checkpointer calls this instead of running its own checkpoint.
    pub fn capture_then_checkpoint(
        &mut self,
        mode: CheckpointMode,
    ) -> Result<Checkpointed, CaptureError> {
        let mut captured = self.capture()?;
        let (mut busy, mut wal_frames, mut checkpointed) = self.checkpoint("PASSIVE")?;
        if mode == CheckpointMode::Truncate {
            // Pinned again after the passive checkpoint: when it copied everything, the new
            // pin reads the database file alone and no longer holds the WAL.
            captured.absorb(self.capture()?);
            (busy, wal_frames, checkpointed) = self.checkpoint("TRUNCATE")?;
        }
        Ok(Checkpointed {
            captured,
            busy,
            wal_frames,
            checkpointed,
        })
    }

    fn checkpoint(&mut self, mode: &str) -> Result<(bool, i64, i64), CaptureError> {
        let free = if self.pinned[0] { 1 } else { 0 };
        let conn = &self.conns[free];
        let run = || -> rusqlite::Result<(bool, i64, i64)> {
            // Never wait for a reader: the next round tries again.
            conn.busy_timeout(Duration::ZERO)?;
            let answer = conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
                Ok((r.get::<_, i64>(0)? != 0, r.get(1)?, r.get(2)?))
            });
            conn.busy_timeout(BUSY_TIMEOUT)?;
            answer
        };
        run().map_err(CaptureError::Checkpoint)
    }

    /// A last capture before the connections close (the last connection to close checkpoints
    /// the whole WAL, so nothing may be left uncaptured in it).
    pub fn close(mut self) -> Result<Captured, CaptureError> {
        self.capture()
    }
}
