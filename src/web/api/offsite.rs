//! `/api/offsite...`: the off-site status, each target's copies, and the same buttons as the
//! page (super-admin for changes). Errors as `{"error": "..."}`.

use actix_web::{HttpResponse, web};

use super::blocking;
use super::ctx::Ctx;
use super::error::{ApiError, AppError};
use super::offsite_actions::{self, Setup, TargetAction};
use crate::offsite::settings::TargetForm;
use crate::offsite::{CopyView, KeyOutcome};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/offsite", web::get().to(status))
        .route("/api/offsite/targets", web::post().to(add_target))
        .route("/api/offsite/{target}", web::get().to(copies))
        .route("/api/offsite/{target}", web::delete().to(remove))
        .route("/api/offsite/{target}/push", web::post().to(push))
        .route("/api/offsite/{target}/drill", web::post().to(drill));
}

/// Admins and up, like the page of a target: it says where the copies go.
async fn status(Ctx { state, user, .. }: Ctx) -> Result<HttpResponse, ApiError> {
    user.admin()?;
    let st = state.clone();
    let (status, health) =
        blocking(move || Ok::<_, AppError>((st.offsite.status(), st.health()))).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "health": health, "offsite": status })))
}

async fn copies(
    Ctx { state, user, .. }: Ctx,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    user.admin()?;
    let offsite = state.offsite.clone();
    let name = name.into_inner();
    let target = name.clone();
    let list = blocking(move || offsite.copies_of(&target)).await?;
    let copies: Vec<CopyView> = list.iter().map(CopyView::from_manifest).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "target": name, "copies": copies })))
}

async fn add_target(
    Ctx { state, user, .. }: Ctx,
    body: web::Json<TargetForm>,
) -> Result<HttpResponse, ApiError> {
    match offsite_actions::add_target(&state, &user.super_admin()?, &body.into_inner()).await? {
        Setup::Added { name, outcome } => Ok(HttpResponse::Created().json(serde_json::json!({
            "target": name,
            "new_key": outcome == KeyOutcome::Generated,
        }))),
        Setup::Refused(errors) => Err(ApiError(AppError::BadRequest(errors.joined()))),
    }
}

async fn remove(
    Ctx { state, user, .. }: Ctx,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    offsite_actions::run(
        &state,
        &user.super_admin()?,
        name.clone(),
        TargetAction::Remove,
    )
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "removed": name })))
}

async fn push(
    Ctx { state, user, .. }: Ctx,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    offsite_actions::run(
        &state,
        &user.super_admin()?,
        name.clone(),
        TargetAction::SendNow,
    )
    .await?;
    Ok(HttpResponse::Accepted().json(serde_json::json!({ "queued": name })))
}

async fn drill(
    Ctx { state, user, .. }: Ctx,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let drill = offsite_actions::drill_now(&state, &user.super_admin()?, name.into_inner()).await?;
    Ok(HttpResponse::Ok().json(drill))
}
