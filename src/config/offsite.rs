//! The `[offsite]` table of `backroom.toml`: where off-site copies go and how long they are
//! kept (editable by hand, from the page or from the command line), and the checks of what
//! was typed. The settings file owns it; opening a target's store is the off-site engine's
//! (`offsite/settings.rs`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::fields::FieldErrors;

/// How long copies are kept on a target, restic-style: the newest `keep_last`, plus the
/// newest copy of each day for `keep_daily` days, of each week for `keep_weekly` weeks and of
/// each month for `keep_monthly` months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Keep {
    pub keep_last: u32,
    pub keep_daily: u32,
    pub keep_weekly: u32,
    pub keep_monthly: u32,
}

impl Default for Keep {
    fn default() -> Self {
        Keep {
            keep_last: 10,
            keep_daily: 14,
            keep_weekly: 8,
            keep_monthly: 12,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Location {
    /// A folder: a USB drive, a mapped network share, a synced Dropbox/OneDrive folder.
    Folder { path: PathBuf },
    /// An S3-compatible bucket. The credentials are in the secrets file.
    S3 {
        endpoint: String,
        #[serde(default)]
        region: String,
        bucket: String,
        #[serde(default)]
        prefix: String,
        #[serde(default)]
        path_style: bool,
        /// Plain `http://` allowed for this target (a store on the shop's own network). A
        /// target saved before this setting existed keeps working (absent means allowed);
        /// every target Backroom saves carries it, and the form and `offsite add` ask.
        #[serde(default = "allowed_when_absent")]
        allow_http: bool,
    },
}

fn allowed_when_absent() -> bool {
    true
}

/// One target as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub name: String,
    #[serde(flatten)]
    pub location: Location,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    #[serde(flatten)]
    pub keep: Keep,
}

fn enabled_by_default() -> bool {
    true
}

/// The `[offsite]` table of `backroom.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OffsiteSettings {
    /// The health line turns amber when the newest off-site copy is older than this.
    pub max_copy_age_hours: u32,
    /// How often the restore drill runs (0 = never).
    pub drill_every_days: u32,
    pub targets: Vec<Target>,
}

impl Default for OffsiteSettings {
    fn default() -> Self {
        OffsiteSettings {
            max_copy_age_hours: 24,
            drill_every_days: 7,
            targets: Vec::new(),
        }
    }
}

/// A target's name: short, plain, usable in file names and URLs.
pub fn check_name(name: &str) -> Result<(), String> {
    super::check_plain_name(name, "target", "usb-stick")
}

/// The prefix inside a bucket: plain path segments, no `..`.
fn check_prefix(prefix: &str) -> Result<(), String> {
    let trimmed = prefix.trim_matches('/');
    let ok = trimmed.split('/').all(|segment| {
        segment.is_empty()
            || (segment != ".."
                && segment != "."
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)))
    });
    if ok {
        Ok(())
    } else {
        Err("The prefix may hold letters, digits, - _ . and / only.".into())
    }
}

/// True when an endpoint carries `user:password@` before its host.
fn has_user_info(endpoint: &str) -> bool {
    let rest = endpoint.split_once("://").map_or(endpoint, |(_, r)| r);
    rest.split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .contains('@')
}

impl Target {
    /// Checks one target; `errors` gets a message per field.
    pub fn check(&self, errors: &mut FieldErrors) {
        if let Err(e) = check_name(&self.name) {
            errors.add("name", e);
        }
        match &self.location {
            Location::Folder { path } => {
                if path.as_os_str().is_empty() {
                    errors.add("path", "Enter the folder for the copies.");
                } else if !path.is_absolute() {
                    errors.add(
                        "path",
                        "Enter the whole path of the folder, e.g. E:\\Backroom or /media/usb/backroom.",
                    );
                }
            }
            Location::S3 {
                endpoint,
                bucket,
                prefix,
                allow_http,
                ..
            } => {
                if endpoint.starts_with("http://") && !allow_http {
                    errors.add(
                        "endpoint",
                        "Plain http:// is not encrypted on the way. Use https://, or tick \"This store is on my own network\" if it is (a store on this computer or in the shop).",
                    );
                } else if !endpoint.starts_with("https://") && !endpoint.starts_with("http://") {
                    errors.add(
                        "endpoint",
                        "The endpoint is an address starting with https://, e.g. https://s3.eu-central-1.amazonaws.com.",
                    );
                } else if has_user_info(endpoint) {
                    // A name and password inside the address would be shown and logged with it.
                    errors.add(
                        "endpoint",
                        "Leave the name and password out of the endpoint address: enter them as the access key below.",
                    );
                }
                if bucket.trim().is_empty() || bucket.contains('/') {
                    errors.add("bucket", "Enter the bucket's name (no slashes).");
                }
                if let Err(e) = check_prefix(prefix) {
                    errors.add("prefix", e);
                }
            }
        }
    }

    /// "folder E:\Backroom" / "bucket shop at https://…" (never a secret).
    pub fn describe(&self) -> String {
        match &self.location {
            Location::Folder { path } => format!("folder {}", path.display()),
            Location::S3 {
                endpoint,
                bucket,
                prefix,
                ..
            } => {
                let prefix = prefix.trim_matches('/');
                if prefix.is_empty() {
                    format!("bucket {bucket} at {endpoint}")
                } else {
                    format!("bucket {bucket} (under {prefix}/) at {endpoint}")
                }
            }
        }
    }

    pub fn kind_label(&self) -> &'static str {
        match self.location {
            Location::Folder { .. } => "folder",
            Location::S3 { .. } => "S3",
        }
    }
}

impl OffsiteSettings {
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::default();
        for (i, target) in self.targets.iter().enumerate() {
            target.check(&mut errors);
            if self.targets[..i].iter().any(|t| t.name == target.name) {
                errors.add(
                    "name",
                    format!("There is already a target named {}.", target.name),
                );
            }
        }
        if self.max_copy_age_hours == 0 || self.max_copy_age_hours > 24 * 30 {
            errors.add(
                "max_copy_age_hours",
                "The age after which an off-site copy counts as old must be 1 to 720 hours.",
            );
        }
        if self.drill_every_days > 365 {
            errors.add(
                "drill_every_days",
                "A drill at least once a year (0 = never).",
            );
        }
        errors.into_result(())
    }

    pub fn target(&self, name: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.name == name)
    }
}
