//! `POST /api/backups/upload` (a multipart form with `file` and `kit`/`key`, or the file as the
//! raw body with `?name=` and an `X-Backroom-Key` header) and
//! `POST /api/offsite/{target}/{copy}/restore`: the JSON twins of bringing a backup in.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::backup_view::BackupRow;
use super::backups::{self, Restore};
use super::bring_in;
use super::ctx::Ctx;
use super::error::ApiError;
use crate::backup::{Accounts, RestoreOptions};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/backups/upload", web::post().to(upload))
        .route(
            "/api/offsite/{target}/{copy}/restore",
            web::post().to(restore_copy),
        );
}

#[derive(Deserialize)]
struct UploadQuery {
    #[serde(default)]
    name: String,
}

async fn upload(
    Ctx { req, state, user }: Ctx,
    query: web::Query<UploadQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let boss = user.super_admin()?;
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("multipart/form-data"));
    let upload = if multipart {
        bring_in::receive_multipart(&state, Multipart::new(req.headers(), payload)).await?
    } else {
        let key = req
            .headers()
            .get("x-backroom-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        bring_in::receive_raw(&state, payload, query.into_inner().name, key).await?
    };
    let entry = bring_in::add_upload(&state, &boss, upload).await?;
    let newest = backups::newest_name(&state).await?;
    Ok(HttpResponse::Created().json(serde_json::json!({
        "backup": BackupRow::from_entry(&entry, newest.as_deref(), state.clock.now()),
        "record": entry.sidecar,
    })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RestoreCopyBody {
    /// `keep_current` (the default) or `as_in_backup`.
    #[serde(default)]
    accounts: Option<Accounts>,
}

/// Brings the copy in as `uploaded_…` and restores it (with the safety backup, as always).
async fn restore_copy(
    Ctx { state, user, .. }: Ctx,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let boss = backups::require_restorer(&state, &user, None)?;
    let body: RestoreCopyBody = if body.iter().all(u8::is_ascii_whitespace) {
        RestoreCopyBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| super::AppError::BadRequest(format!("The JSON body is not valid: {e}")))?
    };
    let (target, copy) = path.into_inner();
    let entry = bring_in::bring_in_copy(&state, &boss, target, copy).await?;
    let options = RestoreOptions {
        accounts: body.accounts.unwrap_or_default(),
    };
    let report = backups::restore(
        &state,
        &boss,
        Restore::Named(entry.file_name.clone()),
        options,
    )
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "brought_in": entry.file_name,
        "restore": report,
    })))
}
