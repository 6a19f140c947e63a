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
    /// What the owner wrote about the backup ("before stock-take"), so a copy list on a new
    /// computer says what each copy is. Covered by the MAC like every field; absent in
    /// manifests from before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
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
    /// How many copies this installation had sent when it sent this one: a number that only
    /// grows (kept in `offsite-state.json`, never wound back by a restore).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    /// HMAC-SHA256 of every other field, keyed from the secret off-site key (see `auth`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// Whether this shop made it, as found when the target was read (never written).
    #[serde(skip)]
    pub trust: Trust,
}

/// Whether a copy on a target was made by this shop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trust {
    /// Not looked at yet: not trusted.
    #[default]
    Unchecked,
    /// Its MAC holds under one of this shop's keys.
    Ours,
    /// No MAC: made by a Backroom from before copies were signed, or by someone else.
    Unsigned,
    /// Encrypted to a key this computer does not hold, so its MAC cannot be checked.
    OtherKey,
    /// The MAC does not hold: something in the manifest was changed or made up.
    Forged,
    /// Its files were renamed: the name it was signed with is another.
    Renamed,
    /// Signed, but its sequence number repeats another copy's.
    OutOfOrder,
}

impl Trust {
    /// Why a copy is not trusted, in words for lists.
    pub fn reason(self) -> &'static str {
        match self {
            Trust::Ours => "",
            Trust::Unchecked => "not checked",
            Trust::Unsigned => "no signature; older Backroom versions did not sign copies",
            Trust::OtherKey => "encrypted to a key that is not in this shop's kit",
            Trust::Forged => "its signature does not match",
            Trust::Renamed => "renamed from another copy",
            Trust::OutOfOrder => "its sequence number repeats another copy's",
        }
    }
}

impl Manifest {
    /// What a person calls the copy: "before stock-take — Wed 2 Dec, 15:57".
    pub fn label(&self) -> String {
        crate::timefmt::backup_label(
            self.kind,
            self.description.as_deref().unwrap_or_default(),
            self.created_at,
        )
    }

    /// What "newest" compares: the order the backups were made in, then the date (copies
    /// sent before the order was recorded have none and sort below those that have one).
    pub fn newness(&self) -> (Option<u64>, DateTime<Utc>) {
        (self.order, self.created_at)
    }

    pub fn object_name(&self) -> String {
        format!("{}{OBJECT_SUFFIX}", self.copy)
    }

    /// True when this shop made it (see `auth`).
    pub fn is_trusted(&self) -> bool {
        self.trust == Trust::Ours
    }

    /// True when the installation `id` sent it, and this shop made it.
    pub fn is_from(&self, id: &str) -> bool {
        self.is_trusted() && self.installation.as_ref().is_none_or(|i| i.id == id)
    }

    /// Who sent it, for lists that show copies of several installations.
    pub fn sender(&self) -> String {
        let claimed = self.installation.as_ref().map_or_else(
            || "an older Backroom (no installation id)".into(),
            Installation::label,
        );
        if self.is_trusted() {
            claimed
        } else {
            format!(
                "NOT MADE BY THIS SHOP ({}; it says: {claimed})",
                self.trust.reason()
            )
        }
    }

    pub fn manifest_name(copy: &str) -> String {
        format!("{copy}{MANIFEST_SUFFIX}")
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Reads a manifest; `None` for anything that is not a well-formed one. One that names
    /// another copy than its file (renamed) is kept under its file's name, marked as such.
    pub fn parse(bytes: &[u8], expected_copy: &str) -> Option<Manifest> {
        let mut manifest: Manifest = serde_json::from_slice(bytes).ok()?;
        if manifest.format != FORMAT {
            return None;
        }
        if manifest.copy != expected_copy {
            manifest.copy = expected_copy.to_string();
            manifest.trust = Trust::Renamed;
        }
        Some(manifest)
    }
}

/// Newest first, this shop's copies before any it did not make (so "the first one" is ours).
pub fn sort_newest_first(copies: &mut [Manifest]) {
    copies.sort_by_key(|m| std::cmp::Reverse((m.is_trusted(), m.newness())));
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
