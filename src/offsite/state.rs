//! What happened with each target, in `offsite-state.json` beside the data (never in the
//! business database, so a restore never winds it back): last copy, failures and when to try
//! again, bytes sent, drills, uploads in flight (to abort after a crash), and whether the
//! emergency kit was saved.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Paths;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drill {
    pub at: DateTime<Utc>,
    pub ok: bool,
    pub copy: String,
    pub message: String,
    pub duration_ms: u64,
}

/// A multipart upload that had begun; aborted on the next start if it is still here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlight {
    pub object: String,
    pub upload_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TargetState {
    /// What the status page and API show (kept at the top level of the file).
    #[serde(flatten)]
    pub progress: Progress,
    /// Failures in a row, for the growing wait.
    pub failures: u32,
    pub in_flight: Vec<InFlight>,
}

/// How sending to one target has gone: what the status page and `/api/offsite` show.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Progress {
    pub last_copy: Option<String>,
    pub last_copy_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// Set at the first failure of a run of failures, cleared by a success.
    pub failing_since: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// The last failure was the target not answering at all.
    pub unreachable: bool,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub bytes_sent: u64,
    pub copies_sent: u64,
    pub last_drill: Option<Drill>,
    /// A folder target on the disk that holds the data (not off-site at all).
    pub same_disk_as_data: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OffsiteState {
    /// When a super-admin said the emergency kit of the current key is saved.
    pub kit_confirmed_at: Option<DateTime<Utc>>,
    /// The public key the confirmation was for (a new key needs a new kit).
    pub kit_confirmed_for: Option<String>,
    /// The places for copies the saved kit names ("usb: folder E:\\Backroom"); when the
    /// targets differ from these the kit must be saved again (`None`: saved before this was
    /// recorded, no reminder).
    pub kit_confirmed_targets: Option<Vec<String>>,
    pub targets: BTreeMap<String, TargetState>,
    /// The sequence number of the last copy sent (to any target); only ever grows.
    pub last_sequence: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot save the off-site status file: {}", crate::fsutil::plain_io(.0))]
    Write(#[source] std::io::Error),
}

impl OffsiteState {
    /// The state on disk; a missing or unreadable file is a fresh start (it only holds
    /// status, nothing that cannot be found again from the targets).
    pub fn load(paths: &Paths) -> OffsiteState {
        std::fs::read(paths.offsite_state())
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    pub fn save(&self, paths: &Paths) -> Result<(), StateError> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| StateError::Write(e.into()))?;
        crate::fsutil::write_atomic(&paths.offsite_state(), &json).map_err(StateError::Write)
    }

    pub fn target(&mut self, name: &str) -> &mut TargetState {
        self.targets.entry(name.to_string()).or_default()
    }

    pub fn kit_confirmed(&self, current_public_key: &str) -> bool {
        self.kit_confirmed_at.is_some()
            && self.kit_confirmed_for.as_deref() == Some(current_public_key)
    }
}

/// How long to wait after `failures` failures in a row: 30 s, 1 min, 2, 4 … at most an hour.
pub fn backoff(failures: u32, base: std::time::Duration) -> std::time::Duration {
    let doublings = failures.saturating_sub(1).min(12);
    (base * 2u32.pow(doublings)).min(std::time::Duration::from_secs(3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_backoff_grows_to_an_hour() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path());
        let mut state = OffsiteState::load(&paths);
        assert_eq!(state, OffsiteState::default());
        state.target("usb").progress.bytes_sent = 42;
        state.save(&paths).unwrap();
        assert_eq!(
            OffsiteState::load(&paths).targets["usb"]
                .progress
                .bytes_sent,
            42
        );
        let base = std::time::Duration::from_secs(30);
        assert_eq!(backoff(1, base), base);
        assert_eq!(backoff(3, base), base * 4);
        assert_eq!(backoff(30, base), std::time::Duration::from_secs(3600));
    }

    #[test]
    fn a_state_file_keeps_its_flat_shape() {
        let old = r#"{"targets": {"usb": {"last_copy": "c1", "failures": 3, "bytes_sent": 7,
            "in_flight": [{"object": "o", "upload_id": "u"}]}}}"#;
        let state: OffsiteState = serde_json::from_str(old).unwrap();
        let usb = &state.targets["usb"];
        assert_eq!(usb.progress.last_copy.as_deref(), Some("c1"));
        assert_eq!((usb.failures, usb.progress.bytes_sent), (3, 7));
        assert_eq!(usb.in_flight.len(), 1);
        let written = serde_json::to_value(&state).unwrap();
        assert_eq!(written["targets"]["usb"]["last_copy"], "c1");
        assert_eq!(written["targets"]["usb"]["failures"], 3);
    }
}
