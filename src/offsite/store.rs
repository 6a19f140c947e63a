//! Where off-site copies go: a folder or an S3-compatible bucket, behind one small interface.
//! An object is only visible under its name once it is complete (a folder writes a hidden
//! partial file and renames it; S3 completes a multipart upload), so a crash or a cut
//! connection never leaves something that looks like a copy.

use std::io::{self, Read, Write};

use chrono::{DateTime, Utc};

/// One object on a target (names are relative to the target's folder or prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub name: String,
    pub size: u64,
    pub modified: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the folder {path} cannot be used: {}", crate::fsutil::plain_io(.source))]
    Folder {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "the folder {path} is not there (is the USB stick plugged in, or the network share connected?)"
    )]
    FolderMissing { path: String },
    #[error("the storage at {endpoint} cannot be reached (check the address and the connection)")]
    Unreachable {
        endpoint: String,
        #[source]
        source: object_store::Error,
    },
    #[error("the storage refused the access key or secret (check them in the target settings)")]
    Credentials {
        #[source]
        source: object_store::Error,
    },
    #[error("the bucket {bucket} does not exist (create it first, or check its name)")]
    NoBucket {
        bucket: String,
        #[source]
        source: object_store::Error,
    },
    #[error("{name} is not on the target")]
    NotFound { name: String },
    #[error("the storage failed: {source}")]
    Remote {
        #[source]
        source: object_store::Error,
    },
    #[error("reading or writing on {target} failed: {}", crate::fsutil::plain_io(.source))]
    Io {
        target: String,
        #[source]
        source: io::Error,
    },
    #[error("the storage settings are not valid: {0}")]
    Settings(#[source] SettingsProblem),
    #[error("cannot start the storage client: {}", crate::fsutil::plain_io(.0))]
    Runtime(#[source] io::Error),
    #[error("the copy on the target differs from what was sent ({0})")]
    Mismatch(String),
}

/// What is wrong with a target's storage settings.
#[derive(Debug, thiserror::Error)]
pub enum SettingsProblem {
    /// Worded by Backroom (a field missing, an address refused).
    #[error("{0}")]
    Said(String),
    /// The S3 client refused the settings.
    #[error(transparent)]
    Client(object_store::Error),
    /// The name does not make an object path.
    #[error(transparent)]
    ObjectName(#[from] object_store::path::Error),
}

impl StoreError {
    /// A settings problem worded for people.
    pub fn settings(said: impl Into<String>) -> StoreError {
        StoreError::Settings(SettingsProblem::Said(said.into()))
    }
}

/// A stream that becomes an object when finished, and nothing when aborted or dropped.
pub trait ObjectWriter: Write + Send {
    /// Completes the object: from here it is visible under its name.
    fn finish(self: Box<Self>) -> Result<(), StoreError>;
    /// Throws away what was written (a dropped writer does the same).
    fn abort(self: Box<Self>);
    /// The id of a multipart upload, to record so a crash mid-upload can be cleaned up.
    fn upload_id(&self) -> Option<String> {
        None
    }
}

pub trait Store: Send + Sync {
    /// What a person sees: "folder E:\Backroom" or "bucket shop at https://…" (no secrets).
    fn describe(&self) -> String;
    /// Starts writing the object `name`.
    fn create(&self, name: &str) -> Result<Box<dyn ObjectWriter>, StoreError>;
    /// Writes a small object whole (a manifest).
    fn put_small(&self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let mut writer = self.create(name)?;
        if let Err(source) = writer.write_all(bytes) {
            writer.abort();
            return Err(StoreError::Io {
                target: self.describe(),
                source,
            });
        }
        writer.finish()
    }
    /// Reads an object as a stream.
    fn open(&self, name: &str) -> Result<Box<dyn Read + Send>, StoreError>;
    /// Reads a small object whole, refusing more than `max` bytes.
    fn read_small(&self, name: &str, max: u64) -> Result<Vec<u8>, StoreError> {
        let mut bytes = Vec::new();
        self.open(name)?
            .take(max)
            .read_to_end(&mut bytes)
            .map_err(|source| StoreError::Io {
                target: self.describe(),
                source,
            })?;
        Ok(bytes)
    }
    /// Every object directly under the target's folder or prefix.
    fn list(&self) -> Result<Vec<ObjectInfo>, StoreError>;
    fn head(&self, name: &str) -> Result<Option<ObjectInfo>, StoreError>;
    /// Proves a finished object holds what was sent. The default (S3) compares the size the
    /// store reports; the store already checked each part's SHA-256 on upload. A folder reads
    /// the file back and hashes it.
    fn verify_object(&self, name: &str, size: u64, sha256: &str) -> Result<(), StoreError> {
        let _ = sha256;
        match self.head(name)? {
            Some(info) if info.size == size => Ok(()),
            Some(info) => Err(StoreError::Mismatch(format!(
                "{name} is {} bytes on the target, {size} were sent",
                info.size
            ))),
            None => Err(StoreError::NotFound {
                name: name.to_string(),
            }),
        }
    }
    fn delete(&self, name: &str) -> Result<(), StoreError>;
    /// Cleans up what an interrupted upload left (partial files); returns what was cleaned,
    /// for the log.
    fn clean_unfinished(&self) -> Result<Vec<String>, StoreError>;
    /// The same target under a folder of its own (`continuous/<installation>`, names checked
    /// by [`nested_parts`]): what is there never shows in this store's [`Store::list`], so the
    /// copies' listings, retention and drills never see it. The folder is made on the first
    /// write, only when the target itself is there.
    fn nested(&self, folder: &str) -> Result<Box<dyn Store>, StoreError> {
        let _ = folder;
        Err(StoreError::settings(
            "this kind of target cannot hold a folder of its own",
        ))
    }
    /// Aborts an upload recorded by [`ObjectWriter::upload_id`] that a crash cut off.
    fn abort_upload(&self, name: &str, upload_id: &str) -> Result<(), StoreError> {
        let _ = (name, upload_id);
        Ok(())
    }
}

/// The parts of a nested folder's name (`a/b`): plain names only, never `.`, `..` or empty.
pub fn nested_parts(folder: &str) -> Result<Vec<&str>, StoreError> {
    let parts: Vec<&str> = folder.split('/').collect();
    let plain = |p: &&str| {
        !p.is_empty()
            && !p.starts_with('.')
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if parts.iter().all(plain) {
        Ok(parts)
    } else {
        Err(StoreError::settings(format!(
            "{folder:?} is not a folder name"
        )))
    }
}

/// A check that the target can be written, read back and cleaned: what setting up a target
/// does before it is saved.
pub fn probe(store: &dyn Store, now: DateTime<Utc>) -> Result<(), StoreError> {
    let name = format!(".backroom-probe-{}", now.timestamp_millis());
    let body = b"Backroom checks that it can write here. This file is removed at once.";
    store.put_small(&name, body)?;
    let read = store.read_small(&name, 1024);
    let deleted = store.delete(&name);
    if read? != body {
        return Err(StoreError::Mismatch(
            "a test file read back differently".into(),
        ));
    }
    deleted
}

/// Reads a whole object back and compares its size and SHA-256 with what its manifest says
/// (`offsite verify` on any target; a plain size check would miss a same-size change).
pub fn read_back(store: &dyn Store, name: &str, size: u64, sha256: &str) -> Result<(), StoreError> {
    let mut reader = super::pipeline::HashingReader::new(store.open(name)?);
    io::copy(&mut reader, &mut io::sink()).map_err(|source| StoreError::Io {
        target: store.describe(),
        source,
    })?;
    let (read_sha, read_size) = reader.finish();
    if read_size != size || !read_sha.eq_ignore_ascii_case(sha256) {
        return Err(StoreError::Mismatch(format!(
            "{name} on the target differs from its manifest ({read_size} bytes read, {size} recorded; the SHA-256 {})",
            if read_sha.eq_ignore_ascii_case(sha256) {
                "matches"
            } else {
                "differs"
            }
        )));
    }
    Ok(())
}
