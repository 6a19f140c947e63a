//! The JSON API behind the backup page: session cookie + `X-CSRF-Token` for changes, errors
//! as `{"error": "..."}` with the right status. The same use-cases and view models as the page.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::AppState;
use super::backup_view::{BackupRow, backup_rows, load_status};
use super::backups::{self, Restore};
use super::blocking;
use super::ctx::Ctx;
use super::error::{ApiError, AppError};
use super::session::CurrentUser;
use crate::backup::{Accounts, RestoreOptions};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/backups", web::get().to(list))
        .route("/api/backups", web::post().to(create))
        .route("/api/backups/status", web::get().to(status))
        .route(
            "/api/backups/emergency-restore",
            web::post().to(emergency_restore),
        )
        .route("/api/backups/{name}", web::get().to(show))
        .route("/api/backups/{name}", web::delete().to(delete))
        .route("/api/backups/{name}/keep", web::post().to(keep))
        .route("/api/backups/{name}/restore", web::post().to(restore));
}

async fn list(state: web::Data<AppState>, _user: CurrentUser) -> Result<HttpResponse, ApiError> {
    let engine = state.engine.clone();
    let entries = blocking(move || engine.list()).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "backups": backup_rows(&entries, state.clock.now()),
        "count": entries.iter().filter(|e| e.kind().counts_toward_cap()).count(),
        "max_backups": state.settings().max_backups,
    })))
}

async fn status(Ctx { state, .. }: Ctx) -> Result<HttpResponse, ApiError> {
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

async fn create(Ctx { state, user, .. }: Ctx, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let body: CreateBody = json_or_default(&body)?;
    let entry = backups::create_manual(&state, &user, &body.description).await?;
    Ok(HttpResponse::Created().json(serde_json::json!({
        "backup": BackupRow::from_entry(&entry, Some(&entry.file_name), state.clock.now())
    })))
}

async fn show(Ctx { state, .. }: Ctx, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let entry = backups::find(&state, name.into_inner()).await?;
    let newest = backups::newest_name(&state).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "backup": BackupRow::from_entry(&entry, newest.as_deref(), state.clock.now()),
        "record": entry.sidecar,
    })))
}

async fn delete(
    Ctx { state, user, .. }: Ctx,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    backups::delete(&state, &user.admin()?, name.clone()).await??;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "deleted": name })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeepBody {
    keep: bool,
}

async fn keep(
    Ctx { state, user, .. }: Ctx,
    name: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body: KeepBody = serde_json::from_slice(&body).map_err(|e| {
        ApiError(AppError::BadRequest(format!(
            "Send {{\"keep\": true}} or {{\"keep\": false}} ({e})"
        )))
    })?;
    let entry =
        backups::set_keep(&state, &user.super_admin()?, name.into_inner(), body.keep).await?;
    let newest = backups::newest_name(&state).await?;
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

async fn restore(
    Ctx { state, user, .. }: Ctx,
    name: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body: RestoreBody = json_or_default(&body)?;
    let name = name.into_inner();
    let boss = backups::require_restorer(&state, &user, Some(&name))?;
    let report = backups::restore(&state, &boss, Restore::Named(name), body.options()).await?;
    Ok(HttpResponse::Ok().json(report))
}

async fn emergency_restore(
    Ctx { state, user, .. }: Ctx,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body: RestoreBody = json_or_default(&body)?;
    let boss = backups::require_restorer(&state, &user, None)?;
    let report = backups::restore(&state, &boss, Restore::LatestGood, body.options()).await?;
    Ok(HttpResponse::Ok().json(report))
}
