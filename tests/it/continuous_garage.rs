//! Continuous protection against a real single-node Garage: a writer's commits captured and
//! shipped, the node killed and brought back (the outbox keeps what it did not confirm and
//! catches up in order), the local outbox deleted, and moments restored from the bucket equal
//! to the states recorded at commit time; the target's own listing (the copies') never shows
//! the continuous objects. Prints the bytes and time per shipped transaction.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use backroom::clock::SystemClock;
use backroom::continuous::{At, Capture, ShipTarget, folder_of, restore_at, ship};
use backroom::offsite::keys::Keyring;
use backroom::offsite::s3::S3Store;
use backroom::offsite::store::Store;
use rusqlite::Connection;

use crate::garage::Garage;

const INSTALLATION: &str = "00112233445566778899aabbccddeeff";

fn dump(conn: &Connection) -> String {
    let mut rows = conn
        .prepare("SELECT id, item, cents FROM sale ORDER BY id")
        .unwrap();
    let rows: Vec<(i64, String, i64)> = rows
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    format!("{rows:?}")
}

fn open_shop(dir: &Path) -> Connection {
    let conn = Connection::open(dir.join("business_data.db")).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;
         CREATE TABLE sale(id INTEGER PRIMARY KEY, item TEXT NOT NULL, cents INTEGER);",
    )
    .unwrap();
    conn
}

#[test]
fn shipped_to_garage_and_restored_to_moments_through_a_node_restart() {
    let mut g = Garage::single();
    let dir = tempfile::tempdir().unwrap();
    let writer = open_shop(dir.path());
    let (mut capture, _) = Capture::open(
        &dir.path().join("business_data.db"),
        &dir.path().join("outbox"),
        INSTALLATION,
        Arc::new(SystemClock),
    )
    .unwrap();
    let keys = Keyring::generate(chrono::Utc::now());
    let store = S3Store::new(g.s3_config(0, "shop")).unwrap();
    let targets = [ShipTarget {
        name: "cloud",
        store: &store,
    }];
    let mut states = vec![(capture.place().1, dump(&writer))];
    let mut commit = |capture: &mut Capture, k: usize| {
        writer
            .execute_batch(&format!(
                "BEGIN; INSERT INTO sale VALUES (NULL, 'sale {k}', {k}); UPDATE sale SET cents = cents + 1 WHERE id = 1; COMMIT;"
            ))
            .unwrap();
        capture.capture().unwrap();
        states.push((capture.place().1, dump(&writer)));
    };

    // One transaction at a time: the time and bytes of each shipment.
    let (mut took, mut bytes) = (Vec::new(), Vec::new());
    no_failure(&ship(capture.outbox(), &targets, &keys, INSTALLATION).unwrap());
    for k in 0..20 {
        commit(&mut capture, k);
        let began = Instant::now();
        let shipped = ship(capture.outbox(), &targets, &keys, INSTALLATION).unwrap();
        took.push(began.elapsed());
        no_failure(&shipped);
        assert_eq!(shipped.targets[0].objects, 1);
        bytes.push(shipped.targets[0].bytes);
    }
    took.sort();
    bytes.sort_unstable();
    eprintln!(
        "figures (Garage): one small transaction shipped as one PUT of {} bytes in {:?} (median; max {:?})",
        bytes[bytes.len() / 2],
        took[took.len() / 2],
        took[took.len() - 1]
    );

    // The node away: nothing confirmed, nothing leaves the outbox; back: caught up in order.
    g.stop_node(0);
    for k in 20..30 {
        commit(&mut capture, k);
    }
    let shipped = ship(capture.outbox(), &targets, &keys, INSTALLATION).unwrap();
    assert!(shipped.targets[0].failure.is_some(), "{shipped:?}");
    assert_eq!(shipped.removed, 0);
    assert_eq!(capture.outbox().pending().unwrap().len(), 10);
    g.start_node(0);
    let shipped = ship(capture.outbox(), &targets, &keys, INSTALLATION).unwrap();
    no_failure(&shipped);
    assert_eq!(
        (shipped.targets[0].objects, shipped.removed),
        (10, 10),
        "{shipped:?}"
    );
    assert!(capture.outbox().pending().unwrap().is_empty());

    // The copies' listing of the target does not see them; the installation's folder does.
    assert!(store.list().unwrap().is_empty());
    let nested = store.nested(&folder_of(INSTALLATION)).unwrap();
    assert_eq!(nested.list().unwrap().len(), 31, "a base and 30 segments");

    capture.close().unwrap();
    std::fs::remove_dir_all(dir.path().join("outbox")).unwrap();
    let restored_dir = tempfile::tempdir().unwrap();
    for (i, at) in [
        (states.len() - 1, At::Latest),
        (0, At::Txid(states[0].0)),
        (5, At::Txid(states[5].0)),
        (25, At::Txid(states[25].0)),
    ] {
        let out = restored_dir.path().join(format!("at-{i}.db"));
        let began = Instant::now();
        let restored = restore_at(&store, &keys, INSTALLATION, at, &out).unwrap();
        eprintln!("restored {at:?} from Garage in {:?}", began.elapsed());
        assert_eq!(restored.txid, states[i].0);
        assert_eq!(
            dump(&Connection::open(&out).unwrap()),
            states[i].1,
            "{at:?}"
        );
    }
}

fn no_failure(shipped: &backroom::continuous::Shipped) {
    for t in &shipped.targets {
        assert!(t.failure.is_none(), "{}: {:?}", t.target, t.failure);
    }
}
