//! When the chain continues across restarts and when a new generation begins; the outbox's
//! order for a shipper.

use super::*;

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
    // The first generation's segments do not apply to the second's base.
    let (base, base_file) = capture.outbox().base(&second).unwrap();
    let old: Vec<PathBuf> = capture
        .outbox()
        .segments(&first)
        .unwrap()
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    let out = dir.path().join("mixed.db");
    let err = restore(&base, &base_file, &old, INSTALLATION, Moment::Latest, &out).unwrap_err();
    assert!(matches!(err, ReplayError::OtherGeneration { .. }), "{err}");
    drop(capture);

    // Another installation's outbox is not continued.
    let (_, new) = Capture::open(&db, &outbox_dir, "another-shop", system_clock()).unwrap();
    assert_eq!(new, Some(NewGeneration::OtherInstallation));
}

#[test]
fn the_outbox_hands_a_shipper_everything_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (db, writer) = shop(dir.path());
    let (mut capture, _) = start_capture(dir.path(), &db, system_clock());
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
