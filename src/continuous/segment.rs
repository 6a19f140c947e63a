//! One segment: one committed transaction, as an LTX file (the LiteFS/Litestream transaction
//! format, `litetx`) inside a small Backroom envelope that names the installation and the
//! generation and ends with a SHA-256 of the whole file.
//!
//! ```text
//! "BKRSEG1\n"                      8 bytes, magic and version
//! installation id                  1 byte length + UTF-8 ([0-9A-Za-z_-], at most 64)
//! generation id                    1 byte length + UTF-8 (same rules)
//! WAL place after the transaction  5 x u32 BE: salt-1, salt-2, frames, checksum-1, checksum-2
//!                                  (local bookkeeping: lets a restarted capture continue)
//! LTX length                       u32 BE
//! LTX file                         header (page size, database size after the transaction,
//!                                  min = max txid, time of capture in ms, pre-apply checksum),
//!                                  the pages written (ascending), trailer (post-apply
//!                                  checksum, CRC-64 of the LTX file)
//! SHA-256                          32 bytes, of everything above
//! ```
//!
//! The pre-apply checksum of segment n is the post-apply checksum of segment n-1 (or of the
//! base): that is the chain a replay checks.

use std::collections::BTreeMap;
use std::time::SystemTime;

use litetx::{Checksum, Decoder, Encoder, Header, HeaderFlags, PageNum, PageSize, TXID};
use sha2::{Digest, Sha256};

use super::wal::WalPos;

const MAGIC: &[u8; 8] = b"BKRSEG1\n";
const DIGEST_LEN: usize = 32;
const MAX_ID_LEN: usize = 64;

/// Why a segment's bytes cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    #[error("it is not a Backroom segment")]
    NotASegment,
    #[error("its checksum does not match: it was changed or cut short")]
    DigestMismatch,
    #[error("its {0} is not valid")]
    BadField(&'static str),
    #[error("its transaction (LTX) cannot be read: {0}")]
    Ltx(#[source] litetx::DecodeError),
}

/// What a segment says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentInfo {
    pub installation: String,
    pub generation: String,
    pub txid: u64,
    /// When the capture saw the commit (milliseconds).
    pub timestamp: SystemTime,
    pub page_size: u32,
    /// The database size in pages after the transaction.
    pub commit: u32,
    pub pre_apply: Checksum,
    pub post_apply: Checksum,
    pub(crate) wal: WalPos,
}

/// A decoded segment: what it says and the pages it writes.
pub struct Segment {
    pub info: SegmentInfo,
    pub pages: Vec<(u32, Vec<u8>)>,
}

/// The ids a segment carries become folder and file names: only plain characters.
pub(crate) fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn push_id(out: &mut Vec<u8>, id: &str) {
    // Ids are checked by `valid_id` before any segment is written (at most 64 bytes).
    out.push(u8::try_from(id.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(id.as_bytes());
}

/// The segment of one transaction, ready to write.
pub(crate) fn encode(
    info: &SegmentInfo,
    pages: &BTreeMap<u32, Vec<u8>>,
) -> Result<Vec<u8>, litetx::EncodeError> {
    let bad = |what: &'static str| {
        litetx::EncodeError::Write(std::io::Error::new(std::io::ErrorKind::InvalidInput, what))
    };
    let header = Header {
        flags: HeaderFlags::empty(),
        page_size: PageSize::new(info.page_size).map_err(|_| bad("page size"))?,
        commit: PageNum::new(info.commit).map_err(|_| bad("database size"))?,
        min_txid: TXID::new(info.txid).map_err(|_| bad("txid"))?,
        max_txid: TXID::new(info.txid).map_err(|_| bad("txid"))?,
        timestamp: info.timestamp,
        pre_apply_checksum: Some(info.pre_apply),
    };
    let mut ltx = Vec::new();
    let mut encoder = Encoder::new(&mut ltx, &header)?;
    for (&pgno, data) in pages {
        encoder.encode_page(PageNum::new(pgno).map_err(|_| bad("page number"))?, data)?;
    }
    encoder.finish(info.post_apply)?;

    let mut out = Vec::with_capacity(ltx.len() + 128);
    out.extend_from_slice(MAGIC);
    push_id(&mut out, &info.installation);
    push_id(&mut out, &info.generation);
    for word in [
        info.wal.salt[0],
        info.wal.salt[1],
        info.wal.frames,
        info.wal.checksum[0],
        info.wal.checksum[1],
    ] {
        out.extend_from_slice(&word.to_be_bytes());
    }
    let len = u32::try_from(ltx.len()).map_err(|_| bad("segment size"))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&ltx);
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    Ok(out)
}

/// Reads from the front of a byte slice, refusing to run past its end.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], SegmentError> {
        if self.0.len() < n {
            return Err(SegmentError::BadField(what));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, SegmentError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn id(&mut self, what: &'static str) -> Result<String, SegmentError> {
        let len = self.take(1, what)?[0] as usize;
        let bytes = self.take(len, what)?;
        let id = std::str::from_utf8(bytes).map_err(|_| SegmentError::BadField(what))?;
        if !valid_id(id) {
            return Err(SegmentError::BadField(what));
        }
        Ok(id.to_string())
    }
}

/// Reads a segment, checking its SHA-256 first and the LTX file's own checksum after.
pub fn decode(bytes: &[u8]) -> Result<Segment, SegmentError> {
    if bytes.len() < MAGIC.len() + DIGEST_LEN || !bytes.starts_with(MAGIC) {
        return Err(SegmentError::NotASegment);
    }
    let (body, digest) = bytes.split_at(bytes.len() - DIGEST_LEN);
    if Sha256::digest(body).as_slice() != digest {
        return Err(SegmentError::DigestMismatch);
    }
    let mut cursor = Cursor(&body[MAGIC.len()..]);
    let installation = cursor.id("installation id")?;
    let generation = cursor.id("generation id")?;
    let salt = [cursor.u32("WAL place")?, cursor.u32("WAL place")?];
    let frames = cursor.u32("WAL place")?;
    let checksum = [cursor.u32("WAL place")?, cursor.u32("WAL place")?];
    let len = cursor.u32("LTX length")? as usize;
    let ltx = cursor.take(len, "LTX length")?;
    if !cursor.0.is_empty() {
        return Err(SegmentError::BadField("length"));
    }

    let (mut decoder, header) = Decoder::new(ltx).map_err(SegmentError::Ltx)?;
    let page_size = header.page_size.into_inner();
    let Some(pre_apply) = header.pre_apply_checksum else {
        return Err(SegmentError::BadField("pre-apply checksum"));
    };
    if header.min_txid != header.max_txid {
        return Err(SegmentError::BadField("transaction id"));
    }
    let mut pages = Vec::new();
    let mut buf = vec![0u8; page_size as usize];
    while let Some(pgno) = decoder.decode_page(&mut buf).map_err(SegmentError::Ltx)? {
        pages.push((pgno.into_inner(), buf.clone()));
    }
    let trailer = decoder.finish().map_err(SegmentError::Ltx)?;
    Ok(Segment {
        info: SegmentInfo {
            installation,
            generation,
            txid: header.max_txid.into_inner(),
            timestamp: header.timestamp,
            page_size,
            commit: header.commit.into_inner(),
            pre_apply,
            post_apply: trailer.post_apply_checksum,
            wal: WalPos {
                salt,
                frames,
                checksum,
            },
        },
        pages,
    })
}
