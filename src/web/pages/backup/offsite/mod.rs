//! `/backup/offsite/...`: setting up off-site targets (super-admin) and the emergency kit
//! (shown, downloaded, printed on one page) and key; one target's page and buttons are
//! `target.rs`.

pub mod target;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::status_page;
use crate::actions::offsite::{self, KeyChange, Setup};
use crate::offsite::KeyOutcome;
use crate::offsite::kit::{PrintedKit, default_address};
use crate::offsite::settings::TargetForm;
use crate::web::http::layout::Layout;
use crate::web::http::session::UserSession;
use crate::web::http::{AppError, Ctx, blocking, render, see_other};

pub async fn add_target(
    Ctx { req, state, user }: Ctx,
    session: UserSession,
    form: web::Form<TargetForm>,
) -> Result<HttpResponse, AppError> {
    let (st, boss, form) = (state.clone(), user.super_admin()?, form.into_inner());
    let (added, form) = blocking(move || {
        let added = offsite::add_target(&st.offsite, &boss, &form)?;
        Ok::<_, AppError>((added, form))
    })
    .await?;
    match added {
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

/// Where Backroom answers on this computer: this server's own port, not always 5000 (a new
/// computer started the same way answers there too).
fn address(req: &HttpRequest) -> String {
    default_address(req.app_config().local_addr().port())
}

pub async fn kit_page(Ctx { req, state, user }: Ctx) -> Result<HttpResponse, AppError> {
    let (offsite, boss, address) = (state.offsite.clone(), user.super_admin()?, address(&req));
    let (kit, confirmed) = blocking(move || {
        let kit = offsite::kit_text(&offsite, &boss, &address)?;
        Ok::<_, AppError>((kit, offsite.status().kit_confirmed))
    })
    .await?;
    render(&KitPage {
        layout: Layout::new(&req, &state, "Emergency kit", "backup").await,
        kit,
        confirmed,
    })
}

/// The kit on one printed page, in plain words: a page of its own (no menu, no forms), with
/// print styles; the only secret on it is the key it must show.
#[derive(Template)]
#[template(path = "backup/kit_print.html")]
struct KitPrintPage {
    kit: PrintedKit,
    address: String,
    made: String,
    css_url: String,
}

pub async fn kit_print(Ctx { req, state, user }: Ctx) -> Result<HttpResponse, AppError> {
    let (offsite, boss) = (state.offsite.clone(), user.super_admin()?);
    let kit = blocking(move || offsite::printed_kit(&offsite, &boss)).await?;
    state.engine.log().info(&format!(
        "Emergency kit opened for printing by {}",
        user.username
    ));
    let page = KitPrintPage {
        made: crate::timefmt::friendly(kit.made),
        kit,
        address: address(&req),
        css_url: crate::web::http::assets::url("kit-print.css"),
    };
    let mut response = render(&page)?;
    // The key is on it: never kept in a cache.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

pub async fn kit_download(Ctx { req, state, user }: Ctx) -> Result<HttpResponse, AppError> {
    let (offsite, boss, address) = (state.offsite.clone(), user.super_admin()?, address(&req));
    let kit = blocking(move || offsite::kit_text(&offsite, &boss, &address)).await?;
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
        KeyChange::ConfirmKit,
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
        KeyChange::RotateKey,
        done,
        "/backup/offsite/kit",
    )
    .await
}

/// A super-admin's change to the key or the kit: do it as them, say so, go on to `next`.
async fn key_button(
    Ctx { state, user, .. }: Ctx,
    session: UserSession,
    change: KeyChange,
    done: &str,
    next: &str,
) -> Result<HttpResponse, AppError> {
    let (offsite, boss) = (state.offsite.clone(), user.super_admin()?);
    blocking(move || offsite::change_key(&offsite, &boss, change)).await?;
    session.flash_ok(done);
    Ok(see_other(next))
}
