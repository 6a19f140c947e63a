//! The bytes of an off-site copy: read the backup → zstd → age → the target, and back, in one
//! streaming pass with bounded memory, hashing both the plain file and the object on the way.
//!
//! A copy is `zstd -3` compressed and then encrypted with age to an X25519 recipient, so the
//! standard tools open it: `age -d -i kit.txt -o FILE.zst FILE`, then
//! `zstd -d FILE.zst -o business_data.db`.

use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

/// zstd level 3, the standard tool's default.
pub const ZSTD_LEVEL: i32 = 3;
/// zstd jobs of 3 MiB: measured on 1 GiB with two workers, 1 MiB jobs took 6.0 s (14 MiB),
/// 3 MiB 4.1 s (28 MiB), the default (`zstd -T0`) 4.2 s (64 MiB).
const ZSTD_JOB_SIZE: u32 = 3 << 20;
/// Level 3 uses windows of 2^21 bytes; refusing larger windows bounds decompression memory.
const ZSTD_WINDOW_LOG_MAX: u32 = 22;
const CHUNK: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("cannot read the backup: {}", crate::fsutil::plain_io(.0))]
    Read(#[source] io::Error),
    #[error("cannot write the copy: {}", crate::fsutil::plain_io(.0))]
    Write(#[source] io::Error),
    #[error("cannot compress: {}", crate::fsutil::plain_io(.0))]
    Compress(#[source] io::Error),
    #[error("cannot encrypt: {0}")]
    Encrypt(#[from] age::EncryptError),
    #[error(
        "the copy cannot be decrypted with this key (it was made with another key, or it is damaged): {0}"
    )]
    Decrypt(#[from] age::DecryptError),
    #[error(
        "the copy is damaged or was changed on the target: it does not decrypt and unpack ({0})"
    )]
    Decompress(#[source] io::Error),
    #[error(
        "the copy unpacks to more than the {limit} bytes it should have: refused (damaged, or not what it claims to be)"
    )]
    TooLarge { limit: u64 },
}

/// What a pass saw: the plain database and the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    pub plain_sha256: String,
    pub plain_size: u64,
    pub object_sha256: String,
    pub object_size: u64,
}

