//! A folder target: a USB drive, a mapped network share, a synced Dropbox or OneDrive folder.
//! An object is written to a hidden partial file beside its final name, flushed, and renamed
//! into place, so a full disk, a pulled drive or a crash never leaves a complete-looking copy.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::store::{ObjectInfo, ObjectWriter, Store, StoreError};
use crate::fsutil;

/// Partial files start with this; listing never shows them and clean-up removes them.
const PARTIAL_PREFIX: &str = ".backroom-partial-";

pub struct FolderStore {
    dir: PathBuf,
    /// The target's own folder: `dir` itself, or the folder a nested store is under.
    root: PathBuf,
}

impl FolderStore {
    pub fn new(dir: &Path) -> FolderStore {
        FolderStore {
            dir: dir.to_path_buf(),
            root: dir.to_path_buf(),
        }
    }

    fn error(&self, source: io::Error) -> StoreError {
        if source.kind() == io::ErrorKind::NotFound && !self.root.exists() {
            return StoreError::FolderMissing {
                path: self.dir.display().to_string(),
            };
        }
        StoreError::Folder {
            path: self.dir.display().to_string(),
            source,
        }
    }

    /// Names are ours (checked by the caller), never paths: refuse anything else.
    fn path_of(&self, name: &str) -> Result<PathBuf, StoreError> {
        if name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
            return Err(StoreError::settings(format!(
                "{name:?} is not an object name"
            )));
        }
        Ok(self.dir.join(name))
    }

    /// A nested store's folder, made (durably) when missing and the target itself is there.
    fn make_nested(&self) -> Result<(), StoreError> {
        if self.dir == self.root || self.dir.is_dir() {
            return Ok(());
        }
        if !self.root.is_dir() {
            return Err(StoreError::FolderMissing {
                path: self.root.display().to_string(),
            });
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| self.error(e))?;
        let mut dir = self.dir.as_path();
        while dir != self.root {
            let parent = fsutil::parent_of(dir);
            fsutil::fsync_dir(&parent).map_err(|e| self.error(e))?;
            dir = match dir.parent() {
                Some(p) => p,
                None => break,
            };
        }
        Ok(())
    }
}

struct FolderWriter {
    file: Option<File>,
    partial: PathBuf,
    target: PathBuf,
    dir: PathBuf,
}

impl Write for FolderWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(io::Error::other("the copy was already finished")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl FolderWriter {
    fn complete(&mut self) -> io::Result<()> {
        let file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("the copy was already finished"))?;
        crate::platform::flush_file(&file)?;
        drop(file);
        fsutil::rename(&self.partial, &self.target)?;
        fsutil::fsync_dir(&self.dir)
    }
}

impl ObjectWriter for FolderWriter {
    fn finish(mut self: Box<Self>) -> Result<(), StoreError> {
        let dir = self.dir.display().to_string();
        // The stick pulled out (or the folder renamed) while the copy was written.
        self.complete().map_err(|source| {
            if source.kind() == io::ErrorKind::NotFound && !self.dir.exists() {
                StoreError::FolderMissing { path: dir }
            } else {
                StoreError::Folder { path: dir, source }
            }
        })
    }

    fn abort(self: Box<Self>) {
        // Drop removes the partial file.
    }
}

impl Drop for FolderWriter {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

fn modified(meta: &std::fs::Metadata) -> Option<DateTime<Utc>> {
    meta.modified().ok().map(DateTime::<Utc>::from)
}

impl Store for FolderStore {
    fn describe(&self) -> String {
        format!("folder {}", self.dir.display())
    }

    fn create(&self, name: &str) -> Result<Box<dyn ObjectWriter>, StoreError> {
        let target = self.path_of(name)?;
        // The folder is never made here: missing, it is a stick not plugged in (or a typo),
        // and copies written to a new local folder would protect nothing.
        self.make_nested()?;
        let partial = self
            .dir
            .join(format!("{PARTIAL_PREFIX}{}-{name}", fsutil::random_hex(4)));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&partial)
            .map_err(|e| self.error(e))?;
        Ok(Box::new(FolderWriter {
            file: Some(file),
            partial,
            target,
            dir: self.dir.clone(),
        }))
    }

