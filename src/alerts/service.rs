//! The alerts thread: every few seconds it looks at what is wrong (`conditions`), applies the
//! tell-once rule (`watch`), notices finished backups and off-site rounds for the heartbeat,
//! and delivers what waits in the outbox, retrying with a growing wait. It runs on its own so
//! that a mail server that is down or slow never holds up a backup or a page.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::deliver::Deliverer;
use super::event::{Event, Sender, Severity};
use super::settings::{AlertSettings, Secrets};
use super::state::{AlertState, Delivery, Pending};
use super::{AlertOptions, conditions, watch};
use crate::backup::{BackupEngine, lock};
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::offsite::Offsite;
use crate::offsite::state::OffsiteState;

/// A message nobody could be reached with for this long is dropped (and the log says so).
const GIVE_UP_MESSAGE: chrono::Duration = chrono::Duration::days(3);
/// A heartbeat ping this old means nothing any more.
const GIVE_UP_PING: chrono::Duration = chrono::Duration::hours(1);
/// The longest wait between two tries.
const MAX_WAIT: Duration = Duration::from_secs(3600);

pub(super) struct Shared {
    pub engine: BackupEngine,
    pub offsite: Offsite,
    pub clock: SharedClock,
    pub options: AlertOptions,
    /// Tests asked for from the page, by channel (`None`: every channel).
    pub tests: Mutex<Vec<Option<String>>>,
    pub wake: (Mutex<bool>, Condvar),
    pub stop: AtomicBool,
    pub thread: Mutex<Option<JoinHandle<()>>>,
}

/// What the last look saw finish, for the heartbeat (only this process's own work).
#[derive(Default)]
struct Seen {
    attempt: Option<(DateTime<Utc>, bool, String)>,
    /// Per target: copies sent, failures in a row.
    targets: BTreeMap<String, (u64, u32)>,
}

pub(super) fn start(shared: Arc<Shared>) -> std::io::Result<()> {
    let worker = shared.clone();
    let handle = std::thread::Builder::new()
        .name("alerts".into())
        .spawn(move || run(&worker))?;
    *lock(&shared.thread) = Some(handle);
    Ok(())
}

fn run(shared: &Shared) {
    let sender = crate::offsite::installation::Installation::load_or_create(shared.engine.paths())
        .map(|i| Sender {
            shop: i.shop,
            computer: i.computer,
        })
        .unwrap_or_default();
    let deliverer = match Deliverer::new(sender) {
        Ok(d) => d,
        Err(e) => {
            shared.engine.log().error(&format!(
                "Alerts cannot be sent: {}",
                crate::error_chain::chain(&e)
            ));
            return;
        }
    };
    let mut seen = Seen::default();
    while !shared.stop.load(Ordering::SeqCst) {
        // A bug in one look must not end alerts for the rest of the run.
        let looked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            round(shared, &deliverer, &mut seen);
        }));
        if looked.is_err() {
            shared
                .engine
                .log()
                .error("Alerts: a look at what is wrong failed unexpectedly; trying again");
        }
        let (woken, signal) = &shared.wake;
        let guard = lock(woken);
        let (mut guard, _) = signal
            .wait_timeout_while(guard, shared.options.poll, |w| {
                !*w && !shared.stop.load(Ordering::SeqCst)
            })
            .unwrap_or_else(|e| e.into_inner());
        *guard = false;
    }
}

/// One look and one delivery pass.
fn round(shared: &Shared, deliverer: &Deliverer, seen: &mut Seen) {
    let paths = shared.engine.paths();
    let settings = match Settings::load(&paths.settings) {
        Ok(s) => s.alerts,
        Err(e) => {
            tracing::warn!("alerts: cannot read the settings: {e}");
            return;
        }
    };
    let before = AlertState::load(&paths.data_dir);
    let mut state = before.clone();
    let now = shared.clock.now();
    let tests: Vec<Option<String>> = std::mem::take(&mut *lock(&shared.tests));
    for only in tests {
        let channels = settings
            .channels
            .iter()
            .filter(|c| only.as_deref().is_none_or(|n| n == c.name))
            .map(|c| c.name.clone())
            .collect();
        queue(&mut state, Event::test(now), channels, None);
    }
    look(shared, &settings, &mut state, now);
    heartbeats(shared, &settings, &mut state, seen, now);
    deliver(shared, deliverer, &settings, &mut state);
    if state != before
        && let Err(e) = state.save(&paths.data_dir)
    {
        tracing::warn!("alerts: {e}");
    }
}

fn queue(state: &mut AlertState, event: Event, channels: Vec<String>, ping: Option<bool>) {
    if channels.is_empty() {
        return;
    }
    if ping.is_some() {
        // Only the newest ping means anything: one still waiting is replaced, so a heartbeat
        // receiver that is down does not pile them up.
        state.outbox.retain(|p| p.ping.is_none());
    }
    state.outbox.push(Pending {
        event,
        channels,
        attempts: 0,
        queued: Utc::now(),
        next_try: Utc::now(),
        ping,
    });
}

