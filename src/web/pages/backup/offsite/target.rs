//! `/backup/offsite/{target}...`: one target's page with its copies, its four buttons (send
//! now, run the drill, turn on or off, remove; super-admin), and bringing one of its copies
//! into the backups.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::actions::bring_in;
use crate::actions::offsite::{self, TargetAction};
use crate::offsite::CopyView;
use crate::web::http::layout::Layout;
use crate::web::http::session::UserSession;
use crate::web::http::{AppError, Ctx, blocking, render, see_other};
use crate::web::pages::backup::upload::added;

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
        let target = offsite.target(&target_name)?;
        Ok::<_, AppError>((target.settings().describe(), target.copies()))
    })
    .await?;
    let (copies, error) = match listed {
        Ok(copies) => (
            copies.iter().map(CopyView::from_manifest).collect(),
            String::new(),
        ),
        Err(e) => (
            Vec::new(),
            format!(
                "The list could not be read: {}",
                crate::error_chain::chain(&e)
            ),
        ),
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

/// What a target card's button arrives with: who pressed it, their session (for the
/// message), and the target's name.
type Button = (Ctx, UserSession, web::Path<String>);

/// A target card's button: do it as a super-admin, say so, back to the card.
async fn press(
    (Ctx { state, user, .. }, session, name): Button,
    action: TargetAction,
) -> Result<HttpResponse, AppError> {
    let name = name.into_inner();
    let (offsite, boss, target) = (state.offsite.clone(), user.super_admin()?, name.clone());
    let done = blocking(move || offsite::run(&offsite, &boss, &target, action)).await?;
    session.flash_ok(action.done_message(&name, done));
    Ok(see_other("/backup/status#offsite"))
}

/// `POST /backup/offsite/{target}/push`: send now.
pub async fn push(button: Button) -> Result<HttpResponse, AppError> {
    press(button, TargetAction::SendNow).await
}

/// `POST /backup/offsite/{target}/drill`: the restore drill, in the background.
pub async fn drill(button: Button) -> Result<HttpResponse, AppError> {
    press(button, TargetAction::StartDrill).await
}

/// `POST /backup/offsite/{target}/remove`: Backroom forgets the target (its copies stay).
pub async fn remove(button: Button) -> Result<HttpResponse, AppError> {
    press(button, TargetAction::Remove).await
}

/// What the "turn on / off" button sends besides the CSRF token.
#[derive(Deserialize)]
pub struct EnabledForm {
    enabled: Option<String>,
}

/// `POST /backup/offsite/{target}/enabled` with `enabled=1` or `enabled=0`.
pub async fn enabled(
    button: Button,
    form: Option<web::Form<EnabledForm>>,
) -> Result<HttpResponse, AppError> {
    let Some(on) = form.and_then(|f| f.into_inner().enabled) else {
        return Err(AppError::BadRequest(
            "Say whether the target is on (enabled=1) or off (enabled=0).".into(),
        ));
    };
    press(button, TargetAction::Enabled(on == "1")).await
}

/// `POST /backup/offsite/{target}/{copy}/bring-in` (super-admin): a copy from the target,
/// checked and added as `uploaded_…`, shown on its details page.
pub async fn bring_in(
    Ctx { state, user, .. }: Ctx,
    session: UserSession,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (offsite, boss) = (state.offsite.clone(), user.super_admin()?);
    let (target, copy) = path.into_inner();
    let entry = blocking(move || bring_in::bring_in_copy(&offsite, &boss, &target, &copy)).await?;
    Ok(added(&session, &entry))
}
