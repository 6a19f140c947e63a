//! Replay: what it refuses, by name, and restoring to a moment in time.

use super::*;

#[test]
fn a_missing_a_reordered_and_a_changed_segment_are_each_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (db, writer) = shop(dir.path());
    let (mut capture, generation) = start_capture(dir.path(), &db, system_clock());
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
fn a_moment_in_time_restores_the_newest_commit_at_or_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let (db, writer) = shop(dir.path());
    let clock = ManualClock::new();
    let (mut capture, generation) = start_capture(dir.path(), &db, Arc::new(clock.clone()));
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
