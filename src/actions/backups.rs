//! What the backup page and the JSON API share: the use-cases behind their buttons, so both
//! answer the same way. Each takes the proof of the role it needs (`auth::permission`).

use std::time::Duration;

use super::ActionError;
use crate::auth::limits::{ManualBackupLimit, wait_message};
use crate::auth::permission::{Actor, Admin, SuperAdmin};
use crate::auth::store::AuthStore;
use crate::backup::scheduler::Scheduler;
use crate::backup::settings::{SettingsError, SettingsForm};
use crate::backup::{
    BackupEngine, BackupEntry, BackupError, BackupKind, BackupName, CreateRequest, RestoreOptions,
    RestoreReport,
};
use crate::config::Settings;
use crate::fields::FieldErrors;

pub const MAX_DESCRIPTION_CHARS: usize = 200;

/// A description typed for a manual backup: short, and no invisible control characters.
pub fn check_description(text: &str) -> Result<(), ActionError> {
    if text.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(ActionError::Invalid(format!(
            "The description can have at most {MAX_DESCRIPTION_CHARS} characters."
        )));
    }
    crate::text::check("The description", text, false).map_err(ActionError::Invalid)
}

/// Makes a manual backup for `actor`: staff are limited to one per ten minutes, so that the
/// cap of ten is never a way around the delete permission.
pub fn create_manual(
    engine: &BackupEngine,
    limit: &ManualBackupLimit,
    actor: &Actor,
    description: &str,
) -> Result<BackupEntry, ActionError> {
    check_description(description)?;
    limit
        .take_turn(actor.id, actor.role)
        .map_err(|wait| ActionError::TooSoon(wait_message(wait)))?;
    let made = engine.create(&CreateRequest::manual(description, &actor.username));
    if made.is_err() {
        limit.give_back(actor.id);
    }
    Ok(made?)
}

/// The newest counted backup's name (it may not be deleted).
pub fn newest_name(engine: &BackupEngine) -> Result<Option<String>, BackupError> {
    let entries = engine.list()?;
    Ok(crate::backup::catalog::newest_counted(&entries).map(|e| e.file_name.clone()))
}

/// The proof a restore needs, or a refusal that is logged: `backup` is the name asked for,
/// or `None` for emergency restore.
pub fn require_restorer(
    engine: &BackupEngine,
    actor: &Actor,
    backup: Option<&str>,
) -> Result<SuperAdmin, ActionError> {
    if let Ok(boss) = actor.super_admin() {
        return Ok(boss);
    }
    // Only real backup names reach the log, not whatever was typed into the address bar.
    let what = match backup {
        None => "the latest good backup",
        Some(name) if BackupName::parse(name).is_some() => name,
        Some(_) => "an unknown backup",
    };
    engine.log().warning(&format!(
        "Restore of {what} refused for {} (role {}): only super-admins may restore",
        actor.username, actor.role
    ));
    Err(ActionError::NotAllowed(
        "Only a super-admin can restore backups.".into(),
    ))
}

/// Deletes a backup (admins and up); the engine refuses the newest, a kept one, one in use.
pub fn delete(engine: &BackupEngine, admin: &Admin, name: &str) -> Result<(), BackupError> {
    engine.delete(name, admin.username())
}

/// Which backup a restore puts back.
pub enum Restore {
    Named(String),
    LatestGood,
}

/// Restores a backup (super-admin only), then ends the sessions of everyone whose sign-in
/// changed with it: the session store is outside the data, so nothing ended comes back.
pub fn restore(
    engine: &BackupEngine,
    sessions: &AuthStore,
    boss: &SuperAdmin,
    which: Restore,
    options: RestoreOptions,
) -> Result<RestoreReport, ActionError> {
    let who = boss.username();
    let report = match which {
        Restore::Named(name) => engine.restore(&name, who, options)?,
        Restore::LatestGood => engine.emergency_restore(who, options)?,
    };
    if BackupName::parse(&report.restored).is_some_and(|n| n.kind == BackupKind::Uploaded) {
        // Data brought in is not a regular backup: back it up as one (emergency restore
        // would otherwise pass it over).
        let request = CreateRequest::manual("brought back on this computer", who);
        if let Err(e) = engine.create_when_free(&request, Duration::from_secs(60)) {
            engine.log().warning(&format!(
                "The backup after restoring {} failed: {}",
                report.restored,
                crate::error_chain::chain(&e)
            ));
        }
    }
    for id in &report.changed_user_ids {
        sessions.end_user_sessions(*id, None)?;
    }
    Ok(report)
}

/// Marks a backup Keep or removes the mark (super-admin only).
pub fn set_keep(
    engine: &BackupEngine,
    boss: &SuperAdmin,
    name: &str,
    keep: bool,
) -> Result<BackupEntry, BackupError> {
    engine.set_keep(name, keep, boss.username())
}

/// Saves the backup settings (super-admin only) and applies them without a restart. Form
/// problems come back as field messages.
pub fn apply_settings(
    engine: &BackupEngine,
    scheduler: &Scheduler,
    boss: &SuperAdmin,
    interval_hours: &str,
    max_backups: &str,
) -> Result<Result<Settings, FieldErrors>, ActionError> {
    let form = SettingsForm {
        interval_hours,
        max_backups,
    };
    match engine.apply_settings(&form, boss.username()) {
        Ok(s) => {
            scheduler.reschedule(s.interval());
            Ok(Ok(s))
        }
        Err(SettingsError::Invalid(errors)) => Ok(Err(errors)),
        Err(SettingsError::Save(e)) => Err(ActionError::SaveSettings(e)),
    }
}
