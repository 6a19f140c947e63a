//! The database's checksum as LTX defines it (the XOR of a CRC-64 of every page with its
//! number), kept page by page so each transaction updates it in O(pages written); and reading
//! the whole database as of a WAL place (the main file with the WAL's committed pages over it).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use litetx::{Checksum, PageChecksum, PageNum};

use super::wal::Overlay;

/// SQLite never stores data in the page that holds the lock bytes (at 1 GiB); LTX leaves it
/// out of the checksum and out of the files.
pub(crate) fn is_lock_page(pgno: u32, page_size: u32) -> bool {
    u64::from(pgno) == (1u64 << 30) / u64::from(page_size) + 1
}

fn page_sum(pgno: u32, data: &[u8]) -> u64 {
    PageNum::new(pgno)
        .map(|n| data.page_checksum(n).into_inner())
        .unwrap_or(0)
}

/// Every page's checksum and their XOR: the database checksum after any transaction is the
/// one before with the written pages' old sums taken out and their new ones put in.
#[derive(Debug, Clone)]
pub(crate) struct PageSums {
    sums: Vec<u64>,
    xor: u64,
}

impl PageSums {
    pub fn new() -> PageSums {
        PageSums {
            sums: Vec::new(),
            xor: 0,
        }
    }

    pub fn pages(&self) -> u32 {
        u32::try_from(self.sums.len()).unwrap_or(u32::MAX)
    }

    pub fn set(&mut self, pgno: u32, data: &[u8]) {
        let Some(index) = (pgno as usize).checked_sub(1) else {
            return;
        };
        if self.sums.len() <= index {
            self.sums.resize(index + 1, 0);
        }
        let new = page_sum(pgno, data);
        self.xor ^= self.sums[index] ^ new;
        self.sums[index] = new;
    }

    /// The database is now `pages` long: pages past it leave the checksum.
    pub fn resize(&mut self, pages: u32) {
        let pages = pages as usize;
        for gone in self.sums.iter().skip(pages) {
            self.xor ^= gone;
        }
        self.sums.resize(pages, 0);
    }

    pub fn checksum(&self) -> Checksum {
        Checksum::new(self.xor)
    }
}

/// Page size and size in pages from a database file's header (an empty file: `None`).
pub(crate) fn db_file_geometry(db: &Path) -> io::Result<Option<(u32, u32)>> {
    let mut file = File::open(db)?;
    let len = file.metadata()?.len();
    let mut header = [0u8; 100];
    if len < 100 {
        return Ok(None);
    }
    file.read_exact(&mut header)?;
    let raw = u16::from_be_bytes([header[16], header[17]]);
    let page_size = if raw == 1 { 65536 } else { u32::from(raw) };
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not an SQLite database (bad page size)",
        ));
    }
    // The size in the header counts only when "version-valid-for" matches the change counter.
    let in_header = u32::from_be_bytes([header[28], header[29], header[30], header[31]]);
    let valid = header[92..96] == header[24..28];
    let pages = if valid && in_header > 0 {
        in_header
    } else {
        u32::try_from(len / u64::from(page_size)).unwrap_or(u32::MAX)
    };
    Ok(Some((page_size, pages)))
}

/// Reads pages 1..=`pages` of the database as the main file with `overlay`'s pages from the
/// WAL over it, handing each to `sink` (the lock page as zeros), and returns their sums.
/// Bytes past the end of the main file read as zeros, as SQLite reads them.
pub(crate) fn read_image(
    db: &Path,
    wal: &Path,
    overlay: Option<&Overlay>,
    page_size: u32,
    pages: u32,
    mut sink: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<PageSums> {
    let mut main = File::open(db)?;
    let mut wal_file = match overlay {
        Some(o) if !o.pages.is_empty() => Some(File::open(wal)?),
        _ => None,
    };
    let mut sums = PageSums::new();
    let mut page = vec![0u8; page_size as usize];
    for pgno in 1..=pages {
        page.fill(0);
        if !is_lock_page(pgno, page_size) {
            let from_wal = overlay.and_then(|o| o.pages.get(&pgno));
            match (from_wal, wal_file.as_mut()) {
                (Some(&offset), Some(w)) => {
                    w.seek(SeekFrom::Start(offset))?;
                    w.read_exact(&mut page)?;
                }
                _ => {
                    main.seek(SeekFrom::Start(u64::from(pgno - 1) * u64::from(page_size)))?;
                    read_up_to(&mut main, &mut page)?;
                }
            }
            sums.set(pgno, &page);
        }
        sink(&page)?;
    }
    sums.resize(pages);
    Ok(sums)
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_running_sum_equals_the_sum_of_the_pages_now() {
        let a = vec![1u8; 4096];
        let b = vec![2u8; 4096];
        let mut running = PageSums::new();
        running.set(1, &a);
        running.set(2, &a);
        running.set(3, &a);
        running.set(2, &b);
        running.resize(2);
        let mut fresh = PageSums::new();
        fresh.set(1, &a);
        fresh.set(2, &b);
        assert_eq!(running.checksum(), fresh.checksum());
        assert_ne!(running.checksum(), PageSums::new().checksum());
    }
}
