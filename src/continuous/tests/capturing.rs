//! The capture under a concurrent writer, against checkpoints from anyone, and across kills.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::*;

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
    let captured_txid = Arc::new(AtomicU64::new(BASE_TXID));
    let writing = {
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
            (writer, states)
        })
    };
    let mut rounds = 0;
    let mut sizes = Vec::new();
    let mut captured_time = Duration::ZERO;
    let mut busy_rounds = 0u32;
    // Until the writer ends (or fails: its panic comes out of `join` below).
    while !writing.is_finished() {
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
    let (mut capture, generation) = start_capture(dir.path(), &db, system_clock());
    let mut states = Vec::new();
    commit_each(&writer, 0..5, &mut states);
    capture.capture().unwrap();
    commit_each(&writer, 5..9, &mut states);
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
    commit_each(&writer, 9..12, &mut states);
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
fn a_kill_between_any_two_steps_loses_nothing_captured() {
    for fault in [Some(Fault::AfterSegments), Some(Fault::AfterPosition), None] {
        let dir = tempfile::tempdir().unwrap();
        let (db, writer) = shop(dir.path());
        let outbox_dir = dir.path().join("outbox");
        let (mut capture, _) =
            Capture::open(&db, &outbox_dir, INSTALLATION, system_clock()).unwrap();
        let generation = capture.place().0.to_string();
        let mut states = Vec::new();
        commit_each(&writer, 0..4, &mut states);
        capture.capture().unwrap();
        commit_each(&writer, 4..8, &mut states);
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

        commit_each(&writer, 8..11, &mut states);
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
fn another_connections_automatic_checkpoints_wait_for_the_capture() {
    let dir = tempfile::tempdir().unwrap();
    let (db, writer) = shop(dir.path());
    drop(writer);
    let (mut capture, generation) = start_capture(dir.path(), &db, system_clock());
    // SQLite's default: a checkpoint after any commit that leaves 1,000 pages in the WAL.
    let other = Connection::open(&db).unwrap();
    other.busy_timeout(Duration::from_secs(10)).unwrap();
    let auto: i64 = other
        .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
        .unwrap();
    assert_eq!(auto, 1000);
    let mut states = Vec::new();
    for k in 0..24 {
        // About 50 pages each: the automatic checkpoint runs several times over.
        other
            .execute_batch(&format!(
                "INSERT INTO sale(item, cents, note) VALUES ('crate {k}', {k}, randomblob(200000))"
            ))
            .unwrap();
        states.push(dump(&other));
        // One capture half way: the automatic checkpoint comes long after it.
        if k == 10 {
            capture.capture().unwrap();
        }
    }
    let round = capture
        .capture_then_checkpoint(CheckpointMode::Truncate)
        .unwrap();
    assert_eq!(round.captured.new_generation, None);
    assert_eq!(capture.place().1, BASE_TXID + states.len() as u64);
    for (k, state) in states.iter().enumerate() {
        let txid = BASE_TXID + 1 + k as u64;
        assert_eq!(
            &restore_txid(capture.outbox(), &generation, txid, dir.path()),
            state
        );
    }
}
