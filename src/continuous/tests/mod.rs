//! Capture and replay together: a writer commits while captures and checkpoints run, and every
//! commit is rebuilt from the outbox and compared with the state recorded at commit time.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use rusqlite::types::Value;

use super::capture::Fault;
use super::*;
use crate::clock::{Clock, ManualClock, SystemClock};

const INSTALLATION: &str = "0123456789abcdef0123456789abcdef";

fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// A shop database in WAL mode, as Backroom opens it, with a writer connection.
fn shop(dir: &Path) -> (PathBuf, Connection) {
    let path = dir.join("business_data.db");
    let conn = Connection::open(&path).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0;
         CREATE TABLE sale(id INTEGER PRIMARY KEY, item TEXT NOT NULL, cents INTEGER, note BLOB);
         CREATE INDEX sale_item ON sale(item);",
    )
    .unwrap();
    (path, conn)
}

/// Schema and every row of every table, in rowid order: equal dumps, equal data.
fn dump(conn: &Connection) -> String {
    let mut out = String::new();
    let mut schema = conn
        .prepare("SELECT type, name, sql FROM sqlite_schema ORDER BY name")
        .unwrap();
    let items: Vec<(String, String, Option<String>)> = schema
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (kind, name, sql) in items {
        out.push_str(&format!("{kind} {name}: {sql:?}\n"));
        if kind != "table" {
            continue;
        }
        let mut rows = conn
            .prepare(&format!("SELECT * FROM \"{name}\" ORDER BY rowid"))
            .unwrap();
        let columns = rows.column_count();
        let mut q = rows.query([]).unwrap();
        while let Some(row) = q.next().unwrap() {
            let values: Vec<Value> = (0..columns).map(|i| row.get(i).unwrap()).collect();
            out.push_str(&format!("{values:?}\n"));
        }
    }
    out
}

/// Opens a rebuilt file, checks its integrity, and dumps it.
fn check_and_dump(path: &Path) -> String {
    let conn = Connection::open(path).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok", "{}", path.display());
    dump(&conn)
}

/// One commit of a varied workload: single and multi-row inserts, updates, deletes, rows
/// large enough for overflow pages, and a VACUUM that shrinks the file.
fn commit_one(conn: &Connection, k: usize) {
    let sql = match k {
        k if k % 41 == 40 => "VACUUM".to_string(),
        k if k % 7 == 0 => format!(
            "BEGIN; INSERT INTO sale(item, cents) VALUES ('multi {k}a', {k}), ('multi {k}b', 2);
             UPDATE sale SET cents = cents + 1 WHERE id % 3 = 0; COMMIT;"
        ),
        k if k % 11 == 0 => "DELETE FROM sale WHERE id % 4 = 1".to_string(),
        k if k % 13 == 0 => {
            format!("INSERT INTO sale(item, cents, note) VALUES ('big {k}', {k}, zeroblob(20000))")
        }
        k => format!("INSERT INTO sale(item, cents) VALUES ('coffee {k}', {k})"),
    };
    conn.execute_batch(&sql).unwrap();
}

fn restore_txid(outbox: &Outbox, generation: &str, txid: u64, dir: &Path) -> String {
    let out = dir.join(format!("restored-{txid}.db"));
    let restored =
        restore_from_outbox(outbox, generation, INSTALLATION, Moment::Txid(txid), &out).unwrap();
    assert_eq!(restored.txid, txid);
    check_and_dump(&out)
}

