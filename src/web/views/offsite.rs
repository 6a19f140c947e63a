//! How off-site targets look on the backup page: one card per target, in plain words.

use chrono::{DateTime, Utc};

use crate::offsite::{OffsiteStatus, TargetStatus};
use crate::{fsutil, timefmt};

/// One target's card.
pub struct TargetCard {
    pub name: String,
    pub kind: &'static str,
    pub location: String,
    pub enabled: bool,
    /// `ok`, `failing`, `off` or `new`, for the colour.
    pub state: &'static str,
    pub state_text: String,
    pub last_copy: String,
    /// The newest copy's name, small under its label (empty when not known).
    pub last_copy_file: String,
    pub pending: String,
    pub sent: String,
    pub drill: String,
    pub next_drill: String,
    pub keep: String,
    /// "2 installations send here" when other installations share the target.
    pub shared: String,
}

fn when(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    at.map(|t| format!("{} ({})", timefmt::local(t), timefmt::ago(t, now)))
        .unwrap_or_else(|| "never".into())
}

/// A working target's state line: "Up to date — newest copy: before stock-take, today 15:57",
/// or how many backups are still to go.
fn resting_words(t: &TargetStatus, now: DateTime<Utc>) -> String {
    let newest = t.newest_on_target.as_ref().map(|c| {
        format!(
            "newest copy: {}, {}",
            c.what,
            timefmt::friendly_near(c.created_at, now)
        )
    });
    match (t.pending, newest) {
        (Some(0), Some(newest)) => format!("Up to date — {newest}"),
        (Some(0), None) => "Up to date".into(),
        (Some(n), newest) => format!(
            "Sending: {} waiting{}",
            if n == 1 {
                "1 backup".to_string()
            } else {
                format!("{n} backups")
            },
            newest.map(|w| format!(" — {w}")).unwrap_or_default()
        ),
        (None, _) => "Copies are sent here; the list there is read at the next pass".into(),
    }
}

impl TargetCard {
    pub fn new(t: &TargetStatus, now: DateTime<Utc>) -> TargetCard {
        let (state, state_text) = if !t.enabled {
            ("off", "Turned off: nothing is sent to it".to_string())
        } else if let Some(since) = t.progress.failing_since {
            (
                "failing",
                format!(
                    "Failing since {}: {}{}",
                    timefmt::ago(since, now),
                    t.progress.last_error.clone().unwrap_or_default(),
                    t.progress
                        .next_attempt_at
                        .map(|at| format!(" (next try {})", timefmt::ago(at, now)))
                        .unwrap_or_default()
                ),
            )
        } else if t.progress.same_disk_as_data {
            ("failing", crate::offsite::same_disk_reason(&t.name))
        } else if t.progress.last_copy_at.is_none() && t.newest_on_target.is_none() {
            ("new", "No copy sent yet".to_string())
        } else {
            ("ok", resting_words(t, now))
        };
        TargetCard {
            name: t.name.clone(),
            kind: t.kind,
            location: t.location.clone(),
            enabled: t.enabled,
            state,
            state_text,
            last_copy: match (&t.newest_on_target, &t.progress.last_copy) {
                (Some(newest), _) => format!(
                    "{} ({})",
                    newest.label,
                    timefmt::ago(newest.created_at, now)
                ),
                // Not listed yet: the last one sent is all that is known.
                (None, Some(copy)) => {
                    format!("{copy}, made {}", when(t.progress.last_copy_at, now))
                }
                (None, None) => "none yet".into(),
            },
            last_copy_file: t
                .newest_on_target
                .as_ref()
                .map(|c| c.copy.clone())
                .unwrap_or_default(),
            pending: match t.pending {
                Some(0) => "nothing waiting".into(),
                Some(1) => "1 backup waiting to be sent".into(),
                Some(n) => format!("{n} backups waiting to be sent"),
                None => "not checked yet".into(),
            },
            sent: format!(
                "{} copies, {} sent{}",
                t.progress.copies_sent,
                fsutil::human_size(t.progress.bytes_sent),
                t.copies_on_target
                    .map(|n| format!("; {n} on the target now"))
                    .unwrap_or_default()
            ),
            drill: match &t.progress.last_drill {
                Some(d) if d.ok => format!(
                    "passed {} with {}",
                    timefmt::ago(d.at, now),
                    // Called by its label when it is the newest copy (it usually is).
                    t.newest_on_target
                        .as_ref()
                        .filter(|c| c.copy == d.copy)
                        .map_or_else(|| d.copy.clone(), |c| format!("“{}”", c.label))
                ),
                Some(d) => format!("FAILED {}: {}", timefmt::ago(d.at, now), d.message),
                None => "not run yet".into(),
            },
            next_drill: t
                .next_drill_at
                .map(timefmt::local)
                .unwrap_or_else(|| "off".into()),
            keep: format!(
                "the newest {}, one a day for {} days, a week for {} weeks, a month for {} months",
                t.keep.keep_last, t.keep.keep_daily, t.keep.keep_weekly, t.keep.keep_monthly
            ),
            shared: match t.installations {
                Some(n) if n > 1 => format!(
                    "{n} installations send here; this one removes, checks and drills only its own copies"
                ),
                _ => String::new(),
            },
        }
    }
}

pub fn cards(status: &OffsiteStatus, now: DateTime<Utc>) -> Vec<TargetCard> {
    status
        .targets
        .iter()
        .map(|t| TargetCard::new(t, now))
        .collect()
}
