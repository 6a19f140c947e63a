//! Reads SQLite's write-ahead log (`-wal`) directly: its header, its frames, and which frames
//! belong to committed transactions (format: <https://www.sqlite.org/fileformat2.html#walformat>).
//!
//! A frame counts only when its salts match the header's and its running checksum matches, and
//! only frames up to the last valid commit frame (a non-zero "database size after commit") make
//! transactions. A frame still being written, or left over from a transaction that never
//! committed, fails one of those checks and ends the read. (A commit frame SQLite wrote but
//! then failed to sync counts here, as SQLite's own recovery would count it after a crash.)

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use serde::{Deserialize, Serialize};

pub(crate) const WAL_HEADER_LEN: u64 = 32;
pub(crate) const FRAME_HEADER_LEN: u64 = 24;
const MAGIC_LITTLE_ENDIAN: u32 = 0x377f_0682;
const MAGIC_BIG_ENDIAN: u32 = 0x377f_0683;
const WAL_FORMAT_VERSION: u32 = 3_007_000;

/// A valid WAL header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WalHeader {
    big_endian: bool,
    pub page_size: u32,
    pub salt: [u32; 2],
    checksum: [u32; 2],
}

/// A place in one WAL: after `frames` frames of the WAL with these salts, whose running
/// checksum there is `checksum` (so the frames before it can be recognised again later).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WalPos {
    pub salt: [u32; 2],
    pub frames: u32,
    pub checksum: [u32; 2],
}

/// One committed transaction: its pages (the last write of each wins) and the database size
/// in pages after it.
pub(crate) struct WalTxn {
    pub pages: BTreeMap<u32, Vec<u8>>,
    pub commit: u32,
    pub end: WalPos,
}

/// Where the committed frames up to some point put each page: the WAL offset of each page's
/// newest committed copy, the database size after the last commit, and that commit's place.
pub(crate) struct Overlay {
    pub pages: HashMap<u32, u64>,
    pub commit: Option<u32>,
    pub end: WalPos,
}

fn be32(b: &[u8]) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[..4]);
    u32::from_be_bytes(w)
}

fn le32(b: &[u8]) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[..4]);
    u32::from_le_bytes(w)
}

/// SQLite's WAL checksum, continued from `s`.
fn wal_checksum(big_endian: bool, data: &[u8], mut s: [u32; 2]) -> [u32; 2] {
    for pair in data.chunks_exact(8) {
        let (a, b) = if big_endian {
            (be32(&pair[..4]), be32(&pair[4..]))
        } else {
            (le32(&pair[..4]), le32(&pair[4..]))
        };
        s[0] = s[0].wrapping_add(a).wrapping_add(s[1]);
        s[1] = s[1].wrapping_add(b).wrapping_add(s[0]);
    }
    s
}

fn parse_header(b: &[u8; WAL_HEADER_LEN as usize]) -> Option<WalHeader> {
    let big_endian = match be32(&b[0..4]) {
        MAGIC_BIG_ENDIAN => true,
        MAGIC_LITTLE_ENDIAN => false,
        _ => return None,
    };
    if be32(&b[4..8]) != WAL_FORMAT_VERSION {
        return None;
    }
    let page_size = be32(&b[8..12]);
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return None;
    }
    let checksum = [be32(&b[24..28]), be32(&b[28..32])];
    if wal_checksum(big_endian, &b[..24], [0, 0]) != checksum {
        return None;
    }
    Some(WalHeader {
        big_endian,
        page_size,
        salt: [be32(&b[16..20]), be32(&b[20..24])],
        checksum,
    })
}

