//! The page Backroom serves instead of the shop while `business_data.db` is missing and
//! backups exist (see `server/missing.rs`): only to the computer itself, with no sessions; a
//! form proves it came from the page with a token made at start.

use std::sync::Arc;

use actix_web::middleware::DefaultHeaders;
use actix_web::{App, HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::http::app::Served;
use super::http::layout::Layout;
use super::http::{AppError, assets, blocking, is_loopback, render, security};
use crate::backup::RestoreReport;
use crate::server::missing::{Choice, Missing, RescueError};
use crate::timefmt;

/// The page's application: the page for every GET, three forms, the static files.
pub fn build(missing: Arc<Missing>) -> App<impl Served + use<>> {
    App::new()
        .app_data(web::Data::new(missing.hosts.clone()))
        .app_data(web::Data::from(missing))
        .app_data(web::FormConfig::default().limit(4096))
        .wrap(
            security::SECURITY_HEADERS
                .iter()
                .fold(DefaultHeaders::new(), |headers, (name, value)| {
                    headers.add((*name, *value))
                }),
        )
        .wrap(actix_web::middleware::from_fn(
            super::http::host_guard::host_guard,
        ))
        .route("/static/{path:.*}", web::get().to(assets::serve))
        .route("/missing-data/restore", web::post().to(restore))
        .route("/missing-data/offsite", web::post().to(offsite))
        .route(
            "/missing-data/new-empty-shop",
            web::post().to(new_empty_shop),
        )
        .default_service(web::to(page))
}

struct NewestView {
    name: String,
    kind: &'static str,
    made: String,
    ago: String,
    counts: String,
}

struct TargetView {
    name: String,
    description: String,
}

#[derive(Template)]
#[template(path = "missing_data.html")]
struct MissingPage {
    layout: Layout,
    db_path: String,
    backups_dir: String,
    newest: Option<NewestView>,
    other_backups: usize,
    targets: Vec<TargetView>,
    restore_command: &'static str,
    exe: &'static str,
    problem: Option<String>,
    done: Option<String>,
}

fn layout(missing: &Missing, title: &str) -> Layout {
    Layout {
        title: title.into(),
        nav: "missing-data",
        user: None,
        csrf: missing.token.clone(),
        banner: None,
        flashes: Vec::new(),
        version: crate::version_line(),
        css_url: assets::url("app.css"),
        js_url: assets::url("app.js"),
    }
}

fn shop_counts(counts: &std::collections::BTreeMap<String, i64>) -> String {
    ["products", "customers", "sales"]
        .iter()
        .filter_map(|t| counts.get(*t).map(|n| format!("{n} {t}")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The page as the folder is now; `problem` says why the last attempt changed nothing.
async fn render_page(
    missing: web::Data<Missing>,
    problem: Option<String>,
) -> Result<HttpResponse, AppError> {
    let m = missing.clone();
    let evidence = blocking(move || m.evidence().map_err(AppError::internal)).await?;
    let now = chrono::Utc::now();
    let newest = evidence.newest_good().map(|e| NewestView {
        name: e.file_name.clone(),
        kind: e.kind().label(),
        made: timefmt::local(e.created_at()),
        ago: timefmt::ago(e.created_at(), now),
        counts: e
            .sidecar
            .as_ref()
            .map(|s| shop_counts(&s.row_counts))
            .unwrap_or_default(),
    });
    let page = MissingPage {
        layout: layout(&missing, "The data file is missing"),
        db_path: missing.paths.db.display().to_string(),
        backups_dir: missing.paths.backups.display().to_string(),
        newest,
        other_backups: evidence.backups.len(),
        targets: evidence
            .targets
            .iter()
            .map(|t| TargetView {
                name: t.name.clone(),
                description: t.describe(),
            })
            .collect(),
        restore_command: crate::platform::RESTORE_LATEST_COMMAND,
        exe: crate::platform::EXE_COMMAND,
        problem,
        done: None,
    };
    let mut response = render(&page)?;
    // Not the shop: say so to anything that checks the status.
    *response.status_mut() = actix_web::http::StatusCode::SERVICE_UNAVAILABLE;
    Ok(response)
}

fn local_only(req: &HttpRequest) -> Result<(), AppError> {
    if is_loopback(req) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "Backroom's data file is missing; it can only be brought back on the computer Backroom runs on.".into(),
        ))
    }
}

async fn page(req: HttpRequest, missing: web::Data<Missing>) -> Result<HttpResponse, AppError> {
    local_only(&req)?;
    if req.method() != actix_web::http::Method::GET && req.method() != actix_web::http::Method::HEAD
    {
        return Err(AppError::NotFound);
    }
    render_page(missing, None).await
}

#[derive(Deserialize)]
struct TokenForm {
    token: String,
    #[serde(default)]
    target: String,
}

fn check_token(missing: &Missing, form: &TokenForm) -> Result<(), AppError> {
    if security::tokens_match(&missing.token, &form.token) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "This form did not come from Backroom's page; reload the page and try again.".into(),
        ))
    }
}

/// The data is back: the page's server stops and the shop starts on the same address.
fn restored(missing: &Missing, report: &RestoreReport) -> Result<HttpResponse, AppError> {
    missing.choose(Choice::Restored(report.restored.clone()));
    let page = MissingPage {
        layout: layout(missing, "Your data is back"),
        db_path: missing.paths.db.display().to_string(),
        backups_dir: missing.paths.backups.display().to_string(),
        newest: None,
        other_backups: 0,
        targets: Vec::new(),
        restore_command: crate::platform::RESTORE_LATEST_COMMAND,
        exe: crate::platform::EXE_COMMAND,
        problem: None,
        done: Some(format!(
            "Restored {} ({}). Backroom is starting with it now: sign in with your account.",
            report.restored,
            shop_counts(&report.row_counts)
        )),
    };
    render(&page)
}

async fn attempt(
    req: HttpRequest,
    missing: web::Data<Missing>,
    form: web::Form<TokenForm>,
    work: fn(&Missing, &str) -> Result<RestoreReport, RescueError>,
) -> Result<HttpResponse, AppError> {
    local_only(&req)?;
    check_token(&missing, &form)?;
    let m = missing.clone();
    let target = form.into_inner().target;
    match web::block(move || work(&m, &target)).await? {
        Ok(report) => restored(&missing, &report),
        Err(problem) => {
            let said = crate::error_chain::chain(&problem);
            render_page(missing, Some(format!("Nothing was changed: {said}"))).await
        }
    }
}

async fn restore(
    req: HttpRequest,
    missing: web::Data<Missing>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, AppError> {
    attempt(req, missing, form, |m, _| m.restore_newest()).await
}

async fn offsite(
    req: HttpRequest,
    missing: web::Data<Missing>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, AppError> {
    attempt(req, missing, form, |m, target| m.restore_offsite(target)).await
}

async fn new_empty_shop(
    req: HttpRequest,
    missing: web::Data<Missing>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, AppError> {
    local_only(&req)?;
    check_token(&missing, &form)?;
    missing.choose(Choice::NewEmptyShop);
    Ok(super::http::see_other("/"))
}
