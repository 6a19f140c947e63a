//! Every error a request can end in, mapped to an HTTP status and rendered in one place: an
//! HTML page for browsers, `{"error": "..."}` for `/api/`. How each area's errors map to
//! it is `error_map.rs`.

use actix_web::body::BoxBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("Page not found.")]
    NotFound,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("Please log in.")]
    Unauthorized,
    #[error("{0}")]
    TooManyRequests(String),
    /// A body that stopped arriving.
    #[error("{0}")]
    TimedOut(String),
    /// A failure of the program; the page says so plainly and the log gets the cause chain.
    #[error("internal error: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    TooLarge(String),
}

/// A handler panicked (caught by the panic middleware).
#[derive(Debug, thiserror::Error)]
#[error("a request handler panicked: {0}")]
pub struct HandlerPanicked(pub String);

impl AppError {
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> AppError {
        AppError::Internal(Box::new(e))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::TimedOut(_) => StatusCode::REQUEST_TIMEOUT,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }

    /// What a person sees: internal details go to the log, not the page.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Internal(source) => {
                let chain = crate::error_chain::chain(source.as_ref());
                tracing::error!("internal error: {chain}");
                "Something went wrong on our side. The details are in the server log.".into()
            }
            other => other.to_string(),
        }
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::internal(e)
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::internal(e)
    }
}

/// Marks responses already rendered by us, so the catch-all handler leaves them alone.
#[derive(Clone, Copy)]
struct Rendered;

/// Tells the catch-all error renderer that this response is a page of ours (e.g. a form
/// shown again with a 400 status) and must be sent as it is.
pub fn mark_rendered(response: &mut HttpResponse) {
    response.extensions_mut().insert(Rendered);
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
    version: String,
    css_url: String,
}

pub fn with_security_headers(mut res: HttpResponse) -> HttpResponse {
    for (name, value) in super::security::SECURITY_HEADERS {
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::try_from(name),
            HeaderValue::from_str(value),
        ) {
            res.headers_mut().insert(name, value);
        }
    }
    res
}

/// An error that escaped every handler and middleware (e.g. from the session layer): it is
/// answered with our page (or JSON under `/api/`) and the security headers, never bare.
#[derive(Debug, thiserror::Error)]
#[error("{err}")]
pub struct Escaped {
    pub err: actix_web::Error,
    pub api: bool,
}

impl ResponseError for Escaped {
    fn status_code(&self) -> StatusCode {
        self.err.as_response_error().status_code()
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        let inner = self.err.error_response();
        if inner.extensions().get::<Rendered>().is_some() {
            return inner;
        }
        let status = self.status_code();
        let message = if status.is_server_error() {
            tracing::error!("request failed: {}", crate::error_chain::chain(&self.err));
            "Something went wrong on our side. The details are in the server log.".to_string()
        } else {
            self.err.to_string()
        };
        if self.api {
            json_error(status, &message)
        } else {
            html_error(status, &message)
        }
    }
}

fn html_error(status: StatusCode, message: &str) -> HttpResponse {
    let page = ErrorPage {
        status: status.as_u16(),
        title: status.canonical_reason().unwrap_or("Error"),
        message,
        version: crate::version_line(),
        css_url: super::assets::url("app.css"),
    };
    let body = page
        .render()
        .unwrap_or_else(|_| format!("{} {}", status.as_u16(), message));
    let mut res = HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body);
    res.extensions_mut().insert(Rendered);
    with_security_headers(res)
}

fn json_error(status: StatusCode, message: &str) -> HttpResponse {
    let mut res = HttpResponse::build(status).json(serde_json::json!({ "error": message }));
    res.extensions_mut().insert(Rendered);
    with_security_headers(res)
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        html_error(self.status(), &self.public_message())
    }
}

/// The same errors for `/api/` handlers: rendered as JSON.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status()
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        json_error(self.0.status(), &self.0.public_message())
    }
}

/// Renders errors that did not come from our handlers (unknown routes, bad JSON, too-large
/// bodies, actix's own 4xx/5xx) the same way as ours.
pub fn render_other_errors<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>>
where
    B: actix_web::body::MessageBody + 'static,
{
    if res.response().extensions().get::<Rendered>().is_some() {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let is_api = res.request().path().starts_with("/api/");
    let detail = res.response().error().map(|e| e.to_string());
    let message = match (status, detail) {
        (StatusCode::NOT_FOUND, _) => "Page not found.".to_string(),
        (StatusCode::METHOD_NOT_ALLOWED, _) => {
            "This address does not accept that kind of request.".into()
        }
        (StatusCode::PAYLOAD_TOO_LARGE, _) => "The request is too large.".into(),
        (s, Some(d)) if s.is_client_error() && !d.is_empty() => {
            format!("The request was not understood: {d}")
        }
        (s, _) if s.is_server_error() => {
            "Something went wrong on our side. The details are in the server log.".into()
        }
        (s, _) => s.canonical_reason().unwrap_or("Error").to_string(),
    };
    let (req, old) = res.into_parts();
    let mut new = if is_api {
        json_error(status, &message)
    } else {
        html_error(status, &message)
    };
    // Keep headers such as Location or Allow that the original error set.
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.headers_mut().insert(name.clone(), value.clone());
        }
    }
    if !new.headers().contains_key(header::CACHE_CONTROL) {
        new.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, new).map_into_right_body(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::BackupError;
    use crate::db::DbError;
    use crate::offsite::OffsiteError;

    #[test]
    fn unclassified_failures_are_500s_and_worded_outcomes_are_shown() {
        let io = BackupError::Io {
            action: "cannot read the backup folder".into(),
            source: std::io::Error::other("device gone"),
        };
        let e = AppError::from(io);
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.public_message().contains("device gone"));
        let busy = AppError::from(BackupError::Db(DbError::InUseElsewhere));
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(busy.public_message().contains("using the data right now"));
        let off = AppError::from(OffsiteError::Secrets(
            crate::offsite::settings::SecretsError::Write {
                what: "off-site credentials",
                source: std::io::Error::other("read-only"),
            },
        ));
        assert_eq!(off.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