impl Digests {
    /// From the (SHA-256, size) of the plain data and of the object.
    fn of(plain: (String, u64), object: (String, u64)) -> Digests {
        Digests {
            plain_sha256: plain.0,
            plain_size: plain.1,
            object_sha256: object.0,
            object_size: object.1,
        }
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A writer that hashes and counts what passes through it.
pub struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W> Hashing<W> {
    pub fn new(inner: W) -> Hashing<W> {
        Hashing {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    pub fn finish(self) -> (W, String, u64) {
        (self.inner, hex(&self.hasher.finalize()), self.size)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that hashes and counts what is read through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    size: u64,
}

impl<R> HashingReader<R> {
    pub fn new(inner: R) -> HashingReader<R> {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    pub fn finish(self) -> (String, u64) {
        (hex(&self.hasher.finalize()), self.size)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

/// A failure while writing through the compressor: the compressor's own errors are `Other`;
/// anything else (a full disk, a lost connection) came from the output underneath.
fn through_compressor(e: io::Error) -> PipelineError {
    if e.kind() == io::ErrorKind::Other
        && e.get_ref().is_none_or(|inner| !inner.is::<CapExceeded>())
    {
        PipelineError::Compress(e)
    } else {
        PipelineError::Write(e)
    }
}

/// Copies `input` into `output`, telling apart read and write failures.
fn pump<R: Read, W: Write>(
    input: &mut R,
    output: &mut W,
    write_error: fn(io::Error) -> PipelineError,
) -> Result<(), PipelineError> {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(PipelineError::Read(e)),
        };
        output.write_all(&buf[..n]).map_err(write_error)?;
    }
}

/// How many threads zstd may use: the cores there are, but backups run beside the shop's work.
fn compression_threads() -> u32 {
    std::thread::available_parallelism()
        .map(|n| u32::try_from(n.get()).unwrap_or(1))
        .unwrap_or(1)
        .clamp(1, 4)
}

/// Compresses and encrypts `input` into `output` (which receives the finished object).
/// Returns the digests and the output writer, so the caller can finish its upload.
pub fn seal<R: Read, W: Write>(
    input: R,
    recipient: &age::x25519::Recipient,
    output: W,
) -> Result<(Digests, W), PipelineError> {
    let mut plain = HashingReader::new(input);
    let object = Hashing::new(output);
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(recipient as &dyn age::Recipient))?;
    let encrypted = encryptor
        .wrap_output(object)
        .map_err(PipelineError::Write)?;
    let mut zstd = zstd::stream::write::Encoder::new(encrypted, ZSTD_LEVEL)
        .map_err(PipelineError::Compress)?;
    let threads = compression_threads();
    if threads > 1 {
        zstd.multithread(threads).map_err(PipelineError::Compress)?;
        zstd.set_parameter(zstd::zstd_safe::CParameter::JobSize(ZSTD_JOB_SIZE))
            .map_err(PipelineError::Compress)?;
    }
    zstd.include_checksum(true)
        .map_err(PipelineError::Compress)?;
    pump(&mut plain, &mut zstd, through_compressor)?;
    let encrypted = zstd.finish().map_err(through_compressor)?;
    let object = encrypted.finish().map_err(PipelineError::Write)?;
    let (output, object_sha256, object_size) = object.finish();
    Ok((
        Digests::of(plain.finish(), (object_sha256, object_size)),
        output,
    ))
}

/// A writer that refuses to grow past a limit (against decompression bombs).
struct Capped<W> {
    inner: W,
    written: u64,
    limit: u64,
}

impl<W: Write> Write for Capped<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written + buf.len() as u64 > self.limit {
            return Err(io::Error::other(CapExceeded));
        }
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the size limit was reached")]
struct CapExceeded;

/// Decrypts and decompresses `input` into `output`, refusing to write more than `limit`
/// plain bytes. Returns the digests (the object's hash is of what was read).
pub fn open<R: Read, W: Write>(
    input: R,
    identities: &[age::x25519::Identity],
    output: W,
    limit: u64,
) -> Result<(Digests, W), PipelineError> {
    let mut object = HashingReader::new(input);
    let decryptor = age::Decryptor::new_buffered(io::BufReader::new(&mut object))?;
    let decrypted = decryptor.decrypt(identities.iter().map(|i| i as &dyn age::Identity))?;
    let mut zstd =
        zstd::stream::read::Decoder::new(decrypted).map_err(PipelineError::Decompress)?;
    zstd.window_log_max(ZSTD_WINDOW_LOG_MAX)
        .map_err(PipelineError::Decompress)?;
    let plain = Hashing::new(Capped {
        inner: output,
        written: 0,
        limit,
    });
    let mut plain = plain;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match zstd.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(PipelineError::Decompress(e)),
        };
        plain.write_all(&buf[..n]).map_err(|e| {
            if e.get_ref().is_some_and(|inner| inner.is::<CapExceeded>()) {
                PipelineError::TooLarge { limit }
            } else {
                PipelineError::Write(e)
            }
        })?;
    }
    drop(zstd);
    // Read what is left (age's final tag), so the object hash covers every byte.
    io::copy(&mut object, &mut io::sink()).map_err(PipelineError::Read)?;
    let (capped, plain_sha256, plain_size) = plain.finish();
    Ok((
        Digests::of((plain_sha256, plain_size), object.finish()),
        capped.inner,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open_round_trip_with_hashes() {
        let key = age::x25519::Identity::generate();
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let (sealed, object) = seal(&data[..], &key.to_public(), Vec::new()).unwrap();
        assert_eq!(sealed.plain_size, data.len() as u64);
        assert_eq!(sealed.object_size, object.len() as u64);
        assert!(object.len() < data.len() / 4, "compressed");
        assert!(object.starts_with(b"age-encryption.org/v1"));
        let (opened, plain) = open(&object[..], &[key], Vec::new(), data.len() as u64).unwrap();
        assert_eq!(plain, data);
        assert_eq!(opened, sealed);
    }

    #[test]
    fn a_wrong_key_a_cut_object_and_a_bomb_are_refused() {
        let key = age::x25519::Identity::generate();
        let data = vec![0u8; 2_000_000];
        let (_, object) = seal(&data[..], &key.to_public(), Vec::new()).unwrap();
        let other = age::x25519::Identity::generate();
        assert!(matches!(
            open(&object[..], &[other], Vec::new(), u64::MAX),
            Err(PipelineError::Decrypt(_))
        ));
        let cut = &object[..object.len() - 20];
        assert!(open(cut, std::slice::from_ref(&key), Vec::new(), u64::MAX).is_err());
        assert!(matches!(
            open(&object[..], &[key], Vec::new(), 1000),
            Err(PipelineError::TooLarge { limit: 1000 })
        ));
    }
}
