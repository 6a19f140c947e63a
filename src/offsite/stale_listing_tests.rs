//! A listing that lags a delete (what a Garage cluster does right after a node rejoins): the
//! copy list, drills and verify skip a copy that is gone when read instead of failing; and
//! verify reads every copy back whole, on any store.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Mutex;

use chrono::Utc;

use super::folder::FolderStore;
use super::manifest::Manifest;
use super::pass::{being_removed, read_index};
use super::store::{ObjectInfo, ObjectWriter, Store, StoreError};
use crate::backup::BackupKind;

/// A folder whose listing is the one frozen by [`Lagging::freeze`] until thawed.
struct Lagging {
    inner: FolderStore,
    frozen: Mutex<Option<Vec<ObjectInfo>>>,
}

impl Lagging {
    fn freeze(&self) {
        *self.frozen.lock().unwrap() = Some(self.inner.list().unwrap());
    }
}

impl Store for Lagging {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn create(&self, name: &str) -> Result<Box<dyn ObjectWriter>, StoreError> {
        self.inner.create(name)
    }
    fn open(&self, name: &str) -> Result<Box<dyn Read + Send>, StoreError> {
        self.inner.open(name)
    }
    fn list(&self) -> Result<Vec<ObjectInfo>, StoreError> {
        match &*self.frozen.lock().unwrap() {
            Some(listing) => Ok(listing.clone()),
            None => self.inner.list(),
        }
    }
    fn head(&self, name: &str) -> Result<Option<ObjectInfo>, StoreError> {
        self.inner.head(name)
    }
    fn delete(&self, name: &str) -> Result<(), StoreError> {
        self.inner.delete(name)
    }
    fn clean_unfinished(&self) -> Result<Vec<String>, StoreError> {
        self.inner.clean_unfinished()
    }
}

fn put_copy(store: &dyn Store, copy: &str) -> Manifest {
    let object = b"not really sealed";
    let manifest = Manifest {
        format: super::manifest::FORMAT,
        copy: copy.into(),
        source_backup: format!("{copy}.db"),
        kind: BackupKind::Automatic,
        description: None,
        created_at: Utc::now(),
        uploaded_at: Utc::now(),
        plain_size: 1,
        plain_sha256: String::new(),
        object_size: object.len() as u64,
        object_sha256: String::new(),
        schema_version: 1,
        row_counts: BTreeMap::new(),
        program_version: "test".into(),
        compression: "zstd".into(),
        encryption: "age".into(),
        recipient: "age1test".into(),
        order: None,
        installation: None,
        sequence: None,
        mac: None,
        trust: Default::default(),
    };
    store.put_small(&manifest.object_name(), object).unwrap();
    store
        .put_small(&Manifest::manifest_name(copy), &manifest.to_bytes())
        .unwrap();
    manifest
}

#[test]
fn a_listing_that_lags_a_delete_skips_the_removed_copy() {
    let dir = tempfile::tempdir().unwrap();
    let store = Lagging {
        inner: FolderStore::new(dir.path()),
        frozen: Mutex::new(None),
    };
    let gone = put_copy(&store, "backup_20261201_090000");
    let kept = put_copy(&store, "backup_20261201_150000");
    let damaged = put_copy(&store, "backup_20261201_210000");
    store.freeze();
    // Retention's order: manifest first, then the object.
    store.delete(&Manifest::manifest_name(&gone.copy)).unwrap();
    store.delete(&gone.object_name()).unwrap();
    // Deleting what is already gone is not an error.
    store.delete(&gone.object_name()).unwrap();
    // A copy whose object vanished but whose manifest is still there is not "being removed".
    store.delete(&damaged.object_name()).unwrap();

    assert_eq!(
        store.list().unwrap().len(),
        6,
        "the listing still has all three"
    );
    let index = read_index(&store, None).unwrap();
    let mut names: Vec<&str> = index.iter().map(|m| m.copy.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        vec![kept.copy.as_str(), damaged.copy.as_str()],
        "the removed copy is skipped, the rest is read"
    );
    assert!(being_removed(&store, &gone).unwrap());
    assert!(!being_removed(&store, &kept).unwrap());
    assert!(
        !being_removed(&store, &damaged).unwrap(),
        "a missing object under a present manifest is a damaged copy, reported as such"
    );
}

#[test]
fn verify_reads_a_copy_back_and_catches_a_change_of_the_same_size() {
    let dir = tempfile::tempdir().unwrap();
    // A store with the default (size-only) upload check, like S3.
    let store = Lagging {
        inner: FolderStore::new(dir.path()),
        frozen: Mutex::new(None),
    };
    let mut copy = put_copy(&store, "backup_20261201_090000");
    let path = dir.path().join(copy.object_name());
    let bytes = std::fs::read(&path).unwrap();
    copy.object_sha256 = crate::backup::copy::sha256_file(&path).unwrap().0;
    super::store::read_back(
        &store,
        &copy.object_name(),
        copy.object_size,
        &copy.object_sha256,
    )
    .unwrap();
    let mut changed = bytes.clone();
    changed[0] ^= 0xff;
    std::fs::write(dir.path().join(copy.object_name()), &changed).unwrap();
    assert!(
        store
            .verify_object(&copy.object_name(), copy.object_size, &copy.object_sha256)
            .is_ok(),
        "the size alone does not show it"
    );
    let err = super::store::read_back(
        &store,
        &copy.object_name(),
        copy.object_size,
        &copy.object_sha256,
    )
    .unwrap_err();
    assert!(err.to_string().contains("SHA-256 differs"), "{err}");
}
