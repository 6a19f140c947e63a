//! What a shipped object holds, before zstd and age: a signed header, then the payload (a
//! segment file, or a generation's base pages). The age public key is in every kit and every
//! copy's manifest, so anyone who can write to a target could encrypt a segment of their own
//! to it; the header therefore carries a MAC keyed from the secret off-site key with a label
//! of its own (`offsite::auth::keyed`), over the installation id, the generation, the txid
//! (the sequence: it only grows within a generation, and generation ids begin with their
//! time), the payload's size and SHA-256. Only a holder of the kit can make or check it.
//!
//! ```text
//! "BKRSHIP1\n"      9 bytes
//! header length     u32 BE (at most 64 KiB)
//! header            JSON (`Header`, with its `mac`)
//! payload           `payload_size` bytes
//! ```

use std::io::{self, Write};

use hmac::Mac;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::outbox::BaseInfo;
use crate::offsite::auth;
use crate::offsite::keys::Keyring;
use crate::offsite::pipeline::hex;

const MAGIC: &[u8; 9] = b"BKRSHIP1\n";
const LABEL: &[u8] = b"backroom continuous segment MAC v1";
const MAX_HEADER: usize = 64 * 1024;
pub(super) const FORMAT: u32 = 1;

/// What the object holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Kind {
    Base,
    Segment,
}

/// The signed header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Header {
    pub format: u32,
    pub kind: Kind,
    pub installation: String,
    pub generation: String,
    pub txid: u64,
    pub payload_size: u64,
    pub payload_sha256: String,
    /// The base's record (for a base only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<BaseInfo>,
    /// The age public key the object is encrypted to.
    pub recipient: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

/// Why a header is not this shop's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Untrusted {
    #[error("it is not a Backroom continuous object")]
    NotOurFormat,
    #[error("it carries no signature")]
    Unsigned,
    #[error("it is encrypted to a key that is not in this shop's kit")]
    OtherKey,
    #[error("its signature does not match")]
    Forged,
    #[error("it holds more or other bytes than its signed header says")]
    PayloadChanged,
}

impl Header {
    fn covered(&self) -> Vec<u8> {
        let mut bare = self.clone();
        bare.mac = None;
        serde_json::to_vec(&bare).unwrap_or_default()
    }

    fn mac(&self, identity: &age::x25519::Identity) -> Option<hmac::Hmac<Sha256>> {
        let mut mac = auth::keyed(identity, LABEL)?;
        mac.update(&self.covered());
        Some(mac)
    }

    /// Signs with the keyring's current key (the one it is encrypted to).
    pub fn sign(&mut self, keys: &Keyring) {
        self.recipient = keys.current().public();
        self.mac = None;
        self.mac = self
            .mac(&keys.current().identity)
            .map(|m| hex(&m.finalize().into_bytes()));
    }

    /// Whether this shop made it (a key of the keyring signed it).
    pub fn check(&self, keys: &Keyring) -> Result<(), Untrusted> {
        if self.format != FORMAT {
            return Err(Untrusted::NotOurFormat);
        }
        let given = self.mac.as_deref().ok_or(Untrusted::Unsigned)?;
        let key = keys
            .keys()
            .iter()
            .find(|k| k.public() == self.recipient)
            .ok_or(Untrusted::OtherKey)?;
        let given = auth::unhex(given).ok_or(Untrusted::Forged)?;
        match self.mac(&key.identity).map(|m| m.verify_slice(&given)) {
            Some(Ok(())) => Ok(()),
            _ => Err(Untrusted::Forged),
        }
    }

    /// The bytes that go before the payload.
    pub fn to_prefix(&self) -> Vec<u8> {
        let json = serde_json::to_vec(self).unwrap_or_default();
        let mut out = Vec::with_capacity(MAGIC.len() + 4 + json.len());
        out.extend_from_slice(MAGIC);
        // A header is a few hundred bytes: far below u32::MAX.
        out.extend_from_slice(&u32::try_from(json.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(&json);
        out
    }
}

/// The SHA-256 (hex) and size of a payload (tests plant objects with it).
#[cfg(test)]
pub(super) fn digest(bytes: &[u8]) -> (String, u64) {
    (hex(&Sha256::digest(bytes)), bytes.len() as u64)
}

/// Takes a decrypted object: reads the header, checks it before a byte of payload is kept,
/// then passes at most the signed number of payload bytes to `out`, hashing them.
pub(super) struct Unwrap<'k, W> {
    keys: &'k Keyring,
    head: Vec<u8>,
    header: Option<Header>,
    out: W,
    hasher: Sha256,
    written: u64,
}

/// The error an [`Unwrap`] gives the pipeline (found again by `downcast`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(super) struct Refused(pub Untrusted);

fn refuse(why: Untrusted) -> io::Error {
    io::Error::other(Refused(why))
}

impl<'k, W: Write> Unwrap<'k, W> {
    pub fn new(keys: &'k Keyring, out: W) -> Self {
        Unwrap {
            keys,
            head: Vec::new(),
            header: None,
            out,
            hasher: Sha256::new(),
            written: 0,
        }
    }

    /// The checked header and the output, once the payload is whole and matches it.
    pub fn finish(self) -> Result<(Header, W), Untrusted> {
        let header = self.header.ok_or(Untrusted::NotOurFormat)?;
        if self.written != header.payload_size
            || hex(&self.hasher.finalize()) != header.payload_sha256
        {
            return Err(Untrusted::PayloadChanged);
        }
        Ok((header, self.out))
    }

    /// Tries to read the header from what came so far; returns the payload bytes after it.
    fn parse_head(&mut self) -> io::Result<Option<Vec<u8>>> {
        let fixed = MAGIC.len() + 4;
        if self.head.len() < fixed {
            return Ok(None);
        }
        if !self.head.starts_with(MAGIC) {
            return Err(refuse(Untrusted::NotOurFormat));
        }
        let len_bytes = [
            self.head[MAGIC.len()],
            self.head[MAGIC.len() + 1],
            self.head[MAGIC.len() + 2],
            self.head[MAGIC.len() + 3],
        ];
        let len = u32::from_be_bytes(len_bytes) as usize;
        if len > MAX_HEADER {
            return Err(refuse(Untrusted::NotOurFormat));
        }
        if self.head.len() < fixed + len {
            return Ok(None);
        }
        let header: Header = serde_json::from_slice(&self.head[fixed..fixed + len])
            .map_err(|_| refuse(Untrusted::NotOurFormat))?;
        header.check(self.keys).map_err(refuse)?;
        let rest = self.head.split_off(fixed + len);
        self.header = Some(header);
        Ok(Some(rest))
    }

    fn payload(&mut self, bytes: &[u8]) -> io::Result<()> {
        let limit = self.header.as_ref().map_or(0, |h| h.payload_size);
        if self.written + bytes.len() as u64 > limit {
            return Err(refuse(Untrusted::PayloadChanged));
        }
        self.out.write_all(bytes)?;
        self.hasher.update(bytes);
        self.written += bytes.len() as u64;
        Ok(())
    }
}

impl<W: Write> Write for Unwrap<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.header.is_some() {
            self.payload(buf)?;
            return Ok(buf.len());
        }
        // Bounded: `parse_head` refuses a header longer than `MAX_HEADER`.
        self.head.extend_from_slice(buf);
        if let Some(rest) = self.parse_head()? {
            self.head = Vec::new();
            self.payload(&rest)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
