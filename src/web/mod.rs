//! The web app: routes that mirror the URLs, thin handlers (extract → call the domain →
//! render), and the shared state they use.

pub mod api;
pub mod api_bring_in;
pub mod api_offsite;
pub mod api_records;
pub mod app;
pub mod assets;
pub mod backup_view;
pub mod backups;
pub mod bring_in;
pub mod ctx;
pub mod error;
pub mod host_guard;
pub mod layout;
pub mod middleware;
pub mod missing_data;
pub mod offsite_actions;
pub mod offsite_view;
pub mod pages;
pub mod records;
pub mod security;
pub mod session;
pub mod session_store;
pub mod suggest;
pub mod upload_gate;

use std::sync::{Arc, RwLock};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use rusqlite::Connection;

use crate::auth::store::AuthStore;
use crate::auth::throttle::LoginThrottle;
use crate::backup::BackupEngine;
use crate::backup::scheduler::Scheduler;
use crate::clock::SharedClock;
use crate::config::{Paths, Settings};
use crate::db::{Db, DbError};
pub use error::{ApiError, AppError};

/// Largest form or JSON body accepted (a sale with many lines fits easily).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Everything handlers share.
pub struct AppState {
    pub paths: Paths,
    pub db: Db,
    pub engine: BackupEngine,
    pub offsite: crate::offsite::Offsite,
    pub settings: Arc<RwLock<Settings>>,
    pub scheduler: Arc<Scheduler>,
    /// Sessions and failed-login counters (`sessions.db`, outside the business data).
    pub auth: Arc<AuthStore>,
    pub throttle: LoginThrottle,
    pub manual_backups: crate::auth::limits::ManualBackupLimit,
    /// The target connected to on the first-run page, until a copy is chosen from it.
    pub first_run_link: bring_in::PendingLink,
    pub clock: SharedClock,
    /// The names this server answers to (the `Host` check).
    pub hosts: web::Data<host_guard::AllowedHosts>,
    /// Files arriving at once, and how long a body may pause.
    pub uploads: upload_gate::UploadGate,
}

impl AppState {
    /// The answer to "is my data safe?": local backups and off-site copies (blocking: reads
    /// the backup folder and the off-site status file).
    pub fn health(&self) -> crate::backup::health::Health {
        let now = self.clock.now();
        self.offsite.health(self.engine.health(now), now)
    }

    pub fn settings(&self) -> Settings {
        self.settings
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Runs blocking work (SQLite, argon2, file I/O, backups) on the blocking pool, never on an
/// async worker. The one way handlers do such work.
pub async fn blocking<T, E, F>(f: F) -> Result<T, AppError>
where
    F: FnOnce() -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: Into<AppError> + Send + 'static,
{
    web::block(f).await?.map_err(Into::into)
}

/// [`blocking`] with a pooled connection of the live database.
pub async fn run_db<T, E, F>(state: &web::Data<AppState>, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<DbError> + Into<AppError> + Send + 'static,
{
    let db = state.db.clone();
    blocking(move || db.with_conn(f)).await
}

/// 303 See Other: the answer to a successful form POST.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_string()))
        .finish()
}

pub fn is_loopback(req: &HttpRequest) -> bool {
    req.peer_addr()
        .is_some_and(|a| a.ip().to_canonical().is_loopback())
}

/// Renders an askama template as an HTML response.
pub fn render(template: &impl askama::Template) -> Result<HttpResponse, AppError> {
    let mut response = HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(template.render()?);
    error::mark_rendered(&mut response);
    Ok(response)
}

/// Anything no route matched: a page, or JSON under `/api/`.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    let err = AppError::NotFound;
    if req.path().starts_with("/api/") {
        actix_web::ResponseError::error_response(&ApiError(err))
    } else {
        actix_web::ResponseError::error_response(&err)
    }
}

/// Renders a page with another status (e.g. 401 for a failed login, 429 when locked out).
pub fn render_status(
    template: &impl askama::Template,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, AppError> {
    let mut response = render(template)?;
    *response.status_mut() = status;
    Ok(response)
}

/// Renders a form page: 400 when it is shown again because of invalid input.
pub fn render_form(
    template: &impl askama::Template,
    invalid: bool,
) -> Result<HttpResponse, AppError> {
    if invalid {
        render_status(template, actix_web::http::StatusCode::BAD_REQUEST)
    } else {
        render(template)
    }
}

/// The whole URL map.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/{path:.*}", web::get().to(assets::serve))
        .route("/", web::get().to(pages::home::index))
        .route("/first-run", web::post().to(pages::auth::first_run))
        .configure(pages::first_run::routes)
        .route("/login", web::get().to(pages::auth::login_page))
        .route("/login", web::post().to(pages::auth::login))
        .route("/logout", web::post().to(pages::auth::logout))
        .route("/account", web::get().to(pages::auth::account_page))
        .route("/account", web::post().to(pages::auth::change_password))
        .configure(pages::offsite::routes)
        .configure(pages::backup::routes)
        .configure(api_bring_in::routes)
        .configure(api_records::routes)
        .configure(api_offsite::routes)
        .configure(api::routes)
        .configure(suggest::routes)
        .configure(pages::business_routes);
}
