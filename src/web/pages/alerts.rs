//! `/alerts` (super-admin only): the channels alerts go to (never their secrets), adding and
//! removing one, *Send a test*, and whether alerts can be sent right now.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::alerts::settings::ChannelForm;
use crate::alerts::{AlertError, AlertStatus};
use crate::fields::FieldErrors;
use crate::web::http::ctx::Ctx;
use crate::web::http::layout::Layout;
use crate::web::http::session::UserSession;
use crate::web::http::{AppError, blocking, render_form, see_other};

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    layout: Layout,
    status: AlertStatus,
    /// The add form as typed (the password and the address are never shown back).
    form: ChannelForm,
    errors: FieldErrors,
}

impl AlertsPage {
    fn last(&self, channel: &crate::alerts::ChannelView) -> String {
        match &channel.last {
            None => "nothing sent yet".into(),
            Some(d) if d.ok => format!("last sent {}", crate::timefmt::local(d.at)),
            Some(d) => format!("cannot be reached: {}", d.error),
        }
    }
}

fn internal(e: AlertError) -> AppError {
    AppError::internal(e)
}

async fn show(ctx: &Ctx, form: ChannelForm, errors: FieldErrors) -> Result<HttpResponse, AppError> {
    let paths = ctx.state.engine.paths().clone();
    let status = blocking(move || crate::alerts::status(&paths).map_err(internal)).await?;
    let failed = !errors.is_empty();
    let shown = ChannelForm {
        password: String::new(),
        url: String::new(),
        ..form
    };
    render_form(
        &AlertsPage {
            layout: Layout::new(&ctx.req, &ctx.state, "Alerts", "alerts").await,
            status,
            form: shown,
            errors,
        },
        failed,
    )
}

pub async fn page(ctx: Ctx) -> Result<HttpResponse, AppError> {
    ctx.user.super_admin()?;
    let form = ChannelForm {
        kind: "email".into(),
        tls: "starttls".into(),
        ..ChannelForm::default()
    };
    show(&ctx, form, FieldErrors::default()).await
}

pub async fn add(
    ctx: Ctx,
    session: UserSession,
    form: web::Form<ChannelForm>,
) -> Result<HttpResponse, AppError> {
    ctx.user.super_admin()?;
    let form = form.into_inner();
    let paths = ctx.state.engine.paths().clone();
    let typed = form.clone();
    let added =
        blocking(move || crate::alerts::add_channel(&paths, &typed).map_err(internal)).await?;
    match added {
        Ok(channel) => {
            ctx.state.engine.log().info(&format!(
                "Alert channel {} ({}) added by {}",
                channel.name,
                channel.kind_label(),
                ctx.user.username
            ));
            session.flash_ok(format!(
                "Alert channel {} added: {}. Send a test to check that it reaches you.",
                channel.name,
                channel.describe()
            ));
            Ok(see_other("/alerts"))
        }
        Err(errors) => show(&ctx, form, errors).await,
    }
}

#[derive(Deserialize)]
pub struct TestForm {
    #[serde(default)]
    name: String,
}

pub async fn test(
    ctx: Ctx,
    session: UserSession,
    form: web::Form<TestForm>,
) -> Result<HttpResponse, AppError> {
    ctx.user.super_admin()?;
    let name = form.into_inner().name;
    let which = (!name.is_empty()).then_some(name);
    ctx.state.alerts.send_test(which.clone());
    session.flash_ok(match which {
        Some(name) => format!(
            "A test message is on its way to {name}. This page says below whether it could be sent."
        ),
        None => "A test message is on its way to every channel. This page says below whether it could be sent.".into(),
    });
    Ok(see_other("/alerts"))
}

pub async fn remove(
    ctx: Ctx,
    session: UserSession,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    ctx.user.super_admin()?;
    let name = name.into_inner();
    let paths = ctx.state.engine.paths().clone();
    let asked = name.clone();
    blocking(
        move || match crate::alerts::remove_channel(&paths, &asked) {
            Err(AlertError::NoChannel(_)) => Err(AppError::NotFound),
            other => other.map_err(internal),
        },
    )
    .await?;
    ctx.state.engine.log().info(&format!(
        "Alert channel {name} removed by {}",
        ctx.user.username
    ));
    session.flash_ok(format!("Alert channel {name} removed."));
    Ok(see_other("/alerts"))
}
