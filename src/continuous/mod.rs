//! Continuous protection, first two phases: the engine that captures every committed
//! transaction of the live database into a local outbox, ships it to off-site targets, and
//! rebuilds the database as it was after any of them, from the outbox or from a target. Not
//! wired into the server or the command line yet.
//!
//! How a change travels:
//!
//! 1. **WAL frames** (`wal`). SQLite in WAL mode appends each transaction's pages to the
//!    `-wal` file, ending with a commit frame. Backroom runs every checkpoint itself (automatic
//!    checkpoints off on its connections), so it can read the new committed frames first.
//! 2. **Segment** (`segment`). Each transaction becomes one segment: an LTX file (`litetx`, the
//!    format of LiteFS and Litestream) with the pages after the transaction, the database size,
//!    its txid and capture time, and two database checksums: before (pre-apply) and after
//!    (post-apply). Segment n starts from segment n-1's post-apply checksum: a chain, so a gap,
//!    a reordering or a changed segment is found on replay. An envelope adds the installation
//!    id, the generation id and a SHA-256 of the file.
//! 3. **Outbox** (`outbox`). Segments are written and fsynced (file and folder) before the
//!    checkpoint may copy their frames into the database ([`Capture::capture_then_checkpoint`]);
//!    a read transaction the capture holds keeps every other checkpoint behind it too
//!    (`capture`). Generations and txids sort by name, so a shipper takes them in order.
//! 4. **Generations** (`generation`). When the chain cannot continue (first run, the database
//!    changed while not captured: a restore, another program while Backroom was stopped) a
//!    new generation begins with a base: the database copied page for page at txid 1. The
//!    reason is returned as a [`NewGeneration`] for the caller to log.
//! 5. **Replay** (`replay`). Base plus segments, checked link by link, rebuild the database
//!    after any txid or at any time.
//! 6. **Shipping** (`ship`, `envelope`). Each base and segment, in order, becomes one object
//!    on every target under `continuous/<installation>/` (a folder of its own that copies'
//!    listings never see): a signed header (HMAC keyed from the off-site key, over the
//!    installation, generation, txid and the payload's SHA-256), zstd, age to the off-site
//!    key. The outbox lets an item go only when every target confirmed it.
//! 7. **Restore from a target** (`fetch`): [`restore_at`] lists the generation, fetches and
//!    checks every object by name, replays, and runs `integrity_check`.
//! 8. **Later phases**: wiring into the server's checkpointer and shipper, compaction
//!    levels, retention of old generations, restore pages and commands.
//!
//! Wiring it in (the next phase) must keep these rules:
//! - open the [`Capture`] with the live database and keep it open; close it (a last capture)
//!   *after* the pool, so its connection is the last and SQLite's closing checkpoint passes
//!   nothing uncaptured; close it before a restore, undo or bring-back replaces the file and
//!   open it again after (that begins a new generation, said in the log);
//! - the WAL checkpointer calls [`Capture::capture_then_checkpoint`] instead of its own
//!   `PRAGMA wal_checkpoint`, and a capture follows each commit promptly (the commit counter);
//!   connections that keep SQLite's automatic checkpoint (the CLI's) are safe: the pin holds
//!   them back too;
//! - a generation's base is `base.db`, copied page for page; a copy made by SQLite's backup API
//!   differs in header bytes and cannot stand in for it without a base record of its own;
//! - call [`ship`] with *every* enabled target after each capture: an item leaves the outbox
//!   only when all the targets given confirmed it, and a target given for the first time
//!   starts from what the outbox still holds (a generation whose base already left cannot be
//!   restored from it: start a new generation, or send the base again, when a target is added).

mod capture;
mod envelope;
mod fetch;
mod generation;
mod outbox;
mod pages;
mod replay;
mod segment;
mod ship;
mod wal;

#[cfg(test)]
mod ship_tests;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

pub use capture::{Capture, Captured, CheckpointMode, Checkpointed};
pub use envelope::Untrusted;
pub use fetch::{At, restore_at};
pub use generation::BASE_TXID;
pub use outbox::{BaseInfo, Outbox, OutboxItem};
pub use replay::{Moment, Restored, restore, restore_from_outbox};
pub use segment::{Segment, SegmentError, SegmentInfo, decode as decode_segment};
pub use ship::{FOLDER, ShipTarget, Shipped, TargetShipped, folder_of, ship};

