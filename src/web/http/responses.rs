//! The answers handlers give, and the one way they run blocking work: a rendered page, a
//! redirect after a form, a 404, and SQLite or file work moved off the async workers.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use rusqlite::Connection;

use super::error::{self, ApiError, AppError};
use crate::db::DbError;
use crate::web::http::state::AppState;

/// Largest form or JSON body accepted (a sale with many lines fits easily).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

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

/// Renders an askama template as an HTML response.
pub fn render(template: &impl askama::Template) -> Result<HttpResponse, AppError> {
    let mut response = HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(template.render()?);
    error::mark_rendered(&mut response);
    Ok(response)
}

/// Renders a page with another status (e.g. 401 for a failed login, 429 when locked out).
pub fn render_status(
    template: &impl askama::Template,
    status: StatusCode,
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
        render_status(template, StatusCode::BAD_REQUEST)
    } else {
        render(template)
    }
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
