//! What was told and when, in `alerts-state.json` beside the data (never in the business
//! database, so a restore never winds it back and nobody is told the same thing twice):
//! the problems open now, messages still to deliver, and how delivery to each channel went.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::event::{Event, Severity};

/// A problem that was told and is not over yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Open {
    pub event: String,
    pub severity: Severity,
    pub title: String,
    pub message: String,
    pub over: String,
    pub since: DateTime<Utc>,
    pub last_told: DateTime<Utc>,
    /// The problem's counter when it started, and its unit.
    #[serde(default)]
    pub counter: Option<(u64, String)>,
}

/// A message waiting for some channels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub event: Event,
    /// The channels it has not reached yet.
    pub channels: Vec<String>,
    pub attempts: u32,
    /// When it was queued and when to try next (real time: retries wait in real time).
    pub queued: DateTime<Utc>,
    pub next_try: DateTime<Utc>,
    /// A heartbeat ping (`true` good, `false` the `/fail` one) rather than a message.
    #[serde(default)]
    pub ping: Option<bool>,
}

/// How the last delivery to a channel went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub ok: bool,
    pub at: DateTime<Utc>,
    /// Why it failed (never a secret: addresses are left out of errors).
    #[serde(default)]
    pub error: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlertState {
    pub open: BTreeMap<String, Open>,
    pub outbox: Vec<Pending>,
    pub delivery: BTreeMap<String, Delivery>,
    /// The place (`order`) of the newest safety copy already told about as a restore.
    pub restores_seen: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot save the alerts status file: {}", crate::fsutil::plain_io(.0))]
    Write(#[source] std::io::Error),
}

impl AlertState {
    pub fn path(data_dir: &Path) -> PathBuf {
        crate::config::Paths::new(data_dir).alerts_state()
    }

    /// The state on disk; a missing or unreadable file is a fresh start.
    pub fn load(data_dir: &Path) -> AlertState {
        std::fs::read(AlertState::path(data_dir))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    pub fn save(&self, data_dir: &Path) -> Result<(), StateError> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| StateError::Write(e.into()))?;
        crate::fsutil::write_atomic(&AlertState::path(data_dir), &json).map_err(StateError::Write)
    }

    /// Channels whose last delivery failed, with why.
    pub fn failing(&self) -> Vec<(String, Delivery)> {
        self.delivery
            .iter()
            .filter(|(_, d)| !d.ok)
            .map(|(n, d)| (n.clone(), d.clone()))
            .collect()
    }
}