#[test]
fn every_commit_made_while_captures_run_is_rebuilt_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (db, writer) = shop(dir.path());
    let outbox_dir = dir.path().join("outbox");
    let (mut capture, new) = Capture::open(&db, &outbox_dir, INSTALLATION, system_clock()).unwrap();
    assert_eq!(new, Some(NewGeneration::FirstCapture));
    let generation = capture.place().0.to_string();
    let before = dump(&writer);

    const COMMITS: usize = 160;
    let done = Arc::new(AtomicBool::new(false));
    let captured_txid = Arc::new(AtomicU64::new(BASE_TXID));
    let writing = {
        let done = done.clone();
        let captured_txid = captured_txid.clone();
        std::thread::spawn(move || {
            let mut states = Vec::new();
            for k in 0..COMMITS {
                commit_one(&writer, k);
                states.push(dump(&writer));
                // Now and then the writer waits for the capture to catch up, so rounds take
                // one, two or several commits, whatever the machine's speed.
                if k % 4 == 3 {
                    let txid = BASE_TXID + 1 + k as u64;
                    let deadline = Instant::now() + Duration::from_secs(30);
                    while captured_txid.load(Ordering::SeqCst) < txid {
                        assert!(Instant::now() < deadline, "the capture fell behind");
                        std::thread::yield_now();
                    }
                }
            }
            done.store(true, Ordering::SeqCst);
            (writer, states)
        })
    };
    let mut rounds = 0;
    let mut sizes = Vec::new();
    let mut captured_time = Duration::ZERO;
    let mut busy_rounds = 0u32;
    while !done.load(Ordering::SeqCst) {
        rounds += 1;
        let mode = if rounds % 5 == 0 {
            CheckpointMode::Truncate
        } else {
            CheckpointMode::Passive
        };
        let started = Instant::now();
        let round = capture.capture_then_checkpoint(mode).unwrap();
        if !round.captured.segments.is_empty() {
            captured_time += started.elapsed();
            busy_rounds += 1;
        }
        assert_eq!(round.captured.new_generation, None, "the chain continues");
        sizes.extend(round.captured.segments);
        captured_txid.store(capture.place().1, Ordering::SeqCst);
    }
    let (writer, states) = writing.join().unwrap();
    let last = capture
        .capture_then_checkpoint(CheckpointMode::Truncate)
        .unwrap();
    assert_eq!(last.captured.new_generation, None);
    sizes.extend(last.captured.segments);

    // One segment per commit, numbered from the base on.
    let txids: Vec<u64> = sizes.iter().map(|(txid, _)| *txid).collect();
    let expected: Vec<u64> = (BASE_TXID + 1..=BASE_TXID + COMMITS as u64).collect();
    assert_eq!(txids, expected);
    assert_eq!(capture.place().1, BASE_TXID + COMMITS as u64);

    assert_eq!(
        restore_txid(capture.outbox(), &generation, BASE_TXID, dir.path()),
        before
    );
    for (k, state) in states.iter().enumerate() {
        let txid = BASE_TXID + 1 + k as u64;
        assert_eq!(
            &restore_txid(capture.outbox(), &generation, txid, dir.path()),
            state,
            "the state after commit {k} (txid {txid})"
        );
    }
    let latest = dir.path().join("latest.db");
    let restored = restore_from_outbox(
        capture.outbox(),
        &generation,
        INSTALLATION,
        Moment::Latest,
        &latest,
    )
    .unwrap();
    assert_eq!(restored.txid, BASE_TXID + COMMITS as u64);
    assert_eq!(check_and_dump(&latest), dump(&writer));

    // The comparison point for later phases: what a small transaction costs in the outbox.
    let small: Vec<u64> = sizes
        .iter()
        .enumerate()
        .filter(|(k, _)| k % 7 != 0 && k % 11 != 0 && k % 13 != 0 && k % 41 != 40)
        .map(|(_, (_, bytes))| *bytes)
        .collect();
    let mean = small.iter().sum::<u64>() / small.len() as u64;
    let segment_files = capture.outbox().segments(&generation).unwrap();
    let zstd_size = std::fs::read(&segment_files[2].1)
        .map(|bytes| zstd::bulk::compress(&bytes, 3).unwrap().len())
        .unwrap();
    eprintln!(
        "segments: {} commits in {rounds} capture rounds; a one-row sale: mean {mean} bytes \
         (min {}, max {}; one with zstd -3: {zstd_size} bytes); the {busy_rounds} rounds that \
         wrote segments took {:?} each (capture, fsyncs, checkpoint), {:?} per commit",
        COMMITS,
        small.iter().min().unwrap(),
        small.iter().max().unwrap(),
        captured_time / busy_rounds.max(1),
        captured_time / COMMITS as u32,
    );
    // A one-row insert writes a page or two (4 KiB each, uncompressed) plus headers.
    assert!(mean < 3 * 4096 + 300, "{mean} bytes");
}

