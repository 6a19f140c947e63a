//! The alerts engine's side of the settings: `alerts-secrets.toml` (SMTP passwords, webhook
//! and heartbeat addresses, which often carry a token), readable by the owner only and never
//! shown back, and the channel form. The `[alerts]` table itself is `config/alerts.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::config::alerts::{
    AlertSettings, Channel, ChannelKind, EmailChannel, Tls, check_name, looks_like_address,
};
use crate::config::{Paths, secrets};
use crate::fields::FieldErrors;

/// The secret part of one channel.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelSecret {
    /// The SMTP password.
    pub password: String,
    /// The webhook or heartbeat address.
    pub url: String,
}

impl std::fmt::Debug for ChannelSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelSecret").finish_non_exhaustive()
    }
}

/// `alerts-secrets.toml`: owner-only, never shown on a page, in a log or an error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Secrets {
    pub channels: BTreeMap<String, ChannelSecret>,
}

pub use crate::config::secrets::SecretsError;

impl Secrets {
    pub fn path(data_dir: &Path) -> PathBuf {
        Paths::new(data_dir).alerts_secrets()
    }

    pub fn load(data_dir: &Path) -> Result<Secrets, SecretsError> {
        secrets::load(&Secrets::path(data_dir), "add the alert channels again")
    }

    pub fn save(&self, data_dir: &Path) -> Result<(), SecretsError> {
        secrets::save(&Secrets::path(data_dir), "alert secrets", self)
    }
}

/// A channel as typed on the page or given on the command line.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ChannelForm {
    pub name: String,
    /// `email`, `webhook` or `heartbeat`.
    pub kind: String,
    pub to: String,
    pub from: String,
    /// `HOST:PORT`.
    pub smtp: String,
    pub tls: String,
    pub user: String,
    pub password: String,
    pub url: String,
}

/// The host of an `http(s)://` address, or why it is not one. The address itself may carry a
/// token, so only the host is ever shown.
fn site_of(url: &str) -> Result<String, &'static str> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|_| "Enter the whole address, starting with https:// (or http://).")?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("The address starts with https:// (or http:// on your own network).");
    }
    parsed
        .host_str()
        .map(str::to_string)
        .ok_or("The address has no host name.")
}

/// `HOST:PORT` of a mail server (IPv6 as `[::1]:25`).
fn split_host_port(text: &str) -> Option<(String, u16)> {
    let (host, port) = text.trim().rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = port.parse::<u16>().ok().filter(|p| *p > 0)?;
    (!host.is_empty()).then(|| (host.to_string(), port))
}

impl ChannelForm {
    /// The channel and its secret, or the fields to correct.
    pub fn parse(&self) -> Result<(Channel, ChannelSecret), FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = self.name.trim().to_string();
        if let Err(e) = check_name(&name) {
            errors.add("name", e);
        }
        let mut secret = ChannelSecret::default();
        let kind = match self.kind.as_str() {
            "email" => {
                let (smtp_host, smtp_port) = split_host_port(&self.smtp).unwrap_or_else(|| {
                    errors.add(
                        "smtp",
                        "Enter the mail server as HOST:PORT, e.g. smtp.example.com:587.",
                    );
                    (String::new(), 0)
                });
                let tls = Tls::parse(&self.tls).unwrap_or_else(|| {
                    errors.add("tls", "Choose tls, starttls or none.");
                    Tls::default()
                });
                let to = self.to.trim().to_string();
                if !looks_like_address(&to) {
                    errors.add("to", "Enter an e-mail address such as owner@example.com.");
                }
                let from = self.from.trim().to_string();
                if !from.is_empty() && !looks_like_address(&from) {
                    errors.add("from", "Enter the sender as an e-mail address.");
                }
                let user = self.user.trim().to_string();
                if !user.is_empty() && self.password.is_empty() {
                    errors.add(
                        "password",
                        "Enter the mail server's password for this user.",
                    );
                }
                secret.password = self.password.clone();
                ChannelKind::Email(EmailChannel {
                    to,
                    from,
                    smtp_host,
                    smtp_port,
                    tls,
                    user,
                })
            }
            "webhook" | "heartbeat" => {
                let url = self.url.trim().to_string();
                let site = site_of(&url).unwrap_or_else(|e| {
                    errors.add("url", e);
                    String::new()
                });
                secret.url = url;
                if self.kind == "webhook" {
                    ChannelKind::Webhook { site }
                } else {
                    ChannelKind::Heartbeat { site }
                }
            }
            _ => {
                errors.add("kind", "Choose e-mail, webhook or heartbeat.");
                ChannelKind::Webhook {
                    site: String::new(),
                }
            }
        };
        errors.into_result((Channel { name, kind }, secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_becomes_a_channel_and_a_secret_apart() {
        let form = ChannelForm {
            name: "owner".into(),
            kind: "email".into(),
            to: "owner@example.com".into(),
            smtp: "mail.example.com:587".into(),
            user: "shop".into(),
            password: "hunter2-secret".into(),
            ..ChannelForm::default()
        };
        let (channel, secret) = form.parse().unwrap();
        assert_eq!(secret.password, "hunter2-secret");
        let shown = format!("{channel:?} {} {secret:?}", channel.describe());
        assert!(!shown.contains("hunter2"), "{shown}");
        let hook = ChannelForm {
            name: "phone".into(),
            kind: "webhook".into(),
            url: "https://ntfy.sh/secret-topic-123".into(),
            ..ChannelForm::default()
        };
        let (channel, secret) = hook.parse().unwrap();
        assert_eq!(channel.describe(), "webhook to ntfy.sh");
        assert!(secret.url.ends_with("secret-topic-123"));
        let settings = AlertSettings {
            channels: vec![channel],
            ..AlertSettings::default()
        };
        let toml = toml::to_string(&settings).unwrap();
        assert!(!toml.contains("secret-topic"), "{toml}");
    }

    #[test]
    fn bad_forms_name_their_fields() {
        let form = ChannelForm {
            name: "Bad Name".into(),
            kind: "email".into(),
            to: "nobody".into(),
            smtp: "mail.example.com".into(),
            tls: "ssl".into(),
            ..ChannelForm::default()
        };
        let errors = form.parse().unwrap_err();
        for field in ["name", "to", "smtp", "tls"] {
            assert!(errors.has(field), "{field}: {}", errors.joined());
        }
        let hook = ChannelForm {
            name: "x".into(),
            kind: "heartbeat".into(),
            url: "ftp://example.com/".into(),
            ..ChannelForm::default()
        };
        assert!(hook.parse().unwrap_err().has("url"));
        assert_eq!(
            split_host_port("[::1]:2525"),
            Some(("::1".to_string(), 2525))
        );
    }
}
