//! Backup file names: the only names the catalog accepts, how they are made, and how a
//! person's description becomes a safe part of one.
//!
//! A name is accepted only if it parses exactly and prints back to itself, so no user input
//! can ever become a path outside `database_backups/`.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupKind {
    Startup,
    Automatic,
    Manual,
    PreRestore,
    /// A copy of a broken live database kept by `backroom restore`; not counted in the cap.
    Broken,
    /// A backup file brought in from elsewhere (an upload, a file given to the command line,
    /// a copy fetched from an off-site target); counted in the cap like a manual backup.
    Uploaded,
}

impl BackupKind {
    /// The word a person sees.
    pub fn label(self) -> &'static str {
        match self {
            BackupKind::Startup => "startup",
            BackupKind::Automatic => "automatic",
            BackupKind::Manual => "manual",
            BackupKind::PreRestore => "safety",
            BackupKind::Broken => "broken copy",
            BackupKind::Uploaded => "uploaded",
        }
    }

    /// Startup, automatic and manual backups: the ones "the latest good backup" may mean
    /// (not safety copies made by restores, which would just undo the last restore).
    pub fn is_regular(self) -> bool {
        matches!(
            self,
            BackupKind::Startup | BackupKind::Automatic | BackupKind::Manual
        )
    }

    /// The backups counted in `max_backups`: the history of the shop's own states.
    pub fn counts_toward_cap(self) -> bool {
        self.is_regular()
    }

    /// Safety copies made by restores and undos, and files brought in: kept apart from the
    /// history, the newest [`EXTRA_ALLOWANCE`] of them, so restoring never pushes out a day.
    pub fn counts_as_extra(self) -> bool {
        matches!(self, BackupKind::PreRestore | BackupKind::Uploaded)
    }

    /// Manual and uploaded backups carry a description (or the original file name) in theirs,
    /// and so may a safety copy ("before bring back").
    fn has_slug(self) -> bool {
        matches!(
            self,
            BackupKind::Manual | BackupKind::Uploaded | BackupKind::PreRestore
        )
    }

    fn prefix(self) -> &'static str {
        match self {
            BackupKind::Startup => "startup_",
            BackupKind::Automatic => "backup_",
            BackupKind::Manual => "manual_",
            BackupKind::PreRestore => "pre_restore_",
            BackupKind::Broken => "broken_",
            BackupKind::Uploaded => "uploaded_",
        }
    }
}

/// The startup backup of the current start. At the next start it joins the dated history as
/// `startup_YYYYMMDD_HHMMSS.db` (see `create.rs`).
pub const STARTUP_NAME: &str = "startup_backup.db";
/// How many safety copies and brought-in files are kept besides `max_backups`.
pub const EXTRA_ALLOWANCE: usize = 5;
pub const MAX_SLUG_LEN: usize = 40;
const STAMP_FORMAT: &str = "%Y%m%d_%H%M%S";

/// A parsed backup file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupName {
    pub kind: BackupKind,
    /// Local time in the name (none for the startup backup).
    pub stamp: Option<NaiveDateTime>,
    /// 1 for the first backup of that second, 2.. for the ones after it.
    pub seq: u32,
    pub slug: String,
}

impl BackupName {
    pub fn new(kind: BackupKind, stamp: NaiveDateTime, seq: u32, slug: &str) -> BackupName {
        let slug = if kind.has_slug() {
            sanitize_description(slug)
        } else {
            String::new()
        };
        BackupName {
            kind,
            stamp: (kind != BackupKind::Startup).then_some(stamp),
            seq: seq.max(1),
            slug,
        }
    }

    /// The dated name an earlier startup backup keeps in the history.
    pub fn dated_startup(stamp: NaiveDateTime, seq: u32) -> BackupName {
        BackupName {
            kind: BackupKind::Startup,
            stamp: Some(stamp),
            seq: seq.max(1),
            slug: String::new(),
        }
    }

    /// `startup_backup.db` itself: the one backup that is replaced at every start.
    pub fn is_current_startup(&self) -> bool {
        self.kind == BackupKind::Startup && self.stamp.is_none()
    }

    pub fn file_name(&self) -> String {
        let Some(stamp) = self.stamp else {
            return STARTUP_NAME.to_string();
        };
        let mut name = format!("{}{}", self.kind.prefix(), stamp.format(STAMP_FORMAT));
        if self.seq > 1 {
            name.push_str(&format!("-{}", self.seq));
        }
        if !self.slug.is_empty() {
            name.push('_');
            name.push_str(&self.slug);
        }
        name.push_str(".db");
        name
    }

