//! The JSON API behind the backup page: session cookie + `X-CSRF-Token` for changes, errors
//! as `{"error": "..."}` with the right status.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::AppState;
use super::error::{ApiError, AppError};
use super::pages::backup::{BackupRow, backup_rows, load_status, require_restorer};
use super::session::CurrentUser;
use crate::auth::Role;
use crate::backup::RestoreOptions;

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
        .route("/api/backups/{name}/restore", web::post().to(restore));
}

async fn list(state: web::Data<AppState>, _user: CurrentUser) -> Result<HttpResponse, ApiError> {
    let engine = state.engine.clone();
    let entries = web::block(move || engine.list()).await??;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "backups": backup_rows(&entries),
        "count": entries.iter().filter(|e| e.kind().counts_toward_cap()).count(),
        "max_backups": state.settings().max_backups,
    })))
}

async fn status(state: web::Data<AppState>, _user: CurrentUser) -> Result<HttpResponse, ApiError> {
    let s = load_status(&state).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "health": s.health,
        "schedule": {
            "active": s.schedule.active,
            "interval_hours": s.schedule.interval_secs as f64 / 3600.0,
            "next_run": s.schedule.next_run,
        },
        "operation": s.operation,
        "backups": { "count": s.counted, "max": s.max_backups, "total_size": s.total_size, "latest": s.latest },
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

async fn create(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body: CreateBody = json_or_default(&body)?;
    let entry = crate::web::backups::create_manual(&state, &user, &body.description).await?;
    Ok(HttpResponse::Created().json(
        serde_json::json!({ "backup": BackupRow::from_entry(&entry, Some(&entry.file_name)) }),
    ))
}

async fn show(
    state: web::Data<AppState>,
    _user: CurrentUser,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let engine = state.engine.clone();
    let name = name.into_inner();
    let entry = web::block(move || engine.find(&name)).await??;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "backup": BackupRow::from_entry(&entry, None),
        "record": entry.sidecar,
    })))
}

async fn delete(
    state: web::Data<AppState>,
    user: CurrentUser,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    user.require(Role::Admin)?;
    let engine = state.engine.clone();
    let name = name.into_inner();
    let target = name.clone();
    let who = user.username.clone();
    web::block(move || engine.delete(&target, &who)).await??;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "deleted": name })))
}

async fn restore(
    state: web::Data<AppState>,
    user: CurrentUser,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    require_restorer(&state, &user, Some(&name))?;
    let engine = state.engine.clone();
    let who = user.username.clone();
    let report = web::block(move || engine.restore(&name, &who, RestoreOptions::default()))
        .await?
        .map_err(AppError::from)?;
    Ok(HttpResponse::Ok().json(report))
}

async fn emergency_restore(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, ApiError> {
    require_restorer(&state, &user, None)?;
    let engine = state.engine.clone();
    let who = user.username.clone();
    let report = web::block(move || engine.emergency_restore(&who, RestoreOptions::default()))
        .await?
        .map_err(AppError::from)?;
    Ok(HttpResponse::Ok().json(report))
}
