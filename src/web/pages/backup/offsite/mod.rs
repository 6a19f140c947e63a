//! `/backup/offsite/...`: setting up off-site targets (super-admin), the emergency kit, and
//! each target's buttons: send now, run the drill, turn off, remove, and its list of copies.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::backup::status_page;
use crate::offsite::settings::TargetForm;
use crate::offsite::{CopyView, KeyOutcome, Offsite, OffsiteError};
use crate::web::ctx::Ctx;
use crate::web::layout::Layout;
use crate::web::offsite_actions::{self, Setup, TargetAction};
use crate::web::session::UserSession;
use crate::web::{AppError, blocking, render, see_other};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/backup/offsite/targets", web::post().to(add_target))
        .route("/backup/offsite/kit", web::get().to(kit_page))
        .route("/backup/offsite/kit/download", web::get().to(kit_download))
        .route("/backup/offsite/kit/confirm", web::post().to(kit_confirm))
        .route("/backup/offsite/key/rotate", web::post().to(rotate_key))
        .route("/backup/offsite/{target}", web::get().to(target_page))
        .route(
            "/backup/offsite/{target}/{button}",
            web::post().to(target_button),
        );
}

pub async fn add_target(
    Ctx { req, state, user }: Ctx,
    session: UserSession,
    form: web::Form<TargetForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    match offsite_actions::add_target(&state, &user.super_admin()?, &form).await? {
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

impl TargetPage {
    fn several(&self) -> bool {
        CopyView::several_senders(&self.copies)
    }
}

#[derive(Template)]
#[template(path = "backup/kit.html")]
struct KitPage {
    layout: Layout,
    kit: String,
    confirmed: bool,
}

pub async fn kit_page(Ctx { req, state, user }: Ctx) -> Result<HttpResponse, AppError> {
    user.super_admin()?;
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

pub async fn kit_download(Ctx { state, user, .. }: Ctx) -> Result<HttpResponse, AppError> {
    user.super_admin()?;
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

pub async fn kit_confirm(ctx: Ctx, session: UserSession) -> Result<HttpResponse, AppError> {
    let done = "Thank you: the emergency kit is saved. Keep it away from this computer.";
    key_button(
        ctx,
        session,
        Offsite::confirm_kit,
        done,
        "/backup/status#offsite",
    )
    .await
}

pub async fn rotate_key(ctx: Ctx, session: UserSession) -> Result<HttpResponse, AppError> {
    let done = "New key made: new copies use it. Older copies stay readable with your old kit, and with this new one (it holds every key). Save the new kit now.";
    key_button(
        ctx,
        session,
        Offsite::rotate_key,
        done,
        "/backup/offsite/kit",
    )
    .await
}

/// A super-admin's change to the key or the kit: do it as them, say so, go on to `next`.
async fn key_button(
    Ctx { state, user, .. }: Ctx,
    session: UserSession,
    change: fn(&Offsite, &str) -> Result<(), OffsiteError>,
    done: &str,
    next: &str,
) -> Result<HttpResponse, AppError> {
    user.super_admin()?;
    let (offsite, who) = (state.offsite.clone(), user.username.clone());
    blocking(move || change(&offsite, &who)).await?;
    session.flash_ok(done);
    Ok(see_other(next))
}

/// `GET /backup/offsite/{target}`: the copies on one target, read from the target itself.
pub async fn target_page(
    Ctx { req, state, user }: Ctx,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    user.admin()?;
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
    let title = format!("Off-site copies on {name}");
    render(&TargetPage {
        layout: Layout::new(&req, &state, &title, "backup").await,
        name,
        location,
        copies,
        error,
        can_bring_in: user.is_super_admin(),
    })
}

/// What a target card's buttons send besides the CSRF token: only "turn on / off" has a
/// value.
#[derive(Deserialize)]
pub struct ButtonForm {
    enabled: Option<String>,
}

/// A target card's button (`push`, `drill`, `enabled`, `remove`): do it, say so, back to the
/// card.
async fn target_button(
    Ctx { state, user, .. }: Ctx,
    session: UserSession,
    path: web::Path<(String, String)>,
    form: Option<web::Form<ButtonForm>>,
) -> Result<HttpResponse, AppError> {
    let (name, button) = path.into_inner();
    let enabled = form.and_then(|f| f.into_inner().enabled);
    let action = match (button.as_str(), enabled.as_deref()) {
        ("push", _) => TargetAction::SendNow,
        ("drill", _) => TargetAction::StartDrill,
        ("enabled", Some(on)) => TargetAction::Enabled(on == "1"),
        ("enabled", None) => {
            return Err(AppError::BadRequest(
                "Say whether the target is on (enabled=1) or off (enabled=0).".into(),
            ));
        }
        ("remove", _) => TargetAction::Remove,
        _ => return Err(AppError::NotFound),
    };
    offsite_actions::run(&state, &user.super_admin()?, name.clone(), action).await?;
    session.flash_ok(action.done_message(&name));
    Ok(see_other("/backup/status#offsite"))
}
