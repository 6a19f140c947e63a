//! `/backup/offsite/...`: setting up off-site targets (super-admin), the emergency kit, and
//! each target's buttons: send now, run the drill, turn off, remove, and its list of copies.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::backup::status_page;
use crate::auth::Role;
use crate::offsite::settings::TargetForm;
use crate::offsite::{CopyView, KeyOutcome, OffsiteError};
use crate::web::layout::Layout;
use crate::web::offsite_actions::{self, Setup, TargetAction};
use crate::web::session::{CurrentUser, UserSession};
use crate::web::{AppError, AppState, blocking, render, see_other};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/backup/offsite/targets", web::post().to(add_target))
        .route("/backup/offsite/kit", web::get().to(kit_page))
        .route("/backup/offsite/kit/download", web::get().to(kit_download))
        .route("/backup/offsite/kit/confirm", web::post().to(kit_confirm))
        .route("/backup/offsite/key/rotate", web::post().to(rotate_key))
        .route("/backup/offsite/{target}", web::get().to(target_page))
        .route("/backup/offsite/{target}/push", web::post().to(push))
        .route("/backup/offsite/{target}/drill", web::post().to(drill))
        .route("/backup/offsite/{target}/enabled", web::post().to(enabled))
        .route("/backup/offsite/{target}/remove", web::post().to(remove));
}

pub async fn add_target(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: UserSession,
    user: CurrentUser,
    form: web::Form<TargetForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    match offsite_actions::add_target(&state, &user, &form).await? {
        Setup::Added {
            name,
            outcome: KeyOutcome::Generated,
        } => {
            session.flash_ok(format!(
                "Target {name} is set up and its first copy is on the way. Save this emergency kit now: without it the copies cannot be opened."
            ));
            Ok(see_other("/backup/offsite/kit"))
        }
        Setup::Added { name, .. } => {
            session.flash_ok(format!(
                "Target {name} is set up; copies are on the way (with the key you already have)."
            ));
            Ok(see_other("/backup/status#offsite"))
        }
        Setup::Refused(errors) => status_page(&req, &state, user, form, errors).await,
    }
}

#[derive(Template)]
#[template(path = "backup/kit.html")]
struct KitPage {
    layout: Layout,
    kit: String,
    confirmed: bool,
}

pub async fn kit_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    user.require(Role::SuperAdmin)?;
    let offsite = state.offsite.clone();
    let (kit, confirmed) = blocking(move || {
        let kit = offsite.kit_text()?;
        Ok::<_, AppError>((kit, offsite.status().kit_confirmed))
    })
    .await?;
    render(&KitPage {
        layout: Layout::new(&req, &state, "Emergency kit", "backup").await,
        kit,
        confirmed,
    })
}

pub async fn kit_download(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    user.require(Role::SuperAdmin)?;
    let offsite = state.offsite.clone();
    let kit = blocking(move || offsite.kit_text()).await?;
    state
        .engine
        .log()
        .info(&format!("Emergency kit downloaded by {}", user.username));
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"{}\"",
                crate::offsite::kit::KIT_FILE_NAME
            ),
        ))
        .body(kit))
}

pub async fn kit_confirm(
    state: web::Data<AppState>,
    session: UserSession,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    user.require(Role::SuperAdmin)?;
    let (offsite, who) = (state.offsite.clone(), user.username.clone());
    blocking(move || offsite.confirm_kit(&who)).await?;
    session.flash_ok("Thank you: the emergency kit is saved. Keep it away from this computer.");
    Ok(see_other("/backup/status#offsite"))
}

pub async fn rotate_key(
    state: web::Data<AppState>,
    session: UserSession,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    user.require(Role::SuperAdmin)?;
    let (offsite, who) = (state.offsite.clone(), user.username.clone());
    blocking(move || offsite.rotate_key(&who)).await?;
    session.flash_ok(
        "New key made: new copies use it. Older copies stay readable with your old kit, and with this new one (it holds every key). Save the new kit now.",
    );
    Ok(see_other("/backup/offsite/kit"))
}

#[derive(Template)]
#[template(path = "backup/offsite_target.html")]
struct TargetPage {
    layout: Layout,
    name: String,
    location: String,
    copies: Vec<CopyView>,
    error: String,
    /// Super-admins get a "Bring in" button per copy.
    can_bring_in: bool,
}

pub async fn target_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::Admin)?;
    let name = name.into_inner();
    let offsite = state.offsite.clone();
    let target_name = name.clone();
    let (location, listed) = blocking(move || {
        let target = offsite
            .settings()?
            .target(&target_name)
            .cloned()
            .ok_or_else(|| OffsiteError::NoTarget(target_name.clone()))?;
        Ok::<_, AppError>((target.describe(), offsite.copies_of(&target_name)))
    })
    .await?;
    let (copies, error) = match listed {
        Ok(copies) => (
            copies.iter().map(CopyView::from_manifest).collect(),
            String::new(),
        ),
        Err(e) => (Vec::new(), format!("The list could not be read: {e}")),
    };
    render(&TargetPage {
        layout: Layout::new(
            &req,
            &state,
            &format!("Off-site copies on {name}"),
            "backup",
        )
        .await,
        name,
        location,
        copies,
        error,
        can_bring_in: user.is_super_admin(),
    })
}

/// A target card's button: do it, say so, back to the card.
async fn target_button(
    state: web::Data<AppState>,
    session: UserSession,
    user: CurrentUser,
    name: web::Path<String>,
    action: TargetAction,
) -> Result<HttpResponse, AppError> {
    let name = name.into_inner();
    offsite_actions::run(&state, &user, name.clone(), action).await?;
    session.flash_ok(action.done_message(&name));
    Ok(see_other("/backup/status#offsite"))
}

pub async fn push(
    state: web::Data<AppState>,
    session: UserSession,
    user: CurrentUser,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    target_button(state, session, user, name, TargetAction::SendNow).await
}

pub async fn drill(
    state: web::Data<AppState>,
    session: UserSession,
    user: CurrentUser,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    target_button(state, session, user, name, TargetAction::StartDrill).await
}

#[derive(Deserialize)]
pub struct EnabledForm {
    enabled: String,
}

pub async fn enabled(
    state: web::Data<AppState>,
    session: UserSession,
    user: CurrentUser,
    name: web::Path<String>,
    form: web::Form<EnabledForm>,
) -> Result<HttpResponse, AppError> {
    let on = form.enabled == "1";
    target_button(state, session, user, name, TargetAction::Enabled(on)).await
}

pub async fn remove(
    state: web::Data<AppState>,
    session: UserSession,
    user: CurrentUser,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    target_button(state, session, user, name, TargetAction::Remove).await
}
