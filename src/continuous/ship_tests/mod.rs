//! Shipping to a folder target and restoring from it: every moment comes back as it was, what
//! was not made by this shop (or was removed, renamed, changed) is refused by name, a target
//! that goes away is caught up in order, and the copies' listing never sees these objects.

mod requests;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{TimeZone, Utc};
use rusqlite::Connection;
use rusqlite::types::Value;

use super::envelope::{self, Header, Kind};
use super::ship::{base_name, segment_name};
use super::*;
use crate::clock::{Clock, ManualClock};
use crate::offsite::folder::FolderStore;
use crate::offsite::keys::Keyring;
use crate::offsite::pipeline;
use crate::offsite::store::{ObjectInfo, ObjectWriter, Store, StoreError};

const INSTALLATION: &str = "fedcba9876543210fedcba9876543210";

/// A shop database in WAL mode with automatic checkpoints off, and its writer.
fn shop(dir: &Path) -> (PathBuf, Connection) {
    let path = dir.join("business_data.db");
    let conn = Connection::open(&path).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;
         CREATE TABLE sale(id INTEGER PRIMARY KEY, item TEXT NOT NULL, cents INTEGER, note BLOB);",
    )
    .unwrap();
    (path, conn)
}

/// Every row in order, with the schema: equal dumps, equal data.
fn dump(conn: &Connection) -> String {
    let mut out: String = conn
        .query_row(
            "SELECT group_concat(sql, ';') FROM sqlite_schema ORDER BY name",
            [],
            |r| r.get::<_, Option<String>>(0),
        )
        .unwrap()
        .unwrap_or_default();
    let mut rows = conn.prepare("SELECT * FROM sale ORDER BY id").unwrap();
    let mut q = rows.query([]).unwrap();
    while let Some(row) = q.next().unwrap() {
        let values: Vec<Value> = (0..4).map(|i| row.get(i).unwrap()).collect();
        out.push_str(&format!("\n{values:?}"));
    }
    out
}

/// One sale, or now and then a bigger change (an update, a delete, overflow pages, VACUUM).
fn commit(conn: &Connection, k: usize) {
    let sql = match k {
        k if k % 17 == 16 => "VACUUM".to_string(),
        k if k % 7 == 0 => format!("UPDATE sale SET cents = cents + {k} WHERE id % 2 = 0"),
        k if k % 11 == 0 => "DELETE FROM sale WHERE id % 5 = 1".to_string(),
        k if k % 5 == 0 => {
            format!("INSERT INTO sale VALUES (NULL, 'big {k}', {k}, zeroblob(9000))")
        }
        k => format!("INSERT INTO sale VALUES (NULL, 'coffee {k}', {k}, NULL)"),
    };
    conn.execute_batch(&sql).unwrap();
}

struct Shop {
    dir: tempfile::TempDir,
    writer: Connection,
    clock: Arc<ManualClock>,
    capture: Capture,
    keys: Keyring,
    /// (txid, capture time, dump) after each capture.
    states: Vec<(u64, SystemTime, String)>,
}

impl Shop {
    fn new() -> Shop {
        let dir = tempfile::tempdir().unwrap();
        let (db, writer) = shop(dir.path());
        let clock = Arc::new(ManualClock::at(
            Utc.timestamp_opt(1_800_000_000, 0).unwrap(),
        ));
        let (capture, _) =
            Capture::open(&db, &dir.path().join("outbox"), INSTALLATION, clock.clone()).unwrap();
        let now = SystemTime::from(clock.now());
        let states = vec![(capture.place().1, now, dump(&writer))];
        Shop {
            dir,
            writer,
            clock,
            capture,
            keys: Keyring::generate(Utc::now()),
            states,
        }
    }

    fn target(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(&path).unwrap();
        path
    }

    /// Commits `n` more transactions a second apart, each captured.
    fn commits(&mut self, n: usize) {
        for _ in 0..n {
            self.clock.advance(chrono::Duration::seconds(1));
            commit(&self.writer, self.states.len());
            self.capture.capture().unwrap();
            let now = SystemTime::from(self.clock.now());
            let (_, txid) = self.capture.place();
            self.states.push((txid, now, dump(&self.writer)));
        }
    }

    fn ship_to(&self, targets: &[(&str, &dyn Store)]) -> Shipped {
        let targets: Vec<ShipTarget> = targets
            .iter()
            .map(|(name, store)| ShipTarget {
                name,
                store: *store,
            })
            .collect();
        ship(self.capture.outbox(), &targets, &self.keys, INSTALLATION).unwrap()
    }

    fn generation(&self) -> String {
        self.capture.place().0.to_string()
    }