#[test]
fn no_checkpoint_passes_a_commit_the_capture_has_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let (db, writer) = shop(dir.path());
    let (mut capture, _) = Capture::open(
        &db,
        &dir.path().join("outbox"),
        INSTALLATION,
        system_clock(),
    )
    .unwrap();
    let generation = capture.place().0.to_string();
    let mut states = Vec::new();
    for k in 0..5 {
        commit_one(&writer, k);
        states.push(dump(&writer));
    }
    capture.capture().unwrap();
    for k in 5..9 {
        commit_one(&writer, k);
        states.push(dump(&writer));
    }
    // Another connection checkpoints as hard as it can, then writes on: with every frame
    // copied it would start the WAL over and overwrite the four commits not yet captured.
    writer.busy_timeout(Duration::ZERO).unwrap();
    for mode in ["TRUNCATE", "RESTART", "PASSIVE"] {
        let (busy, log, done): (i64, i64, i64) = writer
            .query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert!(
            done < log,
            "{mode}: the capture's pin holds the checkpoint back ({done} of {log} frames, busy {busy})"
        );
    }
    writer.busy_timeout(Duration::from_secs(10)).unwrap();
    for k in 9..12 {
        commit_one(&writer, k);
        states.push(dump(&writer));
    }
    // Our own checkpoint right after a capture, with commits landing in between.
    let round = capture
        .capture_then_checkpoint(CheckpointMode::Truncate)
        .unwrap();
    assert_eq!(round.captured.segments.len(), 7);
    commit_one(&writer, 12);
    states.push(dump(&writer));
    let round = capture
        .capture_then_checkpoint(CheckpointMode::Truncate)
        .unwrap();
    assert_eq!(round.captured.segments.len(), 1);
    assert_eq!(round.captured.new_generation, None);
    assert_eq!(capture.place().0, generation);
    for (k, state) in states.iter().enumerate() {
        let txid = BASE_TXID + 1 + k as u64;
        assert_eq!(
            &restore_txid(capture.outbox(), &generation, txid, dir.path()),
            state
        );
    }
}

#[test]
fn a_missing_a_reordered_and_a_changed_segment_are_each_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (db, writer) = shop(dir.path());
    let (mut capture, _) = Capture::open(
        &db,
        &dir.path().join("outbox"),
        INSTALLATION,
        system_clock(),
    )
    .unwrap();
    let generation = capture.place().0.to_string();
    for k in 1..=6 {
        commit_one(&writer, k);
        capture.capture().unwrap();
    }
    let outbox = capture.outbox().clone();
    let (base, base_file) = outbox.base(&generation).unwrap();
    let segments: Vec<PathBuf> = outbox
        .segments(&generation)
        .unwrap()
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    assert_eq!(segments.len(), 6);
    let out = dir.path().join("out.db");
    let attempt =
        |list: &[PathBuf]| restore(&base, &base_file, list, INSTALLATION, Moment::Latest, &out);
    attempt(&segments).unwrap();

    let mut missing = segments.clone();
    missing.remove(2);
    let err = attempt(&missing).unwrap_err();
    assert!(
        matches!(
            err,
            ReplayError::Missing {
                expected: 4,
                found: 5
            }
        ),
        "{err}"
    );

    let mut reordered = segments.clone();
    reordered.swap(2, 3);
    let err = attempt(&reordered).unwrap_err();
    assert!(
        matches!(
            err,
            ReplayError::OutOfOrder {
                expected: 4,
                found: 5
            }
        ),
        "{err}"
    );

    let flipped = dir.path().join("flipped.seg");
    let mut bytes = std::fs::read(&segments[2]).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    std::fs::write(&flipped, &bytes).unwrap();
    let mut changed = segments.clone();
    changed[2] = flipped.clone();
    let err = attempt(&changed).unwrap_err();
    assert!(
        matches!(&err, ReplayError::Damaged { path, source: SegmentError::DigestMismatch } if *path == flipped),
        "{err}"
    );

    // A segment rewritten whole (its own checksums made anew) still breaks the chain.
    let mut forged = segment::decode(&std::fs::read(&segments[2]).unwrap()).unwrap();
    forged.pages[0].1[200] ^= 1;
    let pages = forged.pages.iter().cloned().collect();
    let forged_path = dir.path().join("forged.seg");
    std::fs::write(&forged_path, segment::encode(&forged.info, &pages).unwrap()).unwrap();
    changed[2] = forged_path;
    let err = attempt(&changed).unwrap_err();
    assert!(matches!(err, ReplayError::ChainBroken { txid: 4 }), "{err}");

    let err = restore(
        &base,
        &base_file,
        &segments,
        "someone-else",
        Moment::Latest,
        &out,
    )
    .unwrap_err();
    assert!(
        matches!(err, ReplayError::OtherInstallation { .. }),
        "{err}"
    );

    let err = attempt(&segments[..3]).map(|_| ()).and_then(|()| {
        restore(
            &base,
            &base_file,
            &segments[..3],
            INSTALLATION,
            Moment::Txid(9),
            &out,
        )
        .map(|_| ())
    });
    assert!(matches!(
        err,
        Err(ReplayError::NotReached {
            wanted: 9,
            newest: 4
        })
    ));

    let mut damaged_base = std::fs::read(&base_file).unwrap();
    damaged_base[4096 + 100] ^= 1;
    let copy = dir.path().join("base-copy.db");
    std::fs::write(&copy, &damaged_base).unwrap();
    let err = restore(&base, &copy, &segments, INSTALLATION, Moment::Latest, &out).unwrap_err();
    assert!(matches!(err, ReplayError::BaseDamaged { .. }), "{err}");
}

