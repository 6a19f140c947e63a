//! Alerts that leave the computer, so nobody has to open the page to learn that protection
//! broke: e-mail, webhooks (ntfy, Gotify, Slack-style) and heartbeat pings. No web types here.
//!
//! Nothing of it lives in the business database (a restore must not bring it back in time):
//! channels are in `backroom.toml` `[alerts]`, their secrets in `alerts-secrets.toml`
//! (owner-only), what was told and what waits in `alerts-state.json`. The server runs one
//! thread (`service`) that watches and delivers; the command line adds, lists, tests and
//! removes channels.

pub mod conditions;
pub mod deliver;
pub mod event;
mod service;
pub mod settings;
pub mod state;
pub mod watch;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::backup::{BackupEngine, lock};
use crate::clock::SharedClock;
use crate::config::{ConfigError, Paths, Settings};
use crate::fields::FieldErrors;
use crate::offsite::Offsite;
pub use deliver::{Deliverer, DeliveryError};
pub use event::{Event, Sender, Severity};
use settings::{Channel, ChannelForm, Secrets, SecretsError};
use state::{AlertState, Delivery};

/// How often the alerts thread looks, and how soon it retries.
#[derive(Debug, Clone, Copy)]
pub struct AlertOptions {
    pub poll: Duration,
    /// The first wait after a failed delivery (doubling up to an hour).
    pub retry_base: Duration,
}

impl Default for AlertOptions {
    fn default() -> Self {
        AlertOptions {
            poll: Duration::from_secs(20),
            retry_base: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error(transparent)]
    Settings(#[from] ConfigError),
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
    #[error("there is no alert channel named {0}")]
    NoChannel(String),
    #[error("no alert channel is set up yet: add one with `backroom alerts add`")]
    NoChannels,
}

/// The alerts of a running server. Cheap to clone.
#[derive(Clone)]
pub struct Alerts {
    shared: Arc<service::Shared>,
}

impl Alerts {
    /// Starts the alerts thread.
    pub fn start(
        engine: BackupEngine,
        offsite: Offsite,
        clock: SharedClock,
        options: AlertOptions,
    ) -> std::io::Result<Alerts> {
        let shared = Arc::new(service::Shared {
            engine,
            offsite,
            clock,
            options,
            tests: Mutex::new(Vec::new()),
            wake: (Mutex::new(false), Condvar::new()),
            stop: AtomicBool::new(false),
            thread: Mutex::new(None),
        });
        service::start(shared.clone())?;
        Ok(Alerts { shared })
    }

    /// Asks for a test message through one channel (or all); the thread sends it at once.
    pub fn send_test(&self, channel: Option<String>) {
        lock(&self.shared.tests).push(channel);
        self.wake();
    }

    pub fn wake(&self) {
        let (woken, signal) = &self.shared.wake;
        *lock(woken) = true;
        signal.notify_all();
    }

    /// Stops the thread (a delivery under way finishes first, within its timeout).
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.wake();
        if let Some(handle) = lock(&self.shared.thread).take() {
            let _ = handle.join();
        }
    }

    pub fn paths(&self) -> &Paths {
        self.shared.engine.paths()
    }
}

/// One channel as lists show it (no secrets).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChannelView {
    pub name: String,
    pub kind: &'static str,
    pub target: String,
    /// How the last delivery went (`None`: nothing sent yet).
    pub last: Option<Delivery>,
}

/// What the page and `alerts list` show.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AlertStatus {
    pub after_minutes: u32,
    pub channels: Vec<ChannelView>,
    /// Messages waiting for a channel that could not be reached.
    pub waiting: usize,
    /// Problems told and not over.
    pub open: Vec<String>,
}