/// Reads `buf` whole; false at the end of the file (a partial read counts as the end).
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<bool> {
    match r.read_exact(buf) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

/// A reader of one WAL's valid frames, in order.
pub(crate) struct WalReader {
    file: BufReader<File>,
    pub header: WalHeader,
    frames: u32,
    checksum: [u32; 2],
    page: Vec<u8>,
}

impl WalReader {
    /// `None` when there is no WAL file or it has no valid header yet (empty after a
    /// `TRUNCATE` checkpoint).
    pub fn open(path: &Path) -> io::Result<Option<WalReader>> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut file = BufReader::with_capacity(1 << 16, file);
        let mut buf = [0u8; WAL_HEADER_LEN as usize];
        if !read_full(&mut file, &mut buf)? {
            return Ok(None);
        }
        let Some(header) = parse_header(&buf) else {
            return Ok(None);
        };
        Ok(Some(WalReader {
            file,
            header,
            frames: 0,
            checksum: header.checksum,
            page: vec![0; header.page_size as usize],
        }))
    }

    /// Where the reader is.
    pub fn pos(&self) -> WalPos {
        WalPos {
            salt: self.header.salt,
            frames: self.frames,
            checksum: self.checksum,
        }
    }

    fn frame_len(&self) -> u64 {
        FRAME_HEADER_LEN + u64::from(self.header.page_size)
    }

    /// Continues after a place read before in this same WAL (same salts).
    pub fn seek(&mut self, pos: WalPos) -> io::Result<()> {
        let offset = WAL_HEADER_LEN + u64::from(pos.frames) * self.frame_len();
        self.file.seek(SeekFrom::Start(offset))?;
        self.frames = pos.frames;
        self.checksum = pos.checksum;
        Ok(())
    }

    /// The next valid frame's page number and "database size after commit" (0 when it is not
    /// a commit frame); its page is in [`WalReader::page`]. `None` at the end of the valid
    /// frames: after it the reader must not be used again.
    fn next_frame(&mut self) -> io::Result<Option<(u32, u32)>> {
        let mut head = [0u8; FRAME_HEADER_LEN as usize];
        if !read_full(&mut self.file, &mut head)? || !read_full(&mut self.file, &mut self.page)? {
            return Ok(None);
        }
        if [be32(&head[8..12]), be32(&head[12..16])] != self.header.salt {
            return Ok(None);
        }
        let sum = wal_checksum(self.header.big_endian, &head[..8], self.checksum);
        let sum = wal_checksum(self.header.big_endian, &self.page, sum);
        let pgno = be32(&head[0..4]);
        if sum != [be32(&head[16..20]), be32(&head[20..24])] || pgno == 0 {
            return Ok(None);
        }
        self.frames += 1;
        self.checksum = sum;
        Ok(Some((pgno, be32(&head[4..8]))))
    }

    /// The committed transactions from here to the last valid commit frame.
    pub fn committed(&mut self) -> io::Result<Vec<WalTxn>> {
        let mut txns = Vec::new();
        let mut pending = BTreeMap::new();
        while let Some((pgno, commit)) = self.next_frame()? {
            pending.insert(pgno, self.page.clone());
            if commit != 0 {
                txns.push(WalTxn {
                    pages: std::mem::take(&mut pending),
                    commit,
                    end: self.pos(),
                });
            }
        }
        Ok(txns)
    }

    /// Where the committed frames from the start put each page, up to the last valid commit
    /// or, with `stop_after`, exactly after that many frames (`None` when that frame is not
    /// a valid commit frame).
    pub fn overlay(&mut self, stop_after: Option<u32>) -> io::Result<Option<Overlay>> {
        let frame_len = self.frame_len();
        let mut overlay = Overlay {
            pages: HashMap::new(),
            commit: None,
            end: self.pos(),
        };
        if stop_after == Some(0) {
            return Ok(Some(overlay));
        }
        let mut pending = HashMap::new();
        while let Some((pgno, commit)) = self.next_frame()? {
            let page_offset =
                WAL_HEADER_LEN + u64::from(self.frames - 1) * frame_len + FRAME_HEADER_LEN;
            pending.insert(pgno, page_offset);
            if commit != 0 {
                overlay.pages.extend(pending.drain());
                overlay.commit = Some(commit);
                overlay.end = self.pos();
            }
            if stop_after == Some(self.frames) {
                return Ok((commit != 0).then_some(overlay));
            }
        }
        Ok(stop_after.is_none().then_some(overlay))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_checksum_is_sqlites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;
             CREATE TABLE t(x); INSERT INTO t VALUES(1); INSERT INTO t VALUES(2);",
        )
        .unwrap();
        let wal = dir.path().join("t.db-wal");
        let mut reader = WalReader::open(&wal).unwrap().expect("a valid header");
        assert_eq!(reader.header.page_size, 4096);
        let txns = reader.committed().unwrap();
        assert_eq!(txns.len(), 3, "three commits, three transactions");
        assert!(txns.iter().all(|t| t.commit >= 2));

        // A flipped byte in the last frame ends the valid frames before it.
        let mut bytes = std::fs::read(&wal).unwrap();
        let last = bytes.len() - 10;
        bytes[last] ^= 1;
        std::fs::write(&wal, &bytes).unwrap();
        let mut reader = WalReader::open(&wal).unwrap().unwrap();
        assert_eq!(reader.committed().unwrap().len(), 2);
    }
}