/// The problems and restores seen now, into the outbox. With no channel to tell, problems
/// stay untold, so a channel added later hears about those still there.
fn look(shared: &Shared, settings: &AlertSettings, state: &mut AlertState, now: DateTime<Utc>) {
    let recipients: Vec<String> = settings
        .channels
        .iter()
        .filter(|c| !c.is_heartbeat())
        .map(|c| c.name.clone())
        .collect();
    let entries = shared.engine.list().unwrap_or_default();
    let (restores, mark) = conditions::restores(&entries, state.restores_seen, now);
    state.restores_seen = Some(mark);
    if recipients.is_empty() {
        return;
    }
    let (problems, counters) = conditions::problems(&shared.engine, &shared.offsite, settings, now);
    let told = watch::step(&mut state.open, &problems, &counters, now);
    for event in told.into_iter().chain(restores) {
        let line = format!("Alert: {} ({})", event.title, event.severity.as_str());
        match event.severity {
            Severity::Critical | Severity::Warning => shared.engine.log().warning(&line),
            Severity::Info | Severity::Resolved => shared.engine.log().info(&line),
        }
        queue(state, event, recipients.clone(), None);
    }
}

/// A ping for every backup and off-site round finished since the last look (`/fail` for one
/// that failed).
fn heartbeats(
    shared: &Shared,
    settings: &AlertSettings,
    state: &mut AlertState,
    seen: &mut Seen,
    now: DateTime<Utc>,
) {
    let mut pings = Vec::new();
    if let Some(a) = shared.engine.last_attempt() {
        let this = (a.at, a.ok, a.message.clone());
        if seen.attempt.as_ref() != Some(&this) {
            pings.push((a.ok, format!("backup: {}", a.message)));
            seen.attempt = Some(this);
        }
    }
    let offsite = OffsiteState::load(shared.engine.paths());
    for (name, t) in &offsite.targets {
        // A round that sent a copy, or the first good one after failures, is news (a
        // round with nothing to send, every few seconds, is not); a new failure is.
        let this = (t.progress.copies_sent, t.failures);
        match seen.targets.insert(name.clone(), this) {
            // First look: what happened before is not news.
            None => {}
            Some((sent, failures)) => {
                if this.1 > failures {
                    pings.push((false, format!("off-site round to {name} failed")));
                } else if this.0 > sent || (failures > 0 && this.1 == 0) {
                    pings.push((true, format!("off-site round to {name}")));
                }
            }
        }
    }
    let beats: Vec<String> = settings
        .channels
        .iter()
        .filter(|c| c.is_heartbeat())
        .map(|c| c.name.clone())
        .collect();
    for (good, what) in pings {
        let event = Event {
            event: if good { "heartbeat" } else { "heartbeat-fail" }.into(),
            severity: if good {
                Severity::Info
            } else {
                Severity::Warning
            },
            title: what.clone(),
            message: what,
            at: now,
        };
        queue(state, event, beats.clone(), Some(good));
    }
}

/// Tries every message whose time has come, on every channel it has not reached yet.
fn deliver(
    shared: &Shared,
    deliverer: &Deliverer,
    settings: &AlertSettings,
    state: &mut AlertState,
) {
    let secrets = match Secrets::load(&shared.engine.paths().data_dir) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("alerts: {e}");
            Secrets::default()
        }
    };
    let real_now = Utc::now();
    let mut kept = Vec::new();
    for mut pending in std::mem::take(&mut state.outbox) {
        // Stopping: what is left waits in the file for the next start.
        if pending.next_try > real_now || shared.stop.load(Ordering::SeqCst) {
            kept.push(pending);
            continue;
        }
        pending.channels.retain(|name| {
            let Some(channel) = settings.channel(name) else {
                // Removed since: nobody to tell.
                return false;
            };
            let secret = secrets.channels.get(name);
            let result = match pending.ping {
                Some(good) => deliverer.ping(channel, secret, good),
                None => deliverer.message(channel, secret, &pending.event),
            };
            let was_ok = state.delivery.get(name).is_none_or(|d| d.ok);
            match result {
                Ok(()) => {
                    if !was_ok {
                        shared
                            .engine
                            .log()
                            .info(&format!("Alerts reach channel {name} again"));
                    }
                    state.delivery.insert(
                        name.clone(),
                        Delivery {
                            ok: true,
                            at: Utc::now(),
                            error: String::new(),
                        },
                    );
                    false
                }
                Err(e) => {
                    let error = crate::error_chain::chain(&e);
                    if was_ok {
                        shared.engine.log().warning(&format!(
                            "Alerts cannot be sent to channel {name} ({error}); Backroom keeps trying"
                        ));
                    }
                    state.delivery.insert(
                        name.clone(),
                        Delivery {
                            ok: false,
                            at: Utc::now(),
                            error,
                        },
                    );
                    true
                }
            }
        });
        if pending.channels.is_empty() {
            continue;
        }
        let limit = if pending.ping.is_some() {
            GIVE_UP_PING
        } else {
            GIVE_UP_MESSAGE
        };
        if real_now - pending.queued > limit {
            shared.engine.log().warning(&format!(
                "Alert given up after {} tries: {} (to {})",
                pending.attempts + 1,
                pending.event.title,
                pending.channels.join(", ")
            ));
            continue;
        }
        pending.attempts += 1;
        let wait = crate::offsite::state::backoff(pending.attempts, shared.options.retry_base)
            .min(MAX_WAIT);
        pending.next_try = real_now + chrono::Duration::from_std(wait).unwrap_or_default();
        kept.push(pending);
    }
    kept.append(&mut state.outbox);
    state.outbox = kept;
}