/// Why a new generation began: the chain of segments could not continue from the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewGeneration {
    /// Nothing was captured from this database into this outbox before.
    FirstCapture,
    /// The outbox's place was written by another installation (a copied data folder).
    OtherInstallation,
    /// The database is not what the last capture left: it was restored, or changed while
    /// nothing captured (another program while Backroom was stopped).
    DatabaseChanged,
    /// The database's page size changed.
    PageSizeChanged,
    /// The outbox's place or its newest segments cannot be read.
    OutboxUnreadable,
}

impl std::fmt::Display for NewGeneration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NewGeneration::FirstCapture => "nothing was captured from this database before",
            NewGeneration::OtherInstallation => "the outbox belongs to another installation",
            NewGeneration::DatabaseChanged => {
                "the database changed while its changes were not captured (a restore, or another program while Backroom was stopped)"
            }
            NewGeneration::PageSizeChanged => "the database's page size changed",
            NewGeneration::OutboxUnreadable => "the outbox's record of its place cannot be read",
        })
    }
}

/// A file of the capture or of a replay that could not be read or written (the database, its
/// WAL, the outbox): one pair of messages for both.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("cannot open the database {path} to capture its changes: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("the database {path} is not in WAL mode (journal mode {mode})")]
    NotWal { path: PathBuf, mode: String },
    #[error("the installation id is not valid for segment names")]
    BadInstallationId,
    #[error("cannot hold the database's place for the capture: {0}")]
    Pin(#[source] rusqlite::Error),
    #[error(transparent)]
    File(#[from] FileError),
    #[error("cannot make a segment: {0}")]
    Encode(#[from] litetx::EncodeError),
    #[error("the checkpoint after the capture failed: {0}")]
    Checkpoint(#[source] rusqlite::Error),
    /// A test stopped the capture here, as a kill would.
    #[cfg(test)]
    #[error("stopped by the test")]
    Killed,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("the base {path} is not the copy its record describes")]
    BaseDamaged { path: PathBuf },
    #[error("{path} was made by another installation")]
    OtherInstallation { path: PathBuf },
    #[error("{path} belongs to another generation")]
    OtherGeneration { path: PathBuf },
    #[error("the segment {path} cannot be read: {source}")]
    Damaged { path: PathBuf, source: SegmentError },
    #[error("transaction {expected} is missing (the next segment holds {found})")]
    Missing { expected: u64, found: u64 },
    #[error("the segments are out of order: transaction {found} came where {expected} belongs")]
    OutOfOrder { expected: u64, found: u64 },
    #[error("transaction {txid} does not follow on from the database before it")]
    ChainBroken { txid: u64 },
    #[error("the segments end at transaction {newest}, before transaction {wanted}")]
    NotReached { wanted: u64, newest: u64 },
    #[error("transaction {wanted} is before the base (transaction {base})")]
    BeforeBase { wanted: u64, base: u64 },
}

#[derive(Debug, thiserror::Error)]
pub enum ShipError {
    #[error("cannot read the outbox at {path}: {source}")]
    Outbox {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] crate::offsite::store::StoreError),
    #[error("cannot compress and encrypt a segment: {0}")]
    Seal(#[from] crate::offsite::pipeline::PipelineError),
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Store(#[from] crate::offsite::store::StoreError),
    #[error("the target holds no continuous protection of this installation")]
    Nothing,
    #[error("the target holds nothing of this installation from before that moment")]
    NothingBefore,
    #[error("{name} is missing on the target")]
    Missing { name: String },
    #[error("{name} on the target was not made by this shop: {why}")]
    NotOurs { name: String, why: Untrusted },
    #[error("{name} on the target holds another object than its name says (renamed or moved)")]
    Renamed { name: String },
    #[error("{name} on the target cannot be decrypted and unpacked: {source}")]
    Unreadable {
        name: String,
        source: Box<crate::offsite::pipeline::PipelineError>,
    },
    #[error("{name} on the target holds no readable segment: {source}")]
    Damaged { name: String, source: SegmentError },
    #[error("cannot write {path}: {source}")]
    Work {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Replay(#[from] ReplayError),
    #[error("the rebuilt database fails SQLite's integrity check: {detail}")]
    Integrity { detail: String },
    #[error("cannot check the rebuilt database: {0}")]
    Check(#[source] rusqlite::Error),
}
