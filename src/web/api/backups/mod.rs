//! `/api/backups...`: the JSON API behind the backup page (session cookie + `X-CSRF-Token`
//! for changes, errors as `{"error": "..."}` with the right status). The same use-cases and
//! view models as the page. Looking inside a backup is `records.rs`, uploads `upload.rs`.

pub mod records;
pub mod upload;

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::actions::backups::{self, Restore};
use crate::backup::{Accounts, RestoreOptions};
use crate::web::http::session::CurrentUser;
use crate::web::http::state::AppState;
use crate::web::http::{ApiError, AppError, Ctx, blocking};
use crate::web::views::backups::{
    BackupRow, backup_rows, find_backup, load_status, newest_name, run_restore,
};

pub async fn list(
    state: web::Data<AppState>,
    _user: CurrentUser,
) -> Result<HttpResponse, ApiError> {
    let engine = state.engine.clone();
    let entries = blocking(move || engine.list()).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "backups": backup_rows(&entries, state.clock.now()),
        "count": entries.iter().filter(|e| e.kind().counts_toward_cap()).count(),
        "max_backups": state.engine.settings().max_backups,
    })))
}

pub async fn status(Ctx { state, .. }: Ctx) -> Result<HttpResponse, ApiError> {
    let s = load_status(&state).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "health": s.health,
        "schedule": {
            "active": s.schedule.active,
            "interval_hours": s.schedule.interval_secs as f64 / 3600.0,
            "next_run": s.schedule.next_run,
        },
        "operation": s.operation,
        "backups": {
            "count": s.counted,
            "max": s.max_backups,
            "extras": s.extras,
            "extra_allowance": s.extra_allowance,
            "total_size": s.total_size,
            "latest": s.latest,
            "next_automatic_pushes_out": s.retention.next_automatic_pushes_out,
            "over_cap_by": s.retention.over_cap_by,
        },
        "database": {
            "size": s.database_size,
            "quick_check": s.quick_check,
            "integrity_check": s.integrity_check,
        },
        "backups_dir": s.backups_dir,
        "free_space": s.free_space,
    })))
}

/// An empty body means "no options"; anything else must be valid JSON of the right shape.
fn json_or_default<T: Default + serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError(AppError::BadRequest(format!(
            "The request was not understood: {e}"
        )))
    })
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    #[serde(default)]
    description: String,
}

pub async fn create(
    Ctx { state, user, .. }: Ctx,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body: CreateBody = json_or_default(&body)?;
    let (st, actor) = (state.clone(), user.actor());
    let entry = blocking(move || {
        backups::create_manual(&st.engine, &st.manual_backups, &actor, &body.description)
    })
    .await?;
    Ok(HttpResponse::Created().json(serde_json::json!({
        "backup": BackupRow::from_entry(&entry, Some(&entry.file_name), state.clock.now())
    })))
}

pub async fn show(
    Ctx { state, .. }: Ctx,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let entry = find_backup(&state, name.into_inner()).await?;
    let newest = newest_name(&state).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "backup": BackupRow::from_entry(&entry, newest.as_deref(), state.clock.now()),
        "record": entry.sidecar,
    })))
}

pub async fn delete(
    Ctx { state, user, .. }: Ctx,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (engine, admin, name) = (state.engine.clone(), user.admin()?, name.into_inner());
    let deleted = name.clone();
    blocking(move || backups::delete(&engine, &admin, &deleted)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "deleted": name })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeepBody {
    keep: bool,
}

pub async fn keep(
    Ctx { state, user, .. }: Ctx,
    name: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body: KeepBody = serde_json::from_slice(&body).map_err(|e| {
        ApiError(AppError::BadRequest(format!(
            "Send {{\"keep\": true}} or {{\"keep\": false}} ({e})"
        )))
    })?;
    let (engine, boss) = (state.engine.clone(), user.super_admin()?);
    let entry = blocking(move || backups::set_keep(&engine, &boss, &name, body.keep)).await?;
    let newest = newest_name(&state).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "backup": BackupRow::from_entry(&entry, newest.as_deref(), state.clock.now())
    })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RestoreBody {
    /// `keep_current` (the default) or `as_in_backup`.
    #[serde(default)]
    accounts: Option<Accounts>,
}

impl RestoreBody {
    fn options(&self) -> RestoreOptions {
        RestoreOptions {
            accounts: self.accounts.unwrap_or_default(),
        }
    }
}

pub async fn restore(
    Ctx { state, user, .. }: Ctx,
    name: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body: RestoreBody = json_or_default(&body)?;
    let name = name.into_inner();
    let boss = backups::require_restorer(&state.engine, &user.actor(), Some(&name))?;
    let report = run_restore(&state, boss, Restore::Named(name), body.options()).await?;
    Ok(HttpResponse::Ok().json(report))
}

pub async fn emergency_restore(
    Ctx { state, user, .. }: Ctx,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body: RestoreBody = json_or_default(&body)?;
    let boss = backups::require_restorer(&state.engine, &user.actor(), None)?;
    let report = run_restore(&state, boss, Restore::LatestGood, body.options()).await?;
    Ok(HttpResponse::Ok().json(report))
}