    /// Parses a file name; `None` for anything that is not exactly a backup name.
    pub fn parse(name: &str) -> Option<BackupName> {
        if name == STARTUP_NAME {
            return Some(BackupName {
                kind: BackupKind::Startup,
                stamp: None,
                seq: 1,
                slug: String::new(),
            });
        }
        let stem = name.strip_suffix(".db")?;
        if !stem
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        {
            return None;
        }
        // Longest prefix first: "backup_" must not swallow "pre_restore_".
        let kinds = [
            BackupKind::PreRestore,
            BackupKind::Broken,
            BackupKind::Automatic,
            BackupKind::Manual,
            BackupKind::Uploaded,
            BackupKind::Startup,
        ];
        let (kind, rest) = kinds
            .iter()
            .find_map(|k| stem.strip_prefix(k.prefix()).map(|rest| (*k, rest)))?;
        let stamp_text = rest.get(..15)?;
        let stamp = parse_stamp(stamp_text)?;
        let mut rest = &rest[15..];
        let mut seq = 1;
        if let Some(after_dash) = rest.strip_prefix('-') {
            let digits = after_dash
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(after_dash.len());
            let text = &after_dash[..digits];
            if text.is_empty() || text.starts_with('0') || text.len() > 6 {
                return None;
            }
            seq = text.parse().ok()?;
            if seq < 2 {
                return None;
            }
            rest = &after_dash[digits..];
        }
        let mut slug = String::new();
        if !rest.is_empty() {
            let text = rest.strip_prefix('_')?;
            if !kind.has_slug() || sanitize_description(text) != text || text.is_empty() {
                return None;
            }
            slug = text.to_string();
        }
        let parsed = BackupName {
            kind,
            stamp: Some(stamp),
            seq,
            slug,
        };
        (parsed.file_name() == name).then_some(parsed)
    }
}

fn parse_stamp(text: &str) -> Option<NaiveDateTime> {
    let bytes = text.as_bytes();
    if bytes.len() != 15 || bytes[8] != b'_' {
        return None;
    }
    let digits_ok = bytes[..8].iter().chain(&bytes[9..]).all(u8::is_ascii_digit);
    if !digits_ok {
        return None;
    }
    let num = |range: std::ops::Range<usize>| text.get(range)?.parse::<u32>().ok();
    let date = NaiveDate::from_ymd_opt(i32::try_from(num(0..4)?).ok()?, num(4..6)?, num(6..8)?)?;
    let time = NaiveTime::from_hms_opt(num(9..11)?, num(11..13)?, num(13..15)?)?;
    Some(NaiveDateTime::new(date, time))
}

/// Turns free text into a file-name part: lower-case ASCII letters, digits and `_`, at most
/// 40 characters, no leading/trailing/double `_`. Letters with accents lose them
/// ("Café" → "cafe"); everything else becomes a separator. May return an empty string.
pub fn sanitize_description(text: &str) -> String {
    let mut out = String::new();
    let mut pending_sep = false;
    for ch in text.chars() {
        let mapped = fold_char(ch);
        match mapped {
            Some(c) => {
                if pending_sep && !out.is_empty() {
                    out.push('_');
                }
                pending_sep = false;
                out.push(c);
            }
            None => pending_sep = true,
        }
        if out.len() >= MAX_SLUG_LEN {
            break;
        }
    }
    out.truncate(MAX_SLUG_LEN);
    while out.ends_with('_') {
        out.pop();
    }
    out
}