#[test]
fn a_kill_between_any_two_steps_loses_nothing_captured() {
    for fault in [Some(Fault::AfterSegments), Some(Fault::AfterPosition), None] {
        let dir = tempfile::tempdir().unwrap();
        let (db, writer) = shop(dir.path());
        let outbox_dir = dir.path().join("outbox");
        let (mut capture, _) =
            Capture::open(&db, &outbox_dir, INSTALLATION, system_clock()).unwrap();
        let generation = capture.place().0.to_string();
        let mut states = Vec::new();
        for k in 0..4 {
            commit_one(&writer, k);
            states.push(dump(&writer));
        }
        capture.capture().unwrap();
        for k in 4..8 {
            commit_one(&writer, k);
            states.push(dump(&writer));
        }
        capture.fault = fault;
        match fault {
            Some(_) => assert!(matches!(capture.capture(), Err(CaptureError::Killed))),
            None => {
                capture
                    .capture_then_checkpoint(CheckpointMode::Truncate)
                    .unwrap();
            }
        }
        // A half-written segment from the moment of the kill.
        let gen_dir = outbox_dir.join(&generation);
        std::fs::write(gen_dir.join("0000000000000042.tmp"), b"BKRSEG1\npartial").unwrap();
        drop(capture);

        for k in 8..11 {
            commit_one(&writer, k);
            states.push(dump(&writer));
        }
        let (mut capture, new) =
            Capture::open(&db, &outbox_dir, INSTALLATION, system_clock()).unwrap();
        assert_eq!(new, None, "{fault:?}: the chain continues after the kill");
        assert_eq!(capture.place().0, generation);
        capture
            .capture_then_checkpoint(CheckpointMode::Truncate)
            .unwrap();
        assert_eq!(
            capture.place().1,
            BASE_TXID + states.len() as u64,
            "{fault:?}"
        );
        for (k, state) in states.iter().enumerate() {
            let txid = BASE_TXID + 1 + k as u64;
            assert_eq!(
                &restore_txid(capture.outbox(), &generation, txid, dir.path()),
                state,
                "{fault:?}: txid {txid}"
            );
        }
    }
}

