//! What shipping costs a target: one request and under a KiB per small transaction, none while
//! nothing changes; a big transaction streamed (bounded memory) and still restored.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, Mutex};

use super::*;

/// A store that counts the requests made of it (and of its nested stores).
struct Counting {
    inner: Box<dyn Store>,
    counts: Counts,
}

impl Counting {
    fn count(&self, what: &'static str) {
        *self.counts.lock().unwrap().entry(what).or_default() += 1;
    }
}

impl Store for Counting {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn create(&self, name: &str) -> Result<Box<dyn ObjectWriter>, StoreError> {
        self.count("create");
        self.inner.create(name)
    }
    fn put_small(&self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.count("put");
        self.inner.put_small(name, bytes)
    }
    fn open(&self, name: &str) -> Result<Box<dyn Read + Send>, StoreError> {
        self.count("get");
        self.inner.open(name)
    }
    fn list(&self) -> Result<Vec<ObjectInfo>, StoreError> {
        self.count("list");
        self.inner.list()
    }
    fn head(&self, name: &str) -> Result<Option<ObjectInfo>, StoreError> {
        self.count("head");
        self.inner.head(name)
    }
    fn verify_object(&self, name: &str, size: u64, sha256: &str) -> Result<(), StoreError> {
        self.count("verify");
        self.inner.verify_object(name, size, sha256)
    }
    fn delete(&self, name: &str) -> Result<(), StoreError> {
        self.count("delete");
        self.inner.delete(name)
    }
    fn clean_unfinished(&self) -> Result<Vec<String>, StoreError> {
        self.inner.clean_unfinished()
    }
    fn nested(&self, folder: &str) -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(Counting {
            inner: self.inner.nested(folder)?,
            counts: self.counts.clone(),
        }))
    }
}

type Counts = Arc<Mutex<BTreeMap<&'static str, u64>>>;

/// A shop with `commits` transactions already shipped to a folder target "usb" whose
/// requests are counted from now on.
fn counted_shop(commits: usize) -> (Shop, Counting, Counts) {
    let mut shop = Shop::new();
    let root = shop.target("usb");
    let counts: Counts = Arc::new(Mutex::new(BTreeMap::new()));
    let usb = Counting {
        inner: Box::new(FolderStore::new(&root)),
        counts: counts.clone(),
    };
    shop.commits(commits);
    no_failures(&shop.ship_to(&[("usb", &usb)]));
    counts.lock().unwrap().clear();
    (shop, usb, counts)
}

/// Figures: one request and a few hundred bytes per small transaction; none while idle.
#[test]
fn a_small_transaction_is_one_request_and_idle_is_none() {
    let (mut shop, usb, counts) = counted_shop(1);

    let mut sizes = Vec::new();
    for _ in 0..40 {
        // Small sales only (the workload's bigger changes come at other counts).
        shop.clock.advance(chrono::Duration::seconds(1));
        shop.writer
            .execute_batch("INSERT INTO sale VALUES (NULL, 'tea', 250, NULL)")
            .unwrap();
        shop.capture.capture().unwrap();
        let shipped = shop.ship_to(&[("usb", &usb)]);
        no_failures(&shipped);
        assert_eq!(shipped.targets[0].objects, 1);
        sizes.push(shipped.targets[0].bytes);
    }
    let requests = counts.lock().unwrap().clone();
    assert_eq!(
        requests,
        BTreeMap::from([("put", 40)]),
        "one PUT per transaction"
    );
    for _ in 0..5 {
        let idle = shop.ship_to(&[("usb", &usb)]);
        assert_eq!(idle.targets[0].objects, 0);
    }
    assert_eq!(
        *counts.lock().unwrap(),
        requests,
        "no request while nothing changes"
    );
    sizes.sort_unstable();
    eprintln!(
        "figures: a one-row sale ships as one object of {} bytes (median; min {}, max {}) after zstd+age, 1 request; idle: 0 requests",
        sizes[sizes.len() / 2],
        sizes[0],
        sizes[sizes.len() - 1]
    );
    assert!(sizes[sizes.len() / 2] < 2048, "{sizes:?}");
}

#[test]
fn a_big_transaction_is_streamed_and_comes_back() {
    let (mut shop, usb, counts) = counted_shop(2);
    // Random bytes: more than 4 MiB of pages that do not compress.
    shop.writer
        .execute_batch("INSERT INTO sale VALUES (NULL, 'import', 1, randomblob(5000000))")
        .unwrap();
    shop.capture.capture().unwrap();
    let (_, txid) = shop.capture.place();
    let expected = dump(&shop.writer);
    let shipped = shop.ship_to(&[("usb", &usb)]);
    no_failures(&shipped);
    assert!(shipped.targets[0].bytes > 5_000_000, "{shipped:?}");
    assert_eq!(
        *counts.lock().unwrap(),
        BTreeMap::from([("create", 1), ("verify", 1)]),
        "streamed, then read back"
    );
    let (restored, dump) = shop.restore(&usb, At::Latest).unwrap();
    assert_eq!((restored.txid, dump), (txid, expected));
}