fn fold_char(ch: char) -> Option<char> {
    if ch.is_ascii_alphanumeric() {
        return Some(ch.to_ascii_lowercase());
    }
    let folded = match ch {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'a',
        'ç' | 'Ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'i',
        'ñ' | 'Ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'u',
        'ý' | 'ÿ' | 'Ý' => 'y',
        'ß' => 's',
        _ => return None,
    };
    Some(folded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn each_kind_has_its_name() {
        let t = at("2025-09-22 14:30:00");
        assert_eq!(
            BackupName::new(BackupKind::Startup, t, 1, "").file_name(),
            "startup_backup.db"
        );
        assert_eq!(
            BackupName::new(BackupKind::Automatic, t, 1, "").file_name(),
            "backup_20250922_143000.db"
        );
        assert_eq!(
            BackupName::new(BackupKind::Manual, t, 1, "Before the Update!").file_name(),
            "manual_20250922_143000_before_the_update.db"
        );
        assert_eq!(
            BackupName::new(BackupKind::Manual, t, 1, "").file_name(),
            "manual_20250922_143000.db"
        );
        assert_eq!(
            BackupName::new(BackupKind::PreRestore, t, 1, "").file_name(),
            "pre_restore_20250922_143000.db"
        );
        assert_eq!(
            BackupName::new(BackupKind::Broken, t, 3, "").file_name(),
            "broken_20250922_143000-3.db"
        );
    }

    #[test]
    fn names_round_trip() {
        for name in [
            "startup_backup.db",
            "backup_20250922_143000.db",
            "backup_20250922_143000-2.db",
            "manual_20250922_143000_x.db",
            "manual_20250922_143000-12_before_update.db",
            "pre_restore_20250101_000000.db",
            "pre_restore_20250101_000000_before_bring_back.db",
            "broken_20250101_000000.db",
            "startup_20250101_090000.db",
            "startup_20250101_090000-2.db",
        ] {
            let parsed = BackupName::parse(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(parsed.file_name(), name);
        }
    }

    #[test]
    fn hostile_or_foreign_names_are_rejected() {
        for name in [
            "",
            "..",
            "../business_data.db",
            "../../etc/passwd",
            "/etc/passwd",
            "backup.log",
            "RECOVERY.txt",
            "backup_20250922_143000.db.json",
            ".tmp-abc.db",
            "business_data.db",
            "backup_20251322_143000.db",
            "backup_20250922_143000-1.db",
            "backup_20250922_143000-02.db",
            "backup_20250922_143000_desc.db",
            "manual_20250922_143000_.db",
            "manual_20250922_143000_Upper.db",
            "manual_20250922_143000_a__b.db",
            "backup_20250922_143000.DB",
            "backup_20250922_143000.db\0",
            "backup_2025092_1430000.db",
            "manual_20250922_143000_..%2f.db",
            "startup_backup_20250101_090000.db",
            "startup_20250101_090000_x.db",
            "startup_.db",
        ] {
            assert!(BackupName::parse(name).is_none(), "accepted {name:?}");
        }
    }

    #[test]
    fn descriptions_are_sanitised() {
        assert_eq!(sanitize_description("../../x"), "x");
        assert_eq!(sanitize_description("  \"quoted\" 'text' "), "quoted_text");
        assert_eq!(sanitize_description("Café Crème"), "cafe_creme");
        assert_eq!(sanitize_description("日本語"), "");
        assert_eq!(sanitize_description(""), "");
        assert_eq!(
            sanitize_description("a/b\\c:d*e?f\"g<h>i|j"),
            "a_b_c_d_e_f_g_h_i_j"
        );
        assert_eq!(sanitize_description(&"long ".repeat(30)).len(), 39);
        assert!(sanitize_description(&"x".repeat(100)).len() <= MAX_SLUG_LEN);
        assert_eq!(
            sanitize_description("<script>alert(1)</script>"),
            "script_alert_1_script"
        );
    }
}

#[cfg(test)]
mod properties {
    use std::path::{Component, Path};

    use proptest::prelude::*;

    use super::*;

    fn stays_inside(name: &str) -> bool {
        let dir = Path::new("/data/database_backups");
        let joined = dir.join(name);
        joined.parent() == Some(dir)
            && Path::new(name).components().count() == 1
            && matches!(
                Path::new(name).components().next(),
                Some(Component::Normal(_))
            )
    }

    proptest! {
        #[test]
        fn sanitised_descriptions_are_plain_file_name_parts(text in any::<String>()) {
            let slug = sanitize_description(&text);
            prop_assert!(slug.len() <= MAX_SLUG_LEN);
            prop_assert!(slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
            prop_assert!(!slug.starts_with('_') && !slug.ends_with('_') && !slug.contains("__"));
        }

        #[test]
        fn made_names_stay_in_the_folder_and_parse_back(
            text in any::<String>(),
            seq in 1u32..1000,
            secs in 0i64..4_000_000_000,
        ) {
            let stamp = chrono::DateTime::from_timestamp(secs, 0).unwrap().naive_utc();
            for kind in [BackupKind::Startup, BackupKind::Automatic, BackupKind::Manual, BackupKind::PreRestore, BackupKind::Broken] {
                let name = BackupName::new(kind, stamp, seq, &text);
                let file = name.file_name();
                prop_assert!(stays_inside(&file), "{}", file);
                prop_assert_eq!(BackupName::parse(&file).map(|n| n.file_name()), Some(file.clone()));
            }
        }

        #[test]
        fn any_accepted_name_is_a_plain_name_in_the_folder(text in any::<String>()) {
            if let Some(parsed) = BackupName::parse(&text) {
                prop_assert_eq!(parsed.file_name(), text.clone());
                prop_assert!(stays_inside(&text));
                prop_assert!(!text.starts_with('.'));
                prop_assert!(text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.".contains(&b)));
            }
        }

        #[test]
        fn path_like_inputs_are_never_accepted(prefix in "(\\.\\./|/|\\\\|%2e%2e%2f|\\./)", rest in "[a-z0-9_./]{0,40}") {
            let input = format!("{prefix}{rest}");
            prop_assert!(BackupName::parse(&input).is_none());
        }
    }
}
