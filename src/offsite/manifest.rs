//! What an off-site copy is called and what is written beside it: `<copy>.db.zst.age` and
//! `<copy>.json`, the manifest (plain metadata, no business data), written last, so a target
//! lists only copies whose manifest exists.

use std::collections::BTreeMap;

use chrono::{DateTime, Local, Utc};
use serde::{Deserialize, Serialize};

use super::installation::Installation;
use crate::backup::{BackupEntry, BackupKind, BackupName};

pub const OBJECT_SUFFIX: &str = ".db.zst.age";
pub const MANIFEST_SUFFIX: &str = ".json";
pub const FORMAT: u32 = 1;
/// A manifest is small; a larger object under such a name is not ours.
pub const MAX_MANIFEST_BYTES: u64 = 64 * 1024;

/// The copy's name for a local backup: the backup's name without `.db`, except
/// `startup_backup.db` (replaced at every start), which gets its time:
/// `startup_20261201_090000` — the name it takes locally when it joins the dated history, so
/// it is not sent twice.
pub fn copy_name(entry: &BackupEntry) -> String {
    match entry.kind() {
        BackupKind::Startup if entry.name.is_current_startup() => format!(
            "startup_{}",
            entry
                .created_at()
                .with_timezone(&Local)
                .format("%Y%m%d_%H%M%S")
        ),
        _ => entry
            .file_name
            .strip_suffix(".db")
            .unwrap_or(&entry.file_name)
            .to_string(),
    }
}

/// True for names Backroom gives copies (so retention never touches anything else).
pub fn is_copy_name(copy: &str) -> bool {
    BackupName::parse(&format!("{copy}.db")).is_some_and(|n| {
        n.stamp.is_some()
            && matches!(
                n.kind,
                BackupKind::Automatic | BackupKind::Manual | BackupKind::Startup
            )
    })
}

/// The copy a target object belongs to, when the object is one of ours.
pub fn copy_of_object(object: &str) -> Option<(&str, bool)> {
    if let Some(copy) = object.strip_suffix(OBJECT_SUFFIX) {
        return is_copy_name(copy).then_some((copy, false));
    }
    if let Some(copy) = object.strip_suffix(MANIFEST_SUFFIX) {
        return is_copy_name(copy).then_some((copy, true));
    }
    None
}

/// `<copy>.json` beside the object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub copy: String,
    /// The local backup it was made from.
    pub source_backup: String,
    pub kind: BackupKind,
    /// When the backup was made (its data is from then).
    pub created_at: DateTime<Utc>,
    pub uploaded_at: DateTime<Utc>,
    pub plain_size: u64,
    pub plain_sha256: String,
    pub object_size: u64,
    pub object_sha256: String,
    pub schema_version: i64,
    pub row_counts: BTreeMap<String, i64>,
    pub program_version: String,
    pub compression: String,
    pub encryption: String,
    /// The age public key it is encrypted to (which emergency kit opens it).
    pub recipient: String,
    /// The installation that sent it (`None`: sent before installations had ids).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installation: Option<Installation>,
    /// The backup's place in its installation's order (see `Sidecar::order`): "newest" is
    /// the highest, not the latest date, so a copy made with a wrong clock never stays newest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<u64>,
}

impl Manifest {
    /// What "newest" compares: the order the backups were made in, then the date (copies
    /// sent before the order was recorded have none and sort below those that have one).
    pub fn newness(&self) -> (Option<u64>, DateTime<Utc>) {
        (self.order, self.created_at)
    }

    pub fn object_name(&self) -> String {
        format!("{}{OBJECT_SUFFIX}", self.copy)
    }

    /// True when the installation `id` sent it (a copy without an id is an older one of ours).
    pub fn is_from(&self, id: &str) -> bool {
        self.installation.as_ref().is_none_or(|i| i.id == id)
    }

    /// Who sent it, for lists that show copies of several installations.
    pub fn sender(&self) -> String {
        self.installation.as_ref().map_or_else(
            || "an older Backroom (no installation id)".into(),
            Installation::label,
        )
    }

    pub fn manifest_name(copy: &str) -> String {
        format!("{copy}{MANIFEST_SUFFIX}")
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Reads a manifest; `None` for anything that is not a well-formed one of ours.
    pub fn parse(bytes: &[u8], expected_copy: &str) -> Option<Manifest> {
        let manifest: Manifest = serde_json::from_slice(bytes).ok()?;
        (manifest.copy == expected_copy && manifest.format == FORMAT).then_some(manifest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_names_are_copies() {
        for ours in [
            "startup_20261201_090000",
            "backup_20261201_120000",
            "backup_20261201_120000-2",
            "startup_20261201_090000-2",
            "manual_20261201_120000_before_stock_take",
        ] {
            assert!(is_copy_name(ours), "{ours}");
            assert_eq!(
                copy_of_object(&format!("{ours}.db.zst.age")),
                Some((ours, false))
            );
            assert_eq!(copy_of_object(&format!("{ours}.json")), Some((ours, true)));
        }
        for theirs in [
            "holiday-photos",
            "startup_2026",
            "startup_backup",
            "startup_20261399_090000",
            "pre_restore_20261201_120000",
            "backup_20261301_120000",
            "../backup_20261201_120000",
        ] {
            assert!(!is_copy_name(theirs), "{theirs}");
        }
        assert_eq!(copy_of_object("backup_20261201_120000.db"), None);
        assert_eq!(copy_of_object("notes.json"), None);
    }
}
