//! Tiered retention on a target: the local cap of ten covers a couple of days, so off-site
//! keeps history longer, restic-style. A copy stays when it is one of the newest `keep_last`,
//! or the newest of its day within the last `keep_daily` days, of its week within the last
//! `keep_weekly` weeks, or of its month within the last `keep_monthly` months (days, weeks
//! and months of the shop's local calendar). The newest copy always stays, and so does a copy
//! of a backup marked Keep here (it counts toward `keep_last` like any other).

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Local, NaiveDate, Utc};

use super::settings::Keep;

/// A copy as retention sees it.
#[derive(Debug, Clone)]
pub struct Dated {
    pub copy: String,
    pub created_at: DateTime<Utc>,
    /// Its backup's place in the order backups were made in (`keep_last` counts the highest).
    pub order: Option<u64>,
    /// Its backup is marked Keep: never deleted.
    pub protected: bool,
}

fn local_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&Local).date_naive()
}

/// Weeks since a fixed Monday, so "the last N weeks" is plain arithmetic.
fn week_number(d: NaiveDate) -> i64 {
    let monday = NaiveDate::from_ymd_opt(2000, 1, 3).unwrap_or_default();
    (d - monday).num_days().div_euclid(7)
}

fn month_number(d: NaiveDate) -> i64 {
    i64::from(d.year()) * 12 + i64::from(d.month0())
}

/// Keeps the newest copy of each period (`period` of its date) that lies within `count`
/// periods of now.
fn keep_per_period(
    newest_first: &[&Dated],
    count: u32,
    now: NaiveDate,
    period: fn(NaiveDate) -> i64,
    kept: &mut BTreeSet<String>,
) {
    let mut seen = BTreeSet::new();
    for d in newest_first {
        let p = period(local_date(d.created_at));
        // A copy dated in the future (a wrong clock) is in no period: only keep_last keeps it.
        if (0..i64::from(count)).contains(&(period(now) - p)) && seen.insert(p) {
            kept.insert(d.copy.clone());
        }
    }
}

