//! Sending one copy and getting one back. Sending streams the verified local backup through
//! zstd and age straight into the target, proves the plain bytes were exactly the backup's
//! (its SHA-256 record), checks the finished object, and only then writes the manifest.
//! Getting one back streams it into a temp file beside the live data, refusing more bytes
//! than the manifest declares, and checks hashes, `quick_check` and row counts.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use chrono::{DateTime, Utc};

use super::OffsiteError;
use super::keys::Keyring;
use super::manifest::{FORMAT, MANIFEST_SUFFIX, Manifest, OBJECT_SUFFIX};
use super::pipeline::{self, Digests};
use super::store::Store;
use crate::backup::BackupEntry;

/// Bytes done of the copy being sent or fetched, for progress bars.
#[derive(Debug, Default)]
pub struct Meter {
    pub done: AtomicU64,
    pub total: AtomicU64,
}

impl Meter {
    pub fn start(&self, total: u64) {
        self.total.store(total, Ordering::Relaxed);
        self.done.store(0, Ordering::Relaxed);
    }

    pub fn percent(&self) -> u8 {
        let total = self.total.load(Ordering::Relaxed);
        let done = self.done.load(Ordering::Relaxed);
        u8::try_from((done * 100).checked_div(total).unwrap_or(0).min(100)).unwrap_or(100)
    }
}

/// Reads through, counting for the meter and stopping when asked to.
struct Watched<'a, R> {
    inner: R,
    meter: &'a Meter,
    cancel: &'a AtomicBool,
}

impl<R: Read> Read for Watched<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.cancel.load(Ordering::Relaxed) {
            // Not `Interrupted`: readers retry that kind, and this must stop them.
            return Err(io::Error::other(Cancelled));
        }
        let n = self.inner.read(buf)?;
        self.meter.done.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cancelled")]
struct Cancelled;

fn cancelled(e: &pipeline::PipelineError) -> bool {
    let io = match e {
        pipeline::PipelineError::Read(io) | pipeline::PipelineError::Compress(io) => io,
        _ => return false,
    };
    io.get_ref().is_some_and(|inner| inner.is::<Cancelled>())
}

/// What to send.
pub struct Outgoing<'a> {
    pub entry: &'a BackupEntry,
    pub copy: &'a str,
    pub now: DateTime<Utc>,
    pub installation: &'a super::installation::Installation,
    /// This installation's sequence number for the copy (see `Manifest::sequence`).
    pub sequence: u64,
}

/// Sends one backup as `<copy>.db.zst.age` + `<copy>.json`. `on_started` receives the upload
/// id as soon as the target has one (record it: a crash mid-upload is cleaned up with it).
pub fn send(
    store: &dyn Store,
    keys: &Keyring,
    out: &Outgoing<'_>,
    meter: &Meter,
    cancel: &AtomicBool,
    on_started: &mut dyn FnMut(Option<String>),
) -> Result<Manifest, OffsiteError> {
    let entry = out.entry;
    let sidecar = entry
        .sidecar
        .as_ref()
        .ok_or_else(|| OffsiteError::NoRecord(entry.file_name.clone()))?;
    let read_error = |source| OffsiteError::ReadBackup {
        name: entry.file_name.clone(),
        source,
    };
    let file = std::fs::File::open(&entry.path).map_err(read_error)?;
    meter.start(sidecar.size);
    let input = Watched {
        inner: io::BufReader::with_capacity(1 << 20, file),
        meter,
        cancel,
    };
    let object = format!("{}{OBJECT_SUFFIX}", out.copy);
    let writer = store.create(&object)?;
    on_started(writer.upload_id());
    // On any error below the writer is dropped, which throws the partial object away.
    let (digests, writer) = pipeline::seal(input, &keys.recipient(), writer).map_err(|e| {
        if cancelled(&e) {
            OffsiteError::Cancelled
        } else {
            e.into()
        }
    })?;
    if digests.plain_sha256 != sidecar.sha256 || digests.plain_size != sidecar.size {
        writer.abort();
        return Err(OffsiteError::Changed(entry.file_name.clone()));
    }
    writer.finish()?;
    store.verify_object(&object, digests.object_size, &digests.object_sha256)?;
    let mut manifest = Manifest {
        format: FORMAT,
        copy: out.copy.to_string(),
        source_backup: entry.file_name.clone(),
        kind: entry.kind(),
        description: Some(entry.description().to_string()).filter(|d| !d.is_empty()),
        created_at: entry.created_at(),
        uploaded_at: out.now,
        plain_size: digests.plain_size,
        plain_sha256: digests.plain_sha256,
        object_size: digests.object_size,
        object_sha256: digests.object_sha256,
        schema_version: sidecar.schema_version,
        row_counts: sidecar.row_counts.clone(),
        program_version: crate::VERSION.to_string(),
        compression: format!("zstd -{}", pipeline::ZSTD_LEVEL),
        encryption: "age X25519".into(),
        recipient: keys.current().public(),
        installation: Some(out.installation.clone()),
        order: sidecar.order,
        sequence: Some(out.sequence),
        mac: None,
        trust: Default::default(),
    };
    super::auth::sign(&mut manifest, keys);
    store.put_small(
        &format!("{}{MANIFEST_SUFFIX}", out.copy),
        &manifest.to_bytes(),
    )?;
    Ok(manifest)
}

