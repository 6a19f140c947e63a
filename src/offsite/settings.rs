//! Where off-site copies go and how long they are kept: the `[offsite]` part of
//! `backroom.toml` (editable by hand, from the page or from the command line), and the S3
//! credentials in `offsite-secrets.toml` beside it, readable by the owner only and never
//! shown back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::folder::FolderStore;
use super::s3::{S3Config, S3Store};
use super::store::{Store, StoreError};
use crate::fields::FieldErrors;

pub const SECRETS_FILE: &str = "offsite-secrets.toml";

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
    let ok = !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "“{name}”: a target name has 1 to 32 lower-case letters, digits, - or _ (e.g. usb-stick)."
        ))
    }
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

    /// The store behind the target.
    pub fn open(&self, secrets: &Secrets) -> Result<Box<dyn Store>, StoreError> {
        match &self.location {
            Location::Folder { path } => Ok(Box::new(FolderStore::new(path))),
            Location::S3 {
                endpoint,
                region,
                bucket,
                prefix,
                path_style,
                allow_http,
            } => {
                let credentials = secrets.s3.get(&self.name).ok_or_else(|| {
                    StoreError::Settings(format!(
                        "the access key for {} is missing from {SECRETS_FILE}",
                        self.name
                    ))
                })?;
                Ok(Box::new(S3Store::new(S3Config {
                    endpoint: endpoint.clone(),
                    region: region.clone(),
                    bucket: bucket.clone(),
                    prefix: prefix.clone(),
                    path_style: *path_style,
                    allow_http: *allow_http,
                    access_key_id: credentials.access_key_id.clone(),
                    secret_access_key: credentials.secret_access_key.clone(),
                })?))
            }
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

/// The access key of one S3 target.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Credentials").finish_non_exhaustive()
    }
}

/// `offsite-secrets.toml`: owner-only, never shown on a page, in a log or an error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Secrets {
    pub s3: BTreeMap<String, S3Credentials>,
}

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid (fix or remove it, then add the S3 target again): {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("cannot save the off-site secrets: {0}")]
    Write(#[source] std::io::Error),
}

impl Secrets {
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(SECRETS_FILE)
    }

    pub fn load(data_dir: &Path) -> Result<Secrets, SecretsError> {
        let path = Secrets::path(data_dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Secrets::default()),
            Err(source) => return Err(SecretsError::Read { path, source }),
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        toml::from_str(text).map_err(|source| SecretsError::Parse { path, source })
    }

    pub fn save(&self, data_dir: &Path) -> Result<(), SecretsError> {
        let body =
            toml::to_string(self).map_err(|e| SecretsError::Write(std::io::Error::other(e)))?;
        let text = format!(
            "# Backroom off-site credentials. Keep this file private: it is readable by its owner only.\n{body}"
        );
        crate::fsutil::write_atomic_private(&Secrets::path(data_dir), text.as_bytes())
            .map_err(SecretsError::Write)
    }
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;

/// A target as typed into the page's setup form (or given on the command line).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TargetForm {
    pub name: String,
    /// `folder` or `s3`.
    pub kind: String,
    pub path: String,
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub prefix: String,
    /// A checkbox: present means path-style addressing.
    pub path_style: Option<String>,
    /// A checkbox: present allows plain `http://` (a store on the shop's own network).
    pub allow_http: Option<String>,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// A pasted emergency kit or key, to continue with an existing key.
    pub kit: String,
    /// A checkbox (`true`): make the folder when it does not exist.
    pub create_folder: bool,
}

impl TargetForm {
    /// The target and its credentials, or the fields to correct. The form keeps what was
    /// typed except the secret, which is never shown back.
    pub fn parse(&self) -> Result<(Target, Option<S3Credentials>), FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = self.name.trim().to_string();
        let location = match self.kind.as_str() {
            "folder" => Location::Folder {
                path: PathBuf::from(self.path.trim()),
            },
            "s3" => Location::S3 {
                endpoint: self.endpoint.trim().trim_end_matches('/').to_string(),
                region: self.region.trim().to_string(),
                bucket: self.bucket.trim().to_string(),
                prefix: self.prefix.trim().trim_matches('/').to_string(),
                path_style: self.path_style.is_some(),
                allow_http: self.allow_http.is_some(),
            },
            _ => {
                errors.add("kind", "Choose a folder or S3-compatible storage.");
                Location::Folder {
                    path: PathBuf::new(),
                }
            }
        };
        let credentials = matches!(location, Location::S3 { .. }).then(|| S3Credentials {
            access_key_id: self.access_key_id.trim().to_string(),
            secret_access_key: self.secret_access_key.trim().to_string(),
        });
        if let Some(c) = &credentials {
            if c.access_key_id.is_empty() {
                errors.add("access_key_id", "Enter the access key id.");
            }
            if c.secret_access_key.is_empty() {
                errors.add("secret_access_key", "Enter the secret access key.");
            }
        }
        let target = Target {
            name,
            location,
            enabled: true,
            keep: Keep::default(),
        };
        target.check(&mut errors);
        errors.into_result((target, credentials))
    }
}
