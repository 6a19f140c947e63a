//! The `[alerts]` table of `backroom.toml`: the channels alerts go to, without their secrets
//! (those are in `alerts-secrets.toml`, the alerts engine's: `alerts/settings.rs`), and how
//! long an off-site target may fail before anyone is told.

use serde::{Deserialize, Serialize};

use crate::fields::FieldErrors;

/// How an SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Tls {
    /// TLS from the first byte (usually port 465).
    Tls,
    /// Plain at first, then STARTTLS (usually port 587).
    #[default]
    Starttls,
    /// No encryption: only for a relay on this computer or the shop's own network.
    None,
}

impl Tls {
    pub fn parse(text: &str) -> Option<Tls> {
        match text.trim() {
            "tls" => Some(Tls::Tls),
            "starttls" | "" => Some(Tls::Starttls),
            "none" => Some(Tls::None),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Tls::Tls => "tls",
            Tls::Starttls => "starttls",
            Tls::None => "none",
        }
    }
}

/// What kind of channel, and its settings that are not secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ChannelKind {
    /// E-mail through an SMTP server; the password (if any) is in the secrets file.
    Email(EmailChannel),
    /// A JSON POST to an address kept in the secrets file; `site` is its host, for lists.
    Webhook { site: String },
    /// A GET after each good backup and off-site round, `/fail` after a failure.
    Heartbeat { site: String },
}

/// An e-mail channel's settings (its fields stand in the channel's table, beside `kind`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailChannel {
    pub to: String,
    /// The sender's address (default: `to`).
    #[serde(default)]
    pub from: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    #[serde(default)]
    pub tls: Tls,
    #[serde(default)]
    pub user: String,
}

/// One channel as configured (`[[alerts.channels]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    pub name: String,
    #[serde(flatten)]
    pub kind: ChannelKind,
}

impl Channel {
    pub fn kind_label(&self) -> &'static str {
        match self.kind {
            ChannelKind::Email(_) => "e-mail",
            ChannelKind::Webhook { .. } => "webhook",
            ChannelKind::Heartbeat { .. } => "heartbeat",
        }
    }

    /// "e-mail to owner@example.com through mail.example.com:587 (starttls)" (never a secret).
    pub fn describe(&self) -> String {
        match &self.kind {
            ChannelKind::Email(mail) => format!(
                "e-mail to {} through {}:{} ({})",
                mail.to,
                mail.smtp_host,
                mail.smtp_port,
                mail.tls.as_str()
            ),
            ChannelKind::Webhook { site } => format!("webhook to {site}"),
            ChannelKind::Heartbeat { site } => format!("heartbeat to {site}"),
        }
    }

    pub fn is_heartbeat(&self) -> bool {
        matches!(self.kind, ChannelKind::Heartbeat { .. })
    }
}

/// The `[alerts]` table of `backroom.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlertSettings {
    /// An off-site target failing for longer than this is told (a short outage is not).
    pub after_minutes: u32,
    pub channels: Vec<Channel>,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            after_minutes: 60,
            channels: Vec::new(),
        }
    }
}

/// A channel's name: short and plain (it is typed on the command line and shown in lists).
pub fn check_name(name: &str) -> Result<(), String> {
    super::check_plain_name(name, "channel", "owner-mail")
}

pub fn looks_like_address(text: &str) -> bool {
    text.parse::<lettre::Address>().is_ok()
}

impl AlertSettings {
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::default();
        for (i, channel) in self.channels.iter().enumerate() {
            if let Err(e) = check_name(&channel.name) {
                errors.add("name", e);
            }
            if self.channels[..i].iter().any(|c| c.name == channel.name) {
                errors.add(
                    "name",
                    format!("There is already an alert channel named {}.", channel.name),
                );
            }
            if let ChannelKind::Email(mail) = &channel.kind {
                if !looks_like_address(&mail.to)
                    || (!mail.from.is_empty() && !looks_like_address(&mail.from))
                {
                    errors.add("to", "Enter an e-mail address such as owner@example.com.");
                }
                if mail.smtp_host.trim().is_empty() {
                    errors.add("smtp", "Enter the mail server as HOST:PORT.");
                }
            }
        }
        if self.after_minutes > 7 * 24 * 60 {
            errors.add(
                "after_minutes",
                "Tell about a failing target after at most a week (after_minutes up to 10080).",
            );
        }
        errors.into_result(())
    }

    pub fn channel(&self, name: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.name == name)
    }
}
