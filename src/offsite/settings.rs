//! The off-site engine's side of the settings: opening a target's store, the S3 credentials in
//! `offsite-secrets.toml` (readable by the owner only and never shown back), and the target
//! form. The `[offsite]` table of `backroom.toml` itself is `config/offsite.rs`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::folder::FolderStore;
use super::s3::{S3Config, S3Store};
use super::store::{Store, StoreError};
pub use crate::config::offsite::{Keep, Location, OffsiteSettings, Target, check_name};
use crate::config::{OFFSITE_SECRETS_FILE, Paths, secrets};
use crate::fields::FieldErrors;

impl Target {
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
                    StoreError::settings(format!(
                        "the access key for {} is missing from {OFFSITE_SECRETS_FILE}",
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

pub use crate::config::secrets::SecretsError;

impl Secrets {
    pub fn load(paths: &Paths) -> Result<Secrets, SecretsError> {
        secrets::load(&paths.offsite_secrets(), "add the S3 target again")
    }

    pub fn save(&self, paths: &Paths) -> Result<(), SecretsError> {
        secrets::save(&paths.offsite_secrets(), "off-site credentials", self)
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