#[test]
fn changes_made_while_nothing_captured_continue_or_begin_a_new_generation() {
    let dir = tempfile::tempdir().unwrap();
    let (db, writer) = shop(dir.path());
    let outbox_dir = dir.path().join("outbox");
    let (capture, _) = Capture::open(&db, &outbox_dir, INSTALLATION, system_clock()).unwrap();
    let first = capture.place().0.to_string();
    commit_one(&writer, 1);
    capture.close().unwrap();

    // Another program commits while Backroom is stopped: its frames are still in the WAL,
    // after the place, so the chain continues and captures them.
    commit_one(&writer, 2);
    let (mut capture, new) = Capture::open(&db, &outbox_dir, INSTALLATION, system_clock()).unwrap();
    assert_eq!(new, None);
    assert_eq!(capture.capture().unwrap().segments.len(), 1);
    capture.close().unwrap();

    // A clean close of the last connection checkpoints and deletes the WAL: all captured.
    drop(writer);
    assert!(!dir.path().join("business_data.db-wal").exists());
    let writer = Connection::open(&db).unwrap();
    let (capture, new) = Capture::open(&db, &outbox_dir, INSTALLATION, system_clock()).unwrap();
    assert_eq!(new, None, "a clean shutdown keeps the chain");
    drop(capture);

    // Changed and checkpointed while nothing captured: the chain cannot continue.
    commit_one(&writer, 3);
    writer
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    let (capture, new) = Capture::open(&db, &outbox_dir, INSTALLATION, system_clock()).unwrap();
    assert_eq!(new, Some(NewGeneration::DatabaseChanged));
    let second = capture.place().0.to_string();
    assert!(second > first, "generations sort in the order they began");
    assert_eq!(capture.place().1, BASE_TXID);
    let rebuilt = restore_txid(capture.outbox(), &second, BASE_TXID, dir.path());
    assert_eq!(rebuilt, dump(&writer), "the new base is the database now");
    drop(capture);

    // Another installation's outbox is not continued.
    let (_, new) = Capture::open(&db, &outbox_dir, "another-shop", system_clock()).unwrap();
    assert_eq!(new, Some(NewGeneration::OtherInstallation));
}

#[test]
fn a_moment_in_time_restores_the_newest_commit_at_or_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let (db, writer) = shop(dir.path());
    let clock = ManualClock::new();
    let (mut capture, _) = Capture::open(
        &db,
        &dir.path().join("outbox"),
        INSTALLATION,
        Arc::new(clock.clone()),
    )
    .unwrap();
    let generation = capture.place().0.to_string();
    let start = std::time::SystemTime::from(clock.now());
    let mut states = Vec::new();
    for k in 0..5 {
        clock.advance(chrono::Duration::seconds(10));
        commit_one(&writer, k);
        states.push(dump(&writer));
        capture.capture().unwrap();
    }
    let out = dir.path().join("at.db");
    for (k, state) in states.iter().enumerate() {
        // Five seconds after commit k was captured, and before k+1.
        let at = start + Duration::from_secs(10 * (k as u64 + 1) + 5);
        let restored = restore_from_outbox(
            capture.outbox(),
            &generation,
            INSTALLATION,
            Moment::Time(at),
            &out,
        )
        .unwrap();
        assert_eq!(restored.txid, BASE_TXID + 1 + k as u64);
        assert_eq!(&check_and_dump(&out), state);
        std::fs::remove_file(&out).unwrap();
    }
}

#[test]
fn the_outbox_hands_a_shipper_everything_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (db, writer) = shop(dir.path());
    let (mut capture, _) = Capture::open(
        &db,
        &dir.path().join("outbox"),
        INSTALLATION,
        system_clock(),
    )
    .unwrap();
    for k in 0..3 {
        commit_one(&writer, k);
        capture.capture().unwrap();
    }
    let pending = capture.outbox().pending().unwrap();
    assert!(matches!(pending[0], OutboxItem::Base { .. }));
    let txids: Vec<u64> = pending[1..]
        .iter()
        .map(|item| match item {
            OutboxItem::Segment { txid, .. } => *txid,
            OutboxItem::Base { .. } => panic!("one base"),
        })
        .collect();
    assert_eq!(txids, vec![2, 3, 4]);
    // Shipped and confirmed: removed; the capture goes on from its position.
    for item in &pending {
        capture.outbox().remove(item).unwrap();
    }
    assert!(capture.outbox().pending().unwrap().is_empty());
    commit_one(&writer, 3);
    let captured = capture.capture().unwrap();
    assert_eq!(captured.segments[0].0, 5);
}
