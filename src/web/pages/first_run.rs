//! "Bring back my data" on the first-run page (no accounts yet, from this computer only): a
//! backup file, or a copy picked from an off-site target. The data is checked and restored
//! with its own accounts; then the person signs in as before.

use actix_multipart::Multipart;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::auth::first_run_render;
use crate::backup::RestoreReport;
use crate::fields::FieldErrors;
use crate::offsite::settings::TargetForm;
use crate::offsite::{CopyView, NewTarget};
use crate::web::layout::Layout;
use crate::web::session::UserSession;
use crate::web::{AppError, AppState, bring_in, is_loopback, render, see_other};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/first-run/upload", web::post().to(upload))
        .route("/first-run/restore-file", web::post().to(restore_file))
        .route("/first-run/connect", web::post().to(connect))
        .route("/first-run/restore", web::post().to(restore));
}

fn local_only(req: &HttpRequest) -> Result<(), AppError> {
    if is_loopback(req) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "Data can only be brought back from the computer Backroom runs on.".into(),
        ))
    }
}

fn done(session: &UserSession, report: &RestoreReport) -> HttpResponse {
    let rows: Vec<String> = ["products", "customers", "sales"]
        .iter()
        .filter_map(|t| report.row_counts.get(*t).map(|n| format!("{n} {t}")))
        .collect();
    session.flash_ok(format!(
        "Your data is back ({}), from {}. Sign in with your account from before.",
        rows.join(", "),
        report.restored
    ));
    see_other("/login")
}

/// The first-run page again with the problem in its "bring back" box (nothing changed).
async fn again(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    problem: AppError,
    setup: TargetForm,
) -> Result<HttpResponse, AppError> {
    match problem {
        AppError::BadRequest(message)
        | AppError::Unavailable(message)
        | AppError::TooLarge(message)
        | AppError::TooManyRequests(message)
        | AppError::TimedOut(message)
        | AppError::Conflict(message) => {
            let mut errors = FieldErrors::default();
            errors.add("bring_back", message);
            first_run_render(req, state, String::new(), false, errors, setup).await
        }
        AppError::NotFound => {
            let mut errors = FieldErrors::default();
            errors.add("bring_back", "That copy is not on the target (any more).");
            first_run_render(req, state, String::new(), false, errors, setup).await
        }
        other => Err(other),
    }
}

/// The file's numbers, to confirm before its data is put in place.
#[derive(Template)]
#[template(path = "first_run_confirm.html")]
struct ConfirmPage {
    layout: Layout,
    name: String,
    size: String,
    /// (table, rows) as the file holds them.
    counts: Vec<(String, i64)>,
}

pub async fn upload(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: Multipart,
) -> Result<HttpResponse, AppError> {
    local_only(&req)?;
    // Refused before a byte of the body is read once accounts exist.
    if let Err(e) = bring_in::first_run_may_upload(&state).await {
        return again(&req, &state, e, TargetForm::default()).await;
    }
    let result = match bring_in::receive_multipart(&state, form).await {
        Ok(upload) => bring_in::first_run_add_upload(&state, upload).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(entry) => {
            let counts = entry
                .sidecar
                .as_ref()
                .map(|s| s.row_counts.clone().into_iter().collect())
                .unwrap_or_default();
            render(&ConfirmPage {
                layout: Layout::new(&req, &state, "Bring back my data", "first-run").await,
                size: crate::fsutil::human_size(entry.size),
                name: entry.file_name,
                counts,
            })
        }
        Err(e) => again(&req, &state, e, TargetForm::default()).await,
    }
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    name: String,
}

pub async fn restore_file(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: UserSession,
    form: web::Form<ConfirmForm>,
) -> Result<HttpResponse, AppError> {
    local_only(&req)?;
    match bring_in::first_run_restore_upload(&state, form.into_inner().name).await {
        Ok(report) => Ok(done(&session, &report)),
        Err(e) => again(&req, &state, e, TargetForm::default()).await,
    }
}

#[derive(Template)]
#[template(path = "first_run_copies.html")]
struct CopiesPage {
    layout: Layout,
    target: String,
    token: String,
    copies: Vec<CopyView>,
}

impl CopiesPage {
    fn several(&self) -> bool {
        CopyView::several_senders(&self.copies)
    }
}

pub async fn connect(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<TargetForm>,
) -> Result<HttpResponse, AppError> {
    local_only(&req)?;
    let form = form.into_inner();
    let (target, credentials) = match form.parse() {
        Ok(parsed) => parsed,
        Err(errors) => {
            return first_run_render(&req, &state, String::new(), false, errors, form).await;
        }
    };
    let described = target.describe();
    let new = NewTarget {
        target,
        credentials,
        kit: Some(form.kit.clone()),
        create_folder: false,
    };
    match bring_in::first_run_connect(&state, new).await {
        Ok((token, copies)) => {
            let page = CopiesPage {
                layout: Layout::new(&req, &state, "Bring back my data", "first-run").await,
                target: described,
                token,
                copies: copies.iter().map(CopyView::from_manifest).collect(),
            };
            render(&page)
        }
        Err(e) => again(&req, &state, e, form).await,
    }
}

#[derive(Deserialize)]
pub struct PickForm {
    token: String,
    copy: String,
}

pub async fn restore(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: UserSession,
    form: web::Form<PickForm>,
) -> Result<HttpResponse, AppError> {
    local_only(&req)?;
    let PickForm { token, copy } = form.into_inner();
    match bring_in::first_run_from_target(&state, token, copy).await {
        Ok(report) => Ok(done(&session, &report)),
        Err(e) => again(&req, &state, e, TargetForm::default()).await,
    }
}
