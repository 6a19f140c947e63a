//! Dates and durations the way a person reads them: local time, "3 hours ago".

use chrono::{DateTime, Local, Utc};

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
}