    fn restore(&self, store: &dyn Store, at: At) -> Result<(Restored, String), FetchError> {
        let out = self
            .dir
            .path()
            .join(format!("restored-{}.db", crate::fsutil::random_hex(4)));
        let restored = restore_at(store, &self.keys, INSTALLATION, at, &out)?;
        let conn = Connection::open(&out).unwrap();
        Ok((restored, dump(&conn)))
    }
}

fn no_failures(shipped: &Shipped) {
    for t in &shipped.targets {
        assert!(t.failure.is_none(), "{}: {:?}", t.target, t.failure);
    }
}

#[test]
fn every_moment_comes_back_from_a_folder_after_the_outbox_is_gone() {
    let mut shop = Shop::new();
    let usb = FolderStore::new(&shop.target("usb"));
    for _ in 0..4 {
        shop.commits(9);
        let shipped = shop.ship_to(&[("usb", &usb)]);
        no_failures(&shipped);
        assert!(shipped.removed > 0);
        assert!(
            shop.capture.outbox().pending().unwrap().is_empty(),
            "all confirmed, all gone"
        );
    }
    std::fs::remove_dir_all(shop.capture.outbox().dir()).unwrap();

    let (newest, newest_dump) = &shop.states.last().map(|s| (s.0, s.2.clone())).unwrap();
    let (restored, dump) = shop.restore(&usb, At::Latest).unwrap();
    assert_eq!(restored.txid, *newest);
    assert_eq!(dump, *newest_dump);
    for i in [0, 1, 7, 16, 17, 30, shop.states.len() - 1] {
        let (txid, at, expected) = shop.states[i].clone();
        let (restored, dump) = shop.restore(&usb, At::Txid(txid)).unwrap();
        assert_eq!((restored.txid, &dump), (txid, &expected), "txid {txid}");
        // Half a second after the capture: still that state.
        let (restored, dump) = shop
            .restore(&usb, At::Time(at + Duration::from_millis(500)))
            .unwrap();
        assert_eq!(
            (restored.txid, &dump),
            (txid, &expected),
            "time of txid {txid}"
        );
    }
    let before = shop.states[0].1 - Duration::from_secs(60);
    assert!(matches!(
        shop.restore(&usb, At::Time(before)),
        Err(FetchError::NothingBefore)
    ));
}

#[test]
fn a_removed_renamed_changed_or_planted_object_is_refused_by_name() {
    let mut shop = Shop::new();
    let root = shop.target("usb");
    let usb = FolderStore::new(&root);
    shop.commits(7);
    let generation = shop.generation();
    let (last, raw) = shop
        .capture
        .outbox()
        .segments(&generation)
        .unwrap()
        .pop()
        .unwrap();
    let raw = std::fs::read(raw).unwrap();
    no_failures(&shop.ship_to(&[("usb", &usb)]));
    shop.restore(&usb, At::Latest).unwrap();
    let folder = root.join(folder_of(INSTALLATION));
    let path = |txid| folder.join(segment_name(&generation, txid));
    let named = |txid| segment_name(&generation, txid);

    let aside = shop.dir.path().join("aside");
    std::fs::rename(path(4), &aside).unwrap();
    let err = shop.restore(&usb, At::Latest).unwrap_err();
    assert!(
        matches!(&err, FetchError::Missing { name } if *name == named(4)),
        "{err}"
    );
    // A moment before the gap is still there.
    assert_eq!(shop.restore(&usb, At::Txid(3)).unwrap().0.txid, 3);
    std::fs::rename(&aside, path(4)).unwrap();

    std::fs::rename(path(4), &aside).unwrap();
    std::fs::rename(path(5), path(4)).unwrap();
    std::fs::rename(&aside, path(5)).unwrap();
    let err = shop.restore(&usb, At::Latest).unwrap_err();
    assert!(
        matches!(&err, FetchError::Renamed { name } if *name == named(4)),
        "{err}"
    );
    std::fs::rename(path(4), &aside).unwrap();
    std::fs::rename(path(5), path(4)).unwrap();
    std::fs::rename(&aside, path(5)).unwrap();

    let good = std::fs::read(path(5)).unwrap();
    let mut bad = good.clone();
    let middle = bad.len() / 2;
    bad[middle] ^= 0x10;
    std::fs::write(path(5), &bad).unwrap();
    let err = shop.restore(&usb, At::Latest).unwrap_err();
    assert!(
        matches!(&err, FetchError::Unreadable { name, .. } if *name == named(5)),
        "{err}"
    );
    std::fs::write(path(5), &good).unwrap();
    shop.restore(&usb, At::Latest).unwrap();

    // Planted under the last name, encrypted to this shop's public key (which is no secret):
    // the bare segment, a header without a signature, one signed with another key.
    let bare = pipeline::seal(&raw[..], &shop.keys.recipient(), Vec::new())
        .unwrap()
        .1;
    let (sha, size) = envelope::digest(&raw);
    let mut header = Header {
        format: envelope::FORMAT,
        kind: Kind::Segment,
        installation: INSTALLATION.into(),
        generation: generation.clone(),
        txid: last,
        payload_size: size,
        payload_sha256: sha,
        base: None,
        recipient: shop.keys.current().public(),
        mac: None,
    };
    let sealed = |header: &Header| {
        let mut plain = header.to_prefix();
        plain.extend_from_slice(&raw);
        pipeline::seal(&plain[..], &shop.keys.recipient(), Vec::new())
            .unwrap()
            .1
    };
    let unsigned = sealed(&header);
    header.sign(&Keyring::generate(Utc::now()));
    header.recipient = shop.keys.current().public();
    let forged = sealed(&header);
    for (object, why) in [
        (bare, Untrusted::NotOurFormat),
        (unsigned, Untrusted::Unsigned),
        (forged, Untrusted::Forged),
    ] {
        std::fs::write(path(last), &object).unwrap();
        let err = shop.restore(&usb, At::Latest).unwrap_err();
        assert!(
            matches!(&err, FetchError::NotOurs { name, why: w } if *name == named(last) && *w == why),
            "{err}"
        );
    }
    // The base is checked the same way.
    std::fs::remove_file(path(last)).unwrap();
    std::fs::write(folder.join(base_name(&generation)), b"not a base").unwrap();
    let err = shop.restore(&usb, At::Latest).unwrap_err();
    assert!(
        matches!(&err, FetchError::Unreadable { name, .. } if *name == base_name(&generation)),
        "{err}"
    );
}