impl AlertStatus {
    /// "Alerts cannot be sent right now: …" when a channel's last delivery failed.
    pub fn cannot_send(&self) -> Option<String> {
        let failing: Vec<String> = self
            .channels
            .iter()
            .filter_map(|c| {
                c.last
                    .as_ref()
                    .filter(|d| !d.ok)
                    .map(|d| format!("{} ({})", c.name, d.error))
            })
            .collect();
        (!failing.is_empty()).then(|| {
            format!(
                "Alerts cannot be sent right now: {}. Backroom keeps trying; {} message(s) waiting.",
                failing.join("; "),
                self.waiting
            )
        })
    }
}

/// The channels and how delivery goes (blocking: reads the settings and the status file).
pub fn status(paths: &Paths) -> Result<AlertStatus, AlertError> {
    let settings = Settings::load(&paths.settings)?.alerts;
    let state = AlertState::load(&paths.data_dir);
    Ok(AlertStatus {
        after_minutes: settings.after_minutes,
        channels: settings
            .channels
            .iter()
            .map(|c| ChannelView {
                name: c.name.clone(),
                kind: c.kind_label(),
                target: c.describe(),
                last: state.delivery.get(&c.name).cloned(),
            })
            .collect(),
        waiting: state.outbox.len(),
        open: state.open.values().map(|o| o.title.clone()).collect(),
    })
}

/// Adds a channel (its secret to `alerts-secrets.toml`); `Ok(Err(..))` names the fields to
/// correct.
pub fn add_channel(
    paths: &Paths,
    form: &ChannelForm,
) -> Result<Result<Channel, FieldErrors>, AlertError> {
    let (channel, secret) = match form.parse() {
        Ok(parsed) => parsed,
        Err(errors) => return Ok(Err(errors)),
    };
    let current = Settings::load(&paths.settings)?.alerts;
    if current.channel(&channel.name).is_some() {
        return Ok(Err(FieldErrors::one(
            "name",
            format!("There is already an alert channel named {}.", channel.name),
        )));
    }
    let mut secrets = Secrets::load(&paths.data_dir)?;
    secrets.channels.insert(channel.name.clone(), secret);
    secrets.save(&paths.data_dir)?;
    let added = channel.clone();
    Settings::update_file(&paths.settings, move |s| s.alerts.channels.push(added))?;
    Ok(Ok(channel))
}

/// Removes a channel and its secret.
pub fn remove_channel(paths: &Paths, name: &str) -> Result<(), AlertError> {
    if Settings::load(&paths.settings)?
        .alerts
        .channel(name)
        .is_none()
    {
        return Err(AlertError::NoChannel(name.to_string()));
    }
    Settings::update_file(&paths.settings, |s| {
        s.alerts.channels.retain(|c| c.name != name);
    })?;
    let mut secrets = Secrets::load(&paths.data_dir)?;
    if secrets.channels.remove(name).is_some() {
        secrets.save(&paths.data_dir)?;
    }
    Ok(())
}

/// A channel's name and how its test went.
pub type TestOutcome = (String, Result<(), DeliveryError>);

/// Sends a test message now through one channel or all, from this process (the command
/// line); each channel's outcome.
pub fn test_now(
    paths: &Paths,
    only: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<TestOutcome>, AlertError> {
    let settings = Settings::load(&paths.settings)?.alerts;
    if let Some(name) = only
        && settings.channel(name).is_none()
    {
        return Err(AlertError::NoChannel(name.to_string()));
    }
    if settings.channels.is_empty() {
        return Err(AlertError::NoChannels);
    }
    let secrets = Secrets::load(&paths.data_dir)?;
    let sender = crate::offsite::installation::Installation::load_or_create(paths)
        .map(|i| Sender {
            shop: i.shop,
            computer: i.computer,
        })
        .unwrap_or_default();
    let deliverer = Deliverer::new(sender)?;
    let event = Event::test(now);
    Ok(settings
        .channels
        .iter()
        .filter(|c| only.is_none_or(|n| n == c.name))
        .map(|c| {
            (
                c.name.clone(),
                deliverer.message(c, secrets.channels.get(&c.name), &event),
            )
        })
        .collect())
}
