//! What an alert says: an event (a problem that started, is still there, or is over; a
//! restore; a test), in words for a shop owner, and the JSON a webhook receives.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How bad it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something to know (a restore was done, a test).
    Info,
    /// Something to act on.
    Warning,
    /// The data is at risk until someone acts.
    Critical,
    /// A problem is over.
    Resolved,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
            Severity::Resolved => "resolved",
        }
    }
}

/// One thing to tell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// What happened, for machines: `backup-failed`, `target-failing`, `…-over`, `test`.
    pub event: String,
    pub severity: Severity,
    pub title: String,
    pub message: String,
    pub at: DateTime<Utc>,
}

impl Event {
    pub fn test(at: DateTime<Utc>) -> Event {
        Event {
            event: "test".into(),
            severity: Severity::Info,
            title: "Backroom test message".into(),
            message: "This is a test from Backroom: alerts reach you here. Nothing is wrong."
                .into(),
            at,
        }
    }
}

/// Who sends: shown in every message, so two shops' alerts are told apart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sender {
    pub shop: String,
    pub computer: String,
}

impl Sender {
    /// "Corner Shop on TILL-1", or the computer alone.
    pub fn label(&self) -> String {
        match (self.shop.is_empty(), self.computer.is_empty()) {
            (false, false) => format!("{} on {}", self.shop, self.computer),
            (false, true) => self.shop.clone(),
            (true, false) => self.computer.clone(),
            (true, true) => "Backroom".into(),
        }
    }
}

/// The webhook's body: `{event, severity, title, message, shop, computer, at}`, plus `text`
/// (title and message in one line) for Slack-style receivers.
#[derive(Debug, Serialize)]
pub struct WebhookBody<'a> {
    pub event: &'a str,
    pub severity: &'static str,
    pub title: &'a str,
    pub message: &'a str,
    pub shop: &'a str,
    pub computer: &'a str,
    pub at: DateTime<Utc>,
    pub text: String,
}

impl<'a> WebhookBody<'a> {
    pub fn new(event: &'a Event, sender: &'a Sender) -> WebhookBody<'a> {
        WebhookBody {
            event: &event.event,
            severity: event.severity.as_str(),
            title: &event.title,
            message: &event.message,
            shop: &sender.shop,
            computer: &sender.computer,
            at: event.at,
            text: format!("{}: {}", event.title, event.message),
        }
    }
}

/// A problem as it stands now (the watch tells it once, daily while it lasts, and when over).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Stable while the problem lasts: `target-failing:usb`.
    pub key: String,
    /// The event name (`target-failing`); `…-over` when it ends.
    pub event: &'static str,
    pub severity: Severity,
    pub title: String,
    pub message: String,
    /// What to say when it is over ("usb works again").
    pub over: String,
    /// A count that grows while things work again (copies sent), with its unit: the message
    /// at the end says how many caught up.
    pub counter: Option<(u64, &'static str)>,
}
