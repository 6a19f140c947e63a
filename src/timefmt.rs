//! Dates and durations the way a person reads them: local time, "3 hours ago", and what a
//! backup is called ("before stock-take — Wed 2 Dec, 15:57").

use chrono::{DateTime, Datelike, Local, Utc};

use crate::backup::BackupKind;

/// `2025-09-22 14:30` in the machine's local time.
pub fn local(dt: DateTime<Utc>) -> String {
    dt.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// `2025-09-22 14:30:05` in the machine's local time.
pub fn local_seconds(dt: DateTime<Utc>) -> String {
    dt.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// `Wed 2 Dec, 15:57` in the machine's local time (the year added when it is not this one).
pub fn friendly(dt: DateTime<Utc>) -> String {
    let local = dt.with_timezone(&Local);
    if local.year() == Local::now().year() {
        local.format("%a %-d %b, %H:%M").to_string()
    } else {
        local.format("%a %-d %b %Y, %H:%M").to_string()
    }
}

/// `today 15:57`, `yesterday 09:10`, else [`friendly`]: for a line about something recent.
pub fn friendly_near(dt: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let (day, today) = (
        dt.with_timezone(&Local).date_naive(),
        now.with_timezone(&Local).date_naive(),
    );
    let time = dt.with_timezone(&Local).format("%H:%M");
    if day == today {
        format!("today {time}")
    } else if today.pred_opt() == Some(day) {
        format!("yesterday {time}")
    } else {
        friendly(dt)
    }
}

/// What a backup is called wherever a person reads about it: what the owner wrote, else a
/// plain kind, then when it was made ("before stock-take — Wed 2 Dec, 15:57", "automatic
/// backup — Wed 2 Dec, 15:57"). The file name goes small underneath, never first.
pub fn backup_label(kind: BackupKind, description: &str, at: DateTime<Utc>) -> String {
    format!("{} — {}", backup_what(kind, description), friendly(at))
}

/// The first half of [`backup_label`]: the description, or the kind in words. Safety copies
/// are always called by their kind (their description names the restore that made them).
pub fn backup_what(kind: BackupKind, description: &str) -> String {
    let description = description.trim();
    match kind {
        BackupKind::PreRestore => "safety copy before a restore".into(),
        BackupKind::Uploaded if description.starts_with("from ") => {
            format!("uploaded {description}")
        }
        _ if !description.is_empty() => description.to_string(),
        BackupKind::Automatic => "automatic backup".into(),
        BackupKind::Startup => "startup backup".into(),
        BackupKind::Manual => "manual backup".into(),
        BackupKind::Uploaded => "uploaded backup".into(),
        BackupKind::Broken => "copy of a broken database".into(),
    }
}

/// "just now", "5 minutes ago", "3 hours ago", "2 days ago" ("in 4 hours" for the future).
pub fn ago(dt: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - dt).num_seconds();
    if secs < 0 {
        return format!("in {}", span(-secs));
    }
    if secs < 60 {
        return "just now".into();
    }
    format!("{} ago", span(secs))
}

/// "45 seconds", "1 minute", "13 hours", "3 days".
pub fn span(secs: i64) -> String {
    let (value, unit) = if secs < 60 {
        (secs, "second")
    } else if secs < 3600 {
        (secs / 60, "minute")
    } else if secs < 86_400 * 2 {
        (secs / 3600, "hour")
    } else {
        (secs / 86_400, "day")
    };
    if value == 1 {
        format!("1 {unit}")
    } else {
        format!("{value} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn ago_reads_naturally() {
        let now = Utc::now();
        assert_eq!(ago(now, now), "just now");
        assert_eq!(ago(now - Duration::minutes(1), now), "1 minute ago");
        assert_eq!(ago(now - Duration::hours(3), now), "3 hours ago");
        assert_eq!(ago(now - Duration::hours(13), now), "13 hours ago");
        assert_eq!(ago(now - Duration::days(3), now), "3 days ago");
        assert_eq!(ago(now + Duration::hours(4), now), "in 4 hours");
    }

    #[test]
    fn backups_are_called_by_what_the_owner_wrote() {
        let at = Local::now().with_timezone(&Utc);
        let when = friendly(at);
        assert!(!when.contains(&at.format("%Y").to_string()), "{when}");
        assert_eq!(
            backup_label(BackupKind::Manual, "before stock-take", at),
            format!("before stock-take — {when}")
        );
        assert_eq!(
            backup_label(BackupKind::Automatic, "", at),
            format!("automatic backup — {when}")
        );
        assert_eq!(
            backup_label(BackupKind::PreRestore, "Made before restoring x", at),
            format!("safety copy before a restore — {when}")
        );
        assert!(friendly_near(at, at).starts_with("today "));
        assert!(friendly_near(at - Duration::days(1), at).starts_with("yesterday "));
    }
}
