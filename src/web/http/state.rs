//! What every handler shares: the services the server opened at start (`server/open.rs`).

use std::sync::Arc;

use actix_web::web;

use crate::actions::first_run::PendingLink;
use crate::auth::limits::ManualBackupLimit;
use crate::auth::store::AuthStore;
use crate::auth::throttle::LoginThrottle;
use crate::backup::BackupEngine;
use crate::backup::scheduler::Scheduler;
use crate::clock::SharedClock;
use crate::db::Db;
use crate::offsite::Offsite;

use super::host_guard::AllowedHosts;
use super::upload_gate::UploadGate;

/// The services every handler shares. The settings and the data folder's paths are read
/// where they live, in the backup engine (`engine.settings()`, `engine.paths()`), so a
/// saved change applies everywhere at once.
pub struct AppState {
    pub db: Db,
    pub engine: BackupEngine,
    pub offsite: Offsite,
    pub scheduler: Arc<Scheduler>,
    /// Sessions and failed-login counters (`sessions.db`, outside the business data).
    pub auth: Arc<AuthStore>,
    pub throttle: LoginThrottle,
    pub manual_backups: ManualBackupLimit,
    /// The target connected to on the first-run page, until a copy is chosen from it.
    pub first_run_link: PendingLink,
    pub clock: SharedClock,
    /// The names this server answers to (the `Host` check).
    pub hosts: web::Data<AllowedHosts>,
    /// Files arriving at once, and how long a body may pause.
    pub uploads: UploadGate,
    /// Alerts that leave the computer (the page's test button and status).
    pub alerts: crate::alerts::Alerts,
}

impl AppState {
    /// The answer to "is my data safe?": local backups and off-site copies (blocking: reads
    /// the backup folder and the off-site status file).
    pub fn health(&self) -> crate::backup::health::Health {
        let now = self.clock.now();
        self.offsite.health(self.engine.health(now), now)
    }
}
