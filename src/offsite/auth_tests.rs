use chrono::{TimeZone, Utc};

use super::*;
use crate::backup::BackupKind;
use crate::offsite::installation::Installation;
use crate::offsite::manifest::FORMAT;

fn manifest(keys: &Keyring) -> Manifest {
    Manifest {
        format: FORMAT,
        copy: "backup_20261201_120000".into(),
        source_backup: "backup_20261201_120000.db".into(),
        kind: BackupKind::Automatic,
        description: None,
        created_at: Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap(),
        uploaded_at: Utc.with_ymd_and_hms(2026, 12, 1, 12, 1, 0).unwrap(),
        plain_size: 4096,
        plain_sha256: "aa".repeat(32),
        object_size: 1024,
        object_sha256: "bb".repeat(32),
        schema_version: 7,
        row_counts: [("users".to_string(), 2)].into_iter().collect(),
        program_version: "1.0.0".into(),
        compression: "zstd -3".into(),
        encryption: "age X25519".into(),
        recipient: keys.current().public(),
        installation: Some(Installation {
            id: "1a2b3c4d".repeat(4),
            shop: "Corner Shop".into(),
            computer: "TILL-1".into(),
        }),
        order: Some(5),
        sequence: Some(9),
        mac: None,
        trust: Trust::Unchecked,
    }
}

/// A change made to a signed manifest.
type Tamper = Box<dyn Fn(&mut Manifest)>;

/// Signs, writes and reads back as a target would.
fn round_trip(m: &Manifest, keys: &Keyring) -> Trust {
    let read = Manifest::parse(&m.to_bytes(), &m.copy).unwrap();
    check(&read, Some(keys))
}

#[test]
fn a_signed_manifest_checks_and_any_changed_field_fails() {
    let keys = Keyring::generate(Utc::now());
    let mut signed = manifest(&keys);
    sign(&mut signed, &keys);
    assert_eq!(round_trip(&signed, &keys), Trust::Ours);
    let text = String::from_utf8(signed.to_bytes()).unwrap();
    assert!(!text.contains("AGE-SECRET-KEY"), "no key in the manifest");

    let tampers: Vec<(&str, Tamper)> = vec![
        (
            "copy",
            Box::new(|m| m.copy = "backup_20261209_120000".into()),
        ),
        ("source", Box::new(|m| m.source_backup = "x.db".into())),
        ("kind", Box::new(|m| m.kind = BackupKind::Manual)),
        (
            "description added",
            Box::new(|m| m.description = Some("before stock-take".into())),
        ),
        (
            "created",
            Box::new(|m| m.created_at += chrono::Duration::days(3)),
        ),
        (
            "uploaded",
            Box::new(|m| m.uploaded_at += chrono::Duration::seconds(1)),
        ),
        ("plain size", Box::new(|m| m.plain_size += 1)),
        ("plain sha", Box::new(|m| m.plain_sha256 = "cc".repeat(32))),
        ("object size", Box::new(|m| m.object_size += 1)),
        (
            "object sha",
            Box::new(|m| m.object_sha256 = "dd".repeat(32)),
        ),
        ("schema", Box::new(|m| m.schema_version += 1)),
        (
            "rows",
            Box::new(|m| {
                m.row_counts.insert("users".into(), 3);
            }),
        ),
        ("version", Box::new(|m| m.program_version = "9".into())),
        ("installation", Box::new(|m| m.installation = None)),
        (
            "installation id",
            Box::new(|m| {
                if let Some(i) = m.installation.as_mut() {
                    i.id = "ff".repeat(16);
                }
            }),
        ),
        ("order", Box::new(|m| m.order = Some(99))),
        ("sequence", Box::new(|m| m.sequence = Some(99))),
        ("no sequence", Box::new(|m| m.sequence = None)),
    ];
    for (what, tamper) in tampers {
        let mut changed = signed.clone();
        tamper(&mut changed);
        let read = Manifest::parse(&changed.to_bytes(), &changed.copy).unwrap();
        assert_eq!(check(&read, Some(&keys)), Trust::Forged, "{what}");
    }
    let mut bad_mac = signed.clone();
    bad_mac.mac = Some("00".repeat(32));
    assert_eq!(round_trip(&bad_mac, &keys), Trust::Forged);
    bad_mac.mac = Some("not hex".into());
    assert_eq!(round_trip(&bad_mac, &keys), Trust::Forged);
    let mut none = signed.clone();
    none.mac = None;
    assert_eq!(round_trip(&none, &keys), Trust::Unsigned);
}

#[test]
fn only_the_secret_key_makes_a_manifest_that_checks() {
    let keys = Keyring::generate(Utc::now());
    // Someone with the public key only: encrypts to it and signs with a key of their own.
    let theirs = Keyring::generate(Utc::now());
    let mut forged = manifest(&keys);
    sign(&mut forged, &theirs);
    assert_eq!(forged.recipient, keys.current().public());
    assert_eq!(round_trip(&forged, &keys), Trust::Forged);
    // A copy to a key not held here cannot be checked; with none at all, neither.
    let mut other = manifest(&theirs);
    sign(&mut other, &theirs);
    assert_eq!(round_trip(&other, &keys), Trust::OtherKey);
    assert_eq!(check(&other, None), Trust::OtherKey);
    // After a key change the older key still checks its copies; a kit on a new computer does.
    let mut rotated = keys.clone();
    rotated.rotate(Utc::now());
    let mut old = manifest(&keys);
    sign(&mut old, &keys);
    assert_eq!(round_trip(&old, &rotated), Trust::Ours);
    let kit = Keyring::from_kit(&rotated.to_file_text()).unwrap();
    assert_eq!(round_trip(&old, &kit), Trust::Ours);
}

#[test]
fn a_renamed_manifest_and_a_repeated_sequence_are_flagged() {
    let keys = Keyring::generate(Utc::now());
    let mut signed = manifest(&keys);
    sign(&mut signed, &keys);
    let renamed = Manifest::parse(&signed.to_bytes(), "backup_20261231_120000").unwrap();
    assert_eq!(renamed.trust, Trust::Renamed);
    assert_eq!(renamed.copy, "backup_20261231_120000");
    assert!(!renamed.is_trusted());

    let mut twin = manifest(&keys);
    twin.copy = "backup_20261202_120000".into();
    sign(&mut twin, &keys);
    let mut third = manifest(&keys);
    third.copy = "backup_20261203_120000".into();
    third.sequence = Some(10);
    sign(&mut third, &keys);
    let mut copies = vec![signed, twin, third];
    flag_repeats(&mut copies);
    let trust: Vec<Trust> = copies.iter().map(|m| m.trust).collect();
    assert_eq!(trust, [Trust::OutOfOrder, Trust::OutOfOrder, Trust::Ours]);
}

/// The description is signed too: a forger cannot rename "before stock-take" unnoticed.
#[test]
fn described_manifest_checks_and_a_changed_description_fails() {
    let keys = Keyring::generate(Utc::now());
    let mut signed = manifest(&keys);
    signed.description = Some("before stock-take".into());
    sign(&mut signed, &keys);
    assert_eq!(round_trip(&signed, &keys), Trust::Ours);
    for forged in [Some("use this one".to_string()), None] {
        let mut m = signed.clone();
        m.description = forged.clone();
        assert_eq!(round_trip(&m, &keys), Trust::Forged, "{forged:?}");
    }
}