#[test]
fn a_target_that_goes_away_is_caught_up_in_order_and_the_other_is_not_held_back() {
    let mut shop = Shop::new();
    let (usb_dir, cloud_dir) = (shop.target("usb"), shop.target("cloud"));
    let (usb, cloud) = (FolderStore::new(&usb_dir), FolderStore::new(&cloud_dir));
    shop.commits(3);
    no_failures(&shop.ship_to(&[("usb", &usb), ("cloud", &cloud)]));

    let unplugged = shop.dir.path().join("usb-unplugged");
    std::fs::rename(&usb_dir, &unplugged).unwrap();
    let mut waiting = 0;
    for _ in 0..3 {
        shop.commits(4);
        waiting += 4;
        let shipped = shop.ship_to(&[("usb", &usb), ("cloud", &cloud)]);
        assert!(matches!(
            shipped.targets[0].failure,
            Some(ShipError::Store(StoreError::FolderMissing { .. }))
        ));
        assert_eq!(shipped.targets[1].objects, 4, "cloud goes on");
        assert_eq!(shipped.removed, 0, "usb has not confirmed");
        assert_eq!(shop.capture.outbox().pending().unwrap().len(), waiting);
        assert!(!usb_dir.exists(), "nothing made where the stick was");
    }
    // No target at all confirms nothing: the outbox keeps everything.
    assert_eq!(shop.ship_to(&[]).removed, 0);
    assert_eq!(shop.capture.outbox().pending().unwrap().len(), waiting);
    std::fs::rename(&unplugged, &usb_dir).unwrap();
    let shipped = shop.ship_to(&[("usb", &usb), ("cloud", &cloud)]);
    no_failures(&shipped);
    assert_eq!(shipped.targets[0].objects, waiting as u64, "usb catches up");
    assert_eq!(shipped.targets[1].objects, 0, "cloud gets nothing twice");
    assert_eq!(shipped.removed, waiting);
    assert!(shop.capture.outbox().pending().unwrap().is_empty());

    let newest = shop.states.last().unwrap().clone();
    for store in [&usb, &cloud] {
        let (restored, dump) = shop.restore(store, At::Latest).unwrap();
        assert_eq!((restored.txid, dump), (newest.0, newest.2.clone()));
    }
}

#[test]
fn the_copies_listing_never_sees_continuous_objects() {
    let mut shop = Shop::new();
    let root = shop.target("usb");
    std::fs::write(root.join("backup_20261201_120000.db.zst.age"), b"a copy").unwrap();
    let usb = FolderStore::new(&root);
    let before = usb.list().unwrap();
    shop.commits(5);
    no_failures(&shop.ship_to(&[("usb", &usb)]));
    assert_eq!(usb.list().unwrap(), before);
    assert!(
        crate::offsite::pass::read_index(&usb, Some(&shop.keys))
            .unwrap()
            .is_empty()
    );
    let nested = usb.nested(&folder_of(INSTALLATION)).unwrap();
    assert_eq!(
        nested.list().unwrap().len(),
        6,
        "a base and five segments, where they belong"
    );
    assert!(usb.nested("../elsewhere").is_err());
    assert!(usb.clean_unfinished().unwrap().is_empty());
}