/// Writes out and flushes a file a copy was unpacked into.
pub fn close_unpacked(file: io::BufWriter<std::fs::File>) -> Result<(), OffsiteError> {
    let file = file
        .into_inner()
        .map_err(|e| OffsiteError::Temp(e.into_error()))?;
    crate::platform::flush_file(&file).map_err(OffsiteError::Temp)
}

/// A temp file that is removed unless kept.
pub struct TempCopy {
    pub path: PathBuf,
    keep: bool,
}

impl TempCopy {
    pub fn new(dir: &Path, prefix: &str) -> TempCopy {
        TempCopy {
            path: dir.join(format!("{prefix}{}.db", crate::fsutil::random_hex(8))),
            keep: false,
        }
    }

    /// Keeps the file (it was moved or renamed into place).
    pub fn keep(mut self) -> PathBuf {
        self.keep = true;
        self.path.clone()
    }
}

impl Drop for TempCopy {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A copy brought back into a temp file and proven good.
pub struct Fetched {
    pub temp: TempCopy,
    pub digests: Digests,
    pub row_counts: BTreeMap<String, i64>,
    pub schema_version: i64,
}

/// Downloads, decrypts and decompresses `manifest`'s copy into a temp file in `dir` (never
/// more than the manifest declares), then checks it against the manifest: object and plain
/// SHA-256, `quick_check`, row counts.
pub fn fetch(
    store: &dyn Store,
    identities: &[age::x25519::Identity],
    manifest: &Manifest,
    dir: &Path,
    temp_prefix: &str,
    meter: &Meter,
    cancel: &AtomicBool,
) -> Result<Fetched, OffsiteError> {
    let temp = TempCopy::new(dir, temp_prefix);
    let (digests, checked) = fetch_to(store, identities, manifest, &temp.path, meter, cancel)?;
    Ok(Fetched {
        temp,
        digests,
        row_counts: checked.row_counts,
        schema_version: checked.schema_version,
    })
}

/// [`fetch`] into a file the caller owns (and removes when this fails).
pub fn fetch_to(
    store: &dyn Store,
    identities: &[age::x25519::Identity],
    manifest: &Manifest,
    dest: &Path,
    meter: &Meter,
    cancel: &AtomicBool,
) -> Result<(Digests, crate::backup::copy::Checked), OffsiteError> {
    let file = std::fs::File::create(dest).map_err(OffsiteError::Temp)?;
    meter.start(manifest.object_size);
    let input = Watched {
        inner: store.open(&manifest.object_name())?,
        meter,
        cancel,
    };
    let (digests, file) = pipeline::open(
        input,
        identities,
        io::BufWriter::new(file),
        manifest.plain_size,
    )
    .map_err(|e| {
        if cancelled(&e) {
            OffsiteError::Cancelled
        } else {
            e.into()
        }
    })?;
    close_unpacked(file)?;
    let mismatch = |what: String| OffsiteError::Mismatch {
        copy: manifest.copy.clone(),
        what,
    };
    if digests.object_size != manifest.object_size
        || digests.object_sha256 != manifest.object_sha256
    {
        return Err(mismatch(
            "the encrypted file's checksum differs (it was changed or cut on the target)".into(),
        ));
    }
    if digests.plain_size != manifest.plain_size || digests.plain_sha256 != manifest.plain_sha256 {
        return Err(mismatch("the unpacked data's checksum differs".into()));
    }
    let mut checked = crate::backup::copy::check_file(dest, false);
    if let Err(problem) = checked.check {
        return Err(OffsiteError::Damaged {
            copy: manifest.copy.clone(),
            problem,
        });
    }
    if let Err(problem) = std::mem::replace(&mut checked.schema, Ok(())) {
        return Err(OffsiteError::Foreign {
            copy: manifest.copy.clone(),
            problem,
        });
    }
    if !manifest.row_counts.is_empty() && checked.row_counts != manifest.row_counts {
        return Err(mismatch(
            "its row counts differ from the ones recorded".into(),
        ));
    }
    Ok((digests, checked))
}
