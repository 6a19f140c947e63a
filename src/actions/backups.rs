//! What the backup page and the JSON API share: the use-cases behind their buttons, so both
//! answer the same way. Each takes the proof of the role it needs (`auth::permission`).

use actix_web::web;

use super::session::CurrentUser;
use super::{AppError, AppState, blocking};
use crate::auth::limits::wait_message;
use crate::auth::permission::{Admin, SuperAdmin};
use crate::backup::settings::{SettingsError, SettingsForm};
use crate::backup::{BackupEntry, BackupError, CreateRequest, RestoreOptions, RestoreReport};
use crate::config::Settings;
use crate::fields::FieldErrors;

pub const MAX_DESCRIPTION_CHARS: usize = 200;

/// A description typed for a manual backup: short, and no invisible control characters.
pub fn check_description(text: &str) -> Result<(), AppError> {
    if text.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(AppError::BadRequest(format!(
            "The description can have at most {MAX_DESCRIPTION_CHARS} characters."
        )));
    }
    crate::text::check("The description", text, false).map_err(AppError::BadRequest)
}

/// Makes a manual backup for `user`: staff are limited to one per ten minutes, so that the
/// cap of ten is never a way around the delete permission.
pub async fn create_manual(
    state: &web::Data<AppState>,
    user: &CurrentUser,
    description: &str,
) -> Result<BackupEntry, AppError> {
    check_description(description)?;
    state
        .manual_backups
        .take_turn(user.id, user.role)
        .map_err(|wait| AppError::TooManyRequests(wait_message(wait)))?;
    let engine = state.engine.clone();
    let request = CreateRequest::manual(description, &user.username);
    let made = blocking(move || engine.create(&request)).await;
    if made.is_err() {
        state.manual_backups.give_back(user.id);
    }
    made
}

/// Looks a name up in the catalog (never joins it to a path as given).
pub async fn find(state: &web::Data<AppState>, name: String) -> Result<BackupEntry, AppError> {
    let engine = state.engine.clone();
    blocking(move || engine.find(&name)).await
}

/// The newest counted backup's name (it may not be deleted).
pub async fn newest_name(state: &web::Data<AppState>) -> Result<Option<String>, AppError> {
    let engine = state.engine.clone();
    let entries = blocking(move || engine.list()).await?;
    Ok(crate::backup::catalog::newest_counted(&entries).map(|e| e.file_name.clone()))
}

/// Refuses (403) and logs a restore attempt by someone who is not a super-admin. `backup`
/// is the name asked for, or `None` for emergency restore.
pub fn require_restorer(
    state: &AppState,
    user: &CurrentUser,
    backup: Option<&str>,
) -> Result<SuperAdmin, AppError> {
    if let Ok(boss) = user.super_admin() {
        return Ok(boss);
    }
    // Only real backup names reach the log, not whatever was typed into the address bar.
    let what = match backup {
        None => "the latest good backup",
        Some(name) if crate::backup::BackupName::parse(name).is_some() => name,
        Some(_) => "an unknown backup",
    };
    state.engine.log().warning(&format!(
        "Restore of {what} refused for {} (role {}): only super-admins may restore",
        user.username, user.role
    ));
    Err(AppError::Forbidden(
        "Only a super-admin can restore backups.".into(),
    ))
}

/// Deletes a backup (admins and up); the engine refuses the newest, a kept one, one in use.
pub async fn delete(
    state: &web::Data<AppState>,
    admin: &Admin,
    name: String,
) -> Result<Result<(), BackupError>, AppError> {
    let (engine, who) = (state.engine.clone(), admin.username().to_string());
    blocking(move || Ok::<_, AppError>(engine.delete(&name, &who))).await
}

/// Which backup a restore puts back.
pub enum Restore {
    Named(String),
    LatestGood,
}

/// Restores a backup (super-admin only), then ends the sessions of everyone whose sign-in
/// changed with it: the session store is outside the data, so nothing ended comes back.
pub async fn restore(
    state: &web::Data<AppState>,
    boss: &SuperAdmin,
    which: Restore,
    options: RestoreOptions,
) -> Result<RestoreReport, AppError> {
    let (engine, store, who) = (
        state.engine.clone(),
        state.auth.clone(),
        boss.username().to_string(),
    );
    blocking(move || {
        let report = match which {
            Restore::Named(name) => engine.restore(&name, &who, options)?,
            Restore::LatestGood => engine.emergency_restore(&who, options)?,
        };
        if crate::backup::BackupName::parse(&report.restored)
            .is_some_and(|n| n.kind == crate::backup::BackupKind::Uploaded)
        {
            // Data brought in is not a regular backup: back it up as one (emergency restore
            // would otherwise pass it over).
            let request =
                crate::backup::CreateRequest::manual("brought back on this computer", &who);
            if let Err(e) = engine.create_when_free(&request, std::time::Duration::from_secs(60)) {
                engine.log().warning(&format!(
                    "The backup after restoring {} failed: {e}",
                    report.restored
                ));
            }
        }
        for id in &report.changed_user_ids {
            store.end_user_sessions(*id, None)?;
        }
        Ok::<_, AppError>(report)
    })
    .await
}

/// Marks a backup Keep or removes the mark (super-admin only).
pub async fn set_keep(
    state: &web::Data<AppState>,
    boss: &SuperAdmin,
    name: String,
    keep: bool,
) -> Result<BackupEntry, AppError> {
    let (engine, who) = (state.engine.clone(), boss.username().to_string());
    blocking(move || engine.set_keep(&name, keep, &who)).await
}

/// Saves the backup settings (super-admin only) and applies them without a restart. Form
/// problems come back as field messages.
pub async fn apply_settings(
    state: &web::Data<AppState>,
    boss: &SuperAdmin,
    interval_hours: String,
    max_backups: String,
) -> Result<Result<Settings, FieldErrors>, AppError> {
    let (engine, who) = (state.engine.clone(), boss.username().to_string());
    let saved = blocking(move || {
        let form = SettingsForm {
            interval_hours: &interval_hours,
            max_backups: &max_backups,
        };
        match engine.apply_settings(&form, &who) {
            Ok(s) => Ok(Ok(s)),
            Err(SettingsError::Invalid(errors)) => Ok(Err(errors)),
            Err(SettingsError::Save(e)) => Err(AppError::internal(e)),
        }
    })
    .await?;
    if let Ok(settings) = &saved {
        state.scheduler.reschedule(settings.interval());
    }
    Ok(saved)
}