/// The copies to delete, oldest first.
pub fn to_delete(copies: &[Dated], keep: &Keep, now: DateTime<Utc>) -> Vec<String> {
    let mut newest_first: Vec<&Dated> = copies.iter().collect();
    newest_first.sort_by(|a, b| {
        (b.order, b.created_at)
            .cmp(&(a.order, a.created_at))
            .then(b.copy.cmp(&a.copy))
    });
    let mut kept: BTreeSet<String> = newest_first
        .iter()
        .filter(|d| d.protected)
        .map(|d| d.copy.clone())
        .collect();
    for d in newest_first
        .iter()
        .take(usize::try_from(keep.keep_last.max(1)).unwrap_or(usize::MAX))
    {
        kept.insert(d.copy.clone());
    }
    let today = local_date(now);
    keep_per_period(
        &newest_first,
        keep.keep_daily,
        today,
        |d| d.num_days_from_ce().into(),
        &mut kept,
    );
    keep_per_period(
        &newest_first,
        keep.keep_weekly,
        today,
        week_number,
        &mut kept,
    );
    keep_per_period(
        &newest_first,
        keep.keep_monthly,
        today,
        month_number,
        &mut kept,
    );
    newest_first
        .iter()
        .rev()
        .filter(|d| !kept.contains(&d.copy))
        .map(|d| d.copy.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    /// Only the `n` newest copies, nothing by day, week or month.
    fn last_only(n: u32) -> Keep {
        Keep {
            keep_last: n,
            keep_daily: 0,
            keep_weekly: 0,
            keep_monthly: 0,
        }
    }

    fn at(days_ago: i64, hour: u32, now: DateTime<Utc>) -> DateTime<Utc> {
        let day = local_date(now) - Duration::days(days_ago);
        Local
            .from_local_datetime(&day.and_hms_opt(hour, 0, 0).unwrap())
            .earliest()
            .unwrap()
            .with_timezone(&Utc)
    }

    /// Four copies a day (six-hourly backups) for `days` days, newest now.
    fn history(days: i64, now: DateTime<Utc>) -> Vec<Dated> {
        let mut out = Vec::new();
        for day in 0..days {
            for hour in [0, 6, 12, 18] {
                let created_at = at(day, hour, now);
                if created_at <= now {
                    out.push(Dated {
                        copy: format!("backup_{}", created_at.timestamp()),
                        created_at,
                        order: None,
                        protected: false,
                    });
                }
            }
        }
        out
    }

    #[test]
    fn a_year_of_six_hourly_copies_is_thinned_to_the_tiers() {
        let now = at(0, 23, Utc::now());
        let copies = history(400, now);
        let deleted = to_delete(&copies, &Keep::default(), now);
        let kept: Vec<&Dated> = copies
            .iter()
            .filter(|c| !deleted.contains(&c.copy))
            .collect();
        // 10 newest + one per day back to 14 days + one per week for 8 weeks + one per month
        // for 12 months, with overlaps: between 14 and 10 + 14 + 8 + 12.
        assert!((14..=44).contains(&kept.len()), "{} kept", kept.len());
        let newest = copies.iter().max_by_key(|c| c.created_at).unwrap();
        assert!(
            kept.iter().any(|c| c.copy == newest.copy),
            "the newest stays"
        );
        // Every one of the last 14 days still has a copy.
        for day in 0..14 {
            let date = local_date(now) - Duration::days(day);
            assert!(
                kept.iter().any(|c| local_date(c.created_at) == date),
                "day -{day} has no copy"
            );
        }
        // Nothing older than about a year.
        let oldest = kept.iter().map(|c| c.created_at).min().unwrap();
        assert!(now - oldest < Duration::days(370), "{oldest}");
        // And the oldest-but-kept per month is really one per month.
        let months: BTreeSet<i64> = kept
            .iter()
            .filter(|c| now - c.created_at > Duration::days(60))
            .map(|c| month_number(local_date(c.created_at)))
            .collect();
        let old_kept = kept
            .iter()
            .filter(|c| now - c.created_at > Duration::days(60))
            .count();
        assert_eq!(months.len(), old_kept, "one per month beyond two months");
    }

    #[test]
    fn the_newest_copy_always_stays_and_few_copies_are_all_kept() {
        let now = Utc::now();
        let copies = history(2, now);
        assert!(to_delete(&copies, &Keep::default(), now).is_empty());
        let stingy = last_only(0);
        let deleted = to_delete(&copies, &stingy, now);
        assert_eq!(deleted.len(), copies.len() - 1);
        let newest = copies.iter().max_by_key(|c| c.created_at).unwrap();
        assert!(!deleted.contains(&newest.copy));
    }

    #[test]
    fn a_protected_copy_stays_however_old() {
        let now = Utc::now();
        let mut copies = history(2, now);
        let oldest = copies.iter_mut().min_by_key(|c| c.created_at).unwrap();
        oldest.protected = true;
        let oldest = oldest.copy.clone();
        let stingy = last_only(1);
        let deleted = to_delete(&copies, &stingy, now);
        assert_eq!(deleted.len(), copies.len() - 2, "{deleted:?}");
        assert!(!deleted.contains(&oldest));
    }

    #[test]
    fn keep_last_counts_the_order_made_in_not_a_wrong_date() {
        let now = Utc::now();
        let made = |copy: &str, created_at, order| Dated {
            copy: copy.into(),
            created_at,
            order: Some(order),
            protected: false,
        };
        // Made second, while the clock was a year ahead; then the clock was put right.
        let copies = vec![
            made("backup_a", now - Duration::hours(2), 1),
            made("backup_ahead", now + Duration::days(365), 2),
            made("backup_today", now, 3),
        ];
        assert_eq!(
            to_delete(&copies, &last_only(1), now),
            vec!["backup_a".to_string(), "backup_ahead".to_string()]
        );
    }
}
