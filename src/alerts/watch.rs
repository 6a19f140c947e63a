//! The rule every problem follows: told **once** when it starts, reminded daily while it
//! lasts, told again when it is over. A pure step from the problems seen now and the time, so
//! it is tested with a clock moved by hand.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};

use super::event::{Event, Problem, Severity};
use super::state::Open;

/// How often a lasting problem is told again.
pub const REMINDER: Duration = Duration::hours(24);

/// Brings `open` up to date with the problems seen `now`; returns what to tell. `counters`
/// has the current count for keys that have one (also when their problem is over).
pub fn step(
    open: &mut BTreeMap<String, Open>,
    seen: &[Problem],
    counters: &BTreeMap<String, u64>,
    now: DateTime<Utc>,
) -> Vec<Event> {
    let mut told = Vec::new();
    for problem in seen {
        match open.get_mut(&problem.key) {
            None => {
                open.insert(
                    problem.key.clone(),
                    Open {
                        event: problem.event.to_string(),
                        severity: problem.severity,
                        title: problem.title.clone(),
                        message: problem.message.clone(),
                        over: problem.over.clone(),
                        since: now,
                        last_told: now,
                        counter: problem.counter.map(|(n, unit)| (n, unit.to_string())),
                    },
                );
                told.push(Event {
                    event: problem.event.to_string(),
                    severity: problem.severity,
                    title: problem.title.clone(),
                    message: problem.message.clone(),
                    at: now,
                });
            }
            Some(o) => {
                o.message = problem.message.clone();
                o.title = problem.title.clone();
                if now - o.last_told >= REMINDER {
                    o.last_told = now;
                    told.push(Event {
                        event: problem.event.to_string(),
                        severity: problem.severity,
                        title: format!("Still: {}", problem.title),
                        message: format!(
                            "{} (since {})",
                            problem.message,
                            crate::timefmt::local(o.since)
                        ),
                        at: now,
                    });
                }
            }
        }
    }
    let keys: BTreeSet<&str> = seen.iter().map(|p| p.key.as_str()).collect();
    let over: Vec<String> = open
        .keys()
        .filter(|k| !keys.contains(k.as_str()))
        .cloned()
        .collect();
    for key in over {
        let Some(o) = open.remove(&key) else { continue };
        let caught_up = o
            .counter
            .as_ref()
            .zip(counters.get(&key))
            .map(|((start, unit), now)| {
                format!(": {} {unit} caught up", now.saturating_sub(*start))
            })
            .unwrap_or_default();
        told.push(Event {
            event: format!("{}-over", o.event),
            severity: Severity::Resolved,
            title: o.over.clone(),
            message: format!(
                "{}{caught_up}. (The problem began {}: {})",
                o.over,
                crate::timefmt::local(o.since),
                o.title
            ),
            at: now,
        });
    }
    told
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};

    fn failing_usb(copies: u64) -> Problem {
        Problem {
            key: "target-failing:usb".into(),
            event: "target-failing",
            severity: Severity::Warning,
            title: "Off-site copies to usb are failing".into(),
            message: "Is the drive plugged in?".into(),
            over: "usb works again".into(),
            counter: Some((copies, "copies")),
        }
    }

    #[test]
    fn told_once_reminded_daily_and_told_when_over() {
        let clock = ManualClock::new();
        let mut open = BTreeMap::new();
        let none = BTreeMap::new();
        let told = step(&mut open, &[failing_usb(3)], &none, clock.now());
        assert_eq!(told.len(), 1);
        assert_eq!(told[0].event, "target-failing");
        // Seen again and again within the day: nothing more.
        for _ in 0..5 {
            clock.advance(Duration::hours(4));
            assert!(step(&mut open, &[failing_usb(3)], &none, clock.now()).is_empty());
        }
        clock.advance(Duration::hours(4));
        let reminder = step(&mut open, &[failing_usb(3)], &none, clock.now());
        assert_eq!(reminder.len(), 1);
        assert!(reminder[0].title.starts_with("Still: "), "{reminder:?}");
        clock.advance(Duration::hours(1));
        assert!(step(&mut open, &[failing_usb(3)], &none, clock.now()).is_empty());
        let counters = BTreeMap::from([("target-failing:usb".to_string(), 15)]);
        let over = step(&mut open, &[], &counters, clock.now());
        assert_eq!(over.len(), 1);
        assert_eq!(over[0].event, "target-failing-over");
        assert_eq!(over[0].severity, Severity::Resolved);
        assert!(
            over[0]
                .message
                .starts_with("usb works again: 12 copies caught up"),
            "{}",
            over[0].message
        );
        assert!(open.is_empty());
        assert!(step(&mut open, &[], &counters, clock.now()).is_empty());
    }
}
