//! `/api/offsite...`: the off-site status, each target's copies, the same buttons as the page
//! (super-admin for changes), and restoring a copy straight from a target. Errors as
//! `{"error": "..."}`.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::actions::backups::{self, Restore};
use crate::actions::bring_in;
use crate::actions::offsite::{self, Done, Setup, TargetAction};
use crate::auth::permission::SuperAdmin;
use crate::backup::{Accounts, RestoreOptions};
use crate::offsite::settings::TargetForm;
use crate::offsite::{CopyView, KeyOutcome};
use crate::web::http::state::AppState;
use crate::web::http::{ApiError, AppError, Ctx, blocking};
use crate::web::views::backups::run_restore;

/// Admins and up, like the page of a target: it says where the copies go.
pub async fn status(Ctx { state, user, .. }: Ctx) -> Result<HttpResponse, ApiError> {
    user.admin()?;
    let st = state.clone();
    let (status, health) =
        blocking(move || Ok::<_, AppError>((st.offsite.status(), st.health()))).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "health": health, "offsite": status })))
}

pub async fn copies(
    Ctx { state, user, .. }: Ctx,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    user.admin()?;
    let offsite = state.offsite.clone();
    let name = name.into_inner();
    let target = name.clone();
    let list = blocking(move || offsite.target(&target)?.copies()).await?;
    let copies: Vec<CopyView> = list.iter().map(CopyView::from_manifest).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "target": name, "copies": copies })))
}

pub async fn add_target(
    Ctx { state, user, .. }: Ctx,
    body: web::Json<TargetForm>,
) -> Result<HttpResponse, ApiError> {
    let (st, boss, form) = (state.clone(), user.super_admin()?, body.into_inner());
    match blocking(move || offsite::add_target(&st.offsite, &boss, &form)).await? {
        Setup::Added { name, outcome } => Ok(HttpResponse::Created().json(serde_json::json!({
            "target": name,
            "new_key": outcome == KeyOutcome::Generated,
        }))),
        Setup::Refused(errors) => Err(ApiError(AppError::BadRequest(errors.joined()))),
    }
}

/// A target's button as a super-admin, off the async workers.
async fn run(
    state: &AppState,
    boss: SuperAdmin,
    name: &str,
    action: TargetAction,
) -> Result<Done, AppError> {
    let (offsite, name) = (state.offsite.clone(), name.to_string());
    blocking(move || offsite::run(&offsite, &boss, &name, action)).await
}

pub async fn remove(
    Ctx { state, user, .. }: Ctx,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    run(&state, user.super_admin()?, &name, TargetAction::Remove).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "removed": name })))
}

pub async fn push(
    Ctx { state, user, .. }: Ctx,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let done = run(&state, user.super_admin()?, &name, TargetAction::SendNow).await?;
    Ok(HttpResponse::Accepted()
        .json(serde_json::json!({ "queued": name, "nothing_new": done == Done::NothingNew })))
}

pub async fn drill(
    Ctx { state, user, .. }: Ctx,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (st, boss, name) = (state.clone(), user.super_admin()?, name.into_inner());
    let drill = blocking(move || offsite::drill_now(&st.offsite, &boss, &name)).await?;
    Ok(HttpResponse::Ok().json(drill))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RestoreCopyBody {
    /// `keep_current` (the default) or `as_in_backup`.
    #[serde(default)]
    accounts: Option<Accounts>,
}

/// `POST /api/offsite/{target}/{copy}/restore`: brings the copy in as `uploaded_…` and
/// restores it (with the safety backup, as always).
pub async fn restore_copy(
    Ctx { state, user, .. }: Ctx,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let boss = backups::require_restorer(&state.engine, &user.actor(), None)?;
    let body: RestoreCopyBody = if body.iter().all(u8::is_ascii_whitespace) {
        RestoreCopyBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| AppError::BadRequest(format!("The JSON body is not valid: {e}")))?
    };
    let (target, copy) = path.into_inner();
    let (offsite, fetcher) = (state.offsite.clone(), boss.clone());
    let entry =
        blocking(move || bring_in::bring_in_copy(&offsite, &fetcher, &target, &copy)).await?;
    let options = RestoreOptions {
        accounts: body.accounts.unwrap_or_default(),
    };
    let report = run_restore(
        &state,
        boss,
        Restore::Named(entry.file_name.clone()),
        options,
    )
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "brought_in": entry.file_name,
        "restore": report,
    })))
}
