//! `POST /api/backups/upload`: a multipart form with `file` and `kit`/`key`, or the file as
//! the raw body with `?name=` and an `X-Backroom-Key` header; the JSON twin of the backup
//! page's upload.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::actions::bring_in;
use crate::web::http::{ApiError, Ctx, blocking, upload};
use crate::web::views::backups::{BackupRow, newest_name};

#[derive(Deserialize)]
pub struct UploadQuery {
    #[serde(default)]
    name: String,
}

pub async fn upload(
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
    let arrived = if multipart {
        upload::receive_multipart(&state, Multipart::new(req.headers(), payload)).await?
    } else {
        let key = req
            .headers()
            .get("x-backroom-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        upload::receive_raw(&state, payload, query.into_inner().name, key).await?
    };
    let offsite = state.offsite.clone();
    let entry = blocking(move || bring_in::add_upload(&offsite, &boss, arrived)).await?;
    let newest = newest_name(&state).await?;
    Ok(HttpResponse::Created().json(serde_json::json!({
        "backup": BackupRow::from_entry(&entry, newest.as_deref(), state.clock.now()),
        "record": entry.sidecar,
    })))
}