    fn open(&self, name: &str) -> Result<Box<dyn Read + Send>, StoreError> {
        match File::open(self.path_of(name)?) {
            Ok(f) => Ok(Box::new(io::BufReader::new(f))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StoreError::NotFound {
                name: name.to_string(),
            }),
            Err(e) => Err(self.error(e)),
        }
    }

    fn list(&self) -> Result<Vec<ObjectInfo>, StoreError> {
        let read = match std::fs::read_dir(&self.dir) {
            Ok(r) => r,
            // A nested folder not made yet holds nothing.
            Err(e)
                if e.kind() == io::ErrorKind::NotFound
                    && self.dir != self.root
                    && self.root.is_dir() =>
            {
                return Ok(Vec::new());
            }
            Err(e) => return Err(self.error(e)),
        };
        let mut out = Vec::new();
        for item in read {
            let item = item.map_err(|e| self.error(e))?;
            let Ok(name) = item.file_name().into_string() else {
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            let meta = item.metadata().map_err(|e| self.error(e))?;
            if meta.is_file() {
                out.push(ObjectInfo {
                    name,
                    size: meta.len(),
                    modified: modified(&meta),
                });
            }
        }
        Ok(out)
    }

    fn head(&self, name: &str) -> Result<Option<ObjectInfo>, StoreError> {
        match std::fs::metadata(self.path_of(name)?) {
            Ok(meta) => Ok(Some(ObjectInfo {
                name: name.to_string(),
                size: meta.len(),
                modified: modified(&meta),
            })),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.error(e)),
        }
    }

    fn verify_object(&self, name: &str, size: u64, sha256: &str) -> Result<(), StoreError> {
        let mut reader = super::pipeline::HashingReader::new(self.open(name)?);
        io::copy(&mut reader, &mut io::sink()).map_err(|e| self.error(e))?;
        let (read_sha, read_size) = reader.finish();
        if read_size != size || read_sha != sha256 {
            return Err(StoreError::Mismatch(format!(
                "{name} read back differently from what was written ({read_size} of {size} bytes)"
            )));
        }
        Ok(())
    }

    fn delete(&self, name: &str) -> Result<(), StoreError> {
        match fsutil::remove_file(&self.path_of(name)?) {
            Ok(()) => fsutil::fsync_dir(&self.dir).map_err(|e| self.error(e)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.error(e)),
        }
    }

    fn clean_unfinished(&self) -> Result<Vec<String>, StoreError> {
        let read = match std::fs::read_dir(&self.dir) {
            Ok(r) => r,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.error(e)),
        };
        let mut cleaned = Vec::new();
        for item in read.filter_map(Result::ok) {
            let name = item.file_name().to_string_lossy().into_owned();
            if name.starts_with(PARTIAL_PREFIX) && std::fs::remove_file(item.path()).is_ok() {
                cleaned.push(name);
            }
        }
        Ok(cleaned)
    }

    fn nested(&self, folder: &str) -> Result<Box<dyn Store>, StoreError> {
        let dir = super::store::nested_parts(folder)?
            .into_iter()
            .fold(self.dir.clone(), |dir, part| dir.join(part));
        Ok(Box::new(FolderStore {
            dir,
            root: self.root.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_appears_only_when_finished() {
        let dir = tempfile::tempdir().unwrap();
        let store = FolderStore::new(dir.path());
        let mut w = store.create("a.db.zst.age").unwrap();
        w.write_all(b"half").unwrap();
        assert!(store.list().unwrap().is_empty(), "nothing visible yet");
        w.finish().unwrap();
        let list = store.list().unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].name, "a.db.zst.age");
        assert_eq!(store.read_small("a.db.zst.age", 100).unwrap(), b"half");

        let mut dropped = store.create("b.db.zst.age").unwrap();
        dropped.write_all(b"cut off").unwrap();
        drop(dropped);
        assert_eq!(
            store.list().unwrap().len(),
            1,
            "an abandoned copy leaves nothing"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(store.create("../x").is_err());
        super::super::store::probe(&store, Utc::now()).unwrap();
        assert_eq!(store.list().unwrap().len(), 1, "the probe cleans up");
    }
}
