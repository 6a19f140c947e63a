//! Request gates: who is logged in (and whether that is still true after a restore or a role
//! change), the gates the route map wraps around its signed-in scopes, the CSRF check on
//! every state-changing request, HEAD answered like GET, panics caught, and no error leaving
//! without a rendered page.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpResponse, web};

use super::error::{ApiError, AppError, HandlerPanicked};
use super::session::{CurrentUser, Identity, UserSession};
use crate::auth::{User, users};
use crate::web::http::state::AppState;

fn error_response<B>(req: ServiceRequest, err: AppError) -> ServiceResponse<EitherBody<B>> {
    let response = if req.path().starts_with("/api/") {
        actix_web::ResponseError::error_response(&ApiError(err))
    } else {
        actix_web::ResponseError::error_response(&err)
    };
    req.into_response(response).map_into_right_body::<B>()
}

/// True while the user the session names may still use it: they exist, are enabled, and have
/// the same name and role as when they logged in.
fn still_valid(identity: &Identity, user: Option<&User>) -> bool {
    user.is_some_and(|u| {
        u.active && u.username == identity.username && Some(u.role) == identity.role
    })
}

/// Put in a request whose session was just ended (idle too long, user changed): the login
/// page then says why.
#[derive(Clone, Copy)]
pub struct SessionEnded;

/// Finds the logged-in user and puts a [`CurrentUser`] in the request, for every route. A
/// session whose user no longer exists, was disabled, renamed or changed role, or that was
/// idle too long, is ended (and [`SessionEnded`] marks the request). Who may open what is
/// the route map's business (`routes.rs`).
pub async fn identify<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(error_response(
            req,
            AppError::Unavailable("not ready".into()),
        ));
    };
    let session = UserSession::of_service(&req);
    let mut ended = false;
    if session.was_ended() {
        session.end();
        ended = true;
    } else if let Some(identity) = session.identity() {
        let now = state.clock.now();
        let idle_limit = i64::from(state.engine.settings().session_idle_hours) * 3600;
        if now.timestamp() - identity.last_seen > idle_limit {
            session.end();
            ended = true;
        } else {
            let db = state.db.clone();
            let id = identity.user_id;
            let found = super::blocking(move || db.with_conn(|c| users::get(c, id))).await;
            let user = match found {
                Ok(user) => user,
                Err(e) => return Ok(error_response(req, e)),
            };
            match user {
                Some(u) if still_valid(&identity, Some(&u)) => {
                    session.touch(&identity, now);
                    req.extensions_mut().insert(CurrentUser {
                        id: u.id,
                        username: u.username,
                        role: u.role,
                        must_change_password: u.must_change_password,
                    });
                }
                _ => {
                    session.end();
                    ended = true;
                }
            }
        }
    }
    if ended {
        req.extensions_mut().insert(SessionEnded);
    }
    pass(req, next).await
}

/// Wraps the signed-in scopes: an anonymous request goes to `/login?next=...` (401 under
/// `/api/`), saying so when its session was just ended.
pub async fn reject_anonymous_users<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    if req.extensions().get::<CurrentUser>().is_some() {
        return pass(req, next).await;
    }
    let path = req.path().to_string();
    if path.starts_with("/api/") {
        return Ok(error_response(req, AppError::Unauthorized));
    }
    let mut target = path;
    if !req.query_string().is_empty() {
        target.push('?');
        target.push_str(req.query_string());
    }
    let next_param = if req.method() == Method::GET {
        target.as_str()
    } else {
        "/"
    };
    let mut location = format!("/login?next={}", urlencode(next_param));
    if req.extensions().get::<SessionEnded>().is_some() {
        location.push_str("&ended=1");
    }
    Ok(redirect(req, &location))
}

/// Wraps everything a person who must choose a new password may not open yet (all but
/// `/account`, `/logout` and the public routes): pages send them to `/account`, the API
/// answers 403.
pub async fn require_new_password<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let must_change = req
        .extensions()
        .get::<CurrentUser>()
        .is_some_and(|u| u.must_change_password);
    if !must_change {
        return pass(req, next).await;
    }
    if req.path().starts_with("/api/") {
        let err = AppError::Forbidden("Choose a new password on the My account page first.".into());
        return Ok(error_response(req, err));
    }
    Ok(redirect(req, "/account"))
}

/// Lets the request through to what the gate wraps.
async fn pass<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

fn redirect<B>(req: ServiceRequest, location: &str) -> ServiceResponse<EitherBody<B>> {
    let response = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_string()))
        .finish();
    req.into_response(response).map_into_right_body()
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("x", text)])
        .map(|s| s.trim_start_matches("x=").to_string())
        .unwrap_or_default()
}

/// The `csrf_token` in URL-encoded text (a form body or a query string).
fn csrf_field(encoded: &[u8]) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(encoded)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == "csrf_token")
        .map(|(_, v)| v)
}

/// Refuses (403) any POST/PUT/PATCH/DELETE without the session's CSRF token, sent as the
/// `X-CSRF-Token` header or a `csrf_token` form field. The handler never runs, so nothing
/// changes.
pub async fn csrf_guard<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return pass(req, next).await;
    }
    let expected = UserSession::of_service(&req).csrf();
    let header_token = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    // A file upload form cannot put the token in a field the guard could read without
    // buffering the file: the form's address carries it instead.
    let is_multipart = content_type.starts_with("multipart/form-data");
    let (provided, req) = match header_token {
        Some(token) => (Some(token), req),
        None if is_multipart => (csrf_field(req.query_string().as_bytes()), req),
        None if is_form => {
            let (http_req, mut payload) = req.into_parts();
            let body = match web::Bytes::from_request(&http_req, &mut payload).await {
                Ok(b) => b,
                Err(e) => {
                    let req = ServiceRequest::from_parts(http_req, Payload::None);
                    return Ok(req.error_response(e).map_into_right_body());
                }
            };
            (
                csrf_field(&body),
                ServiceRequest::from_parts(http_req, Payload::from(body)),
            )
        }
        None => (None, req),
    };
    let valid = match (expected, provided) {
        (Some(e), Some(p)) => super::security::tokens_match(&e, &p),
        _ => false,
    };
    if !valid {
        let err = AppError::Forbidden(
            "The form was out of date or did not come from this site (security check failed). Reload the page and try again."
                .into(),
        );
        return Ok(error_response(req, err));
    }
    pass(req, next).await
}

/// Turns a panic in a handler or an inner middleware into a rendered 500 page (JSON under
/// `/api/`) instead of a dropped connection; the server keeps serving either way. The answer
/// travels as an error because the request itself was lost with the panic; error responses
/// carry the security headers themselves.
pub async fn catch_panics<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    use futures_util::FutureExt;
    let is_api = req.path().starts_with("/api/");
    match std::panic::AssertUnwindSafe(next.call(req))
        .catch_unwind()
        .await
    {
        Ok(result) => result,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let err = AppError::internal(HandlerPanicked(what));
            Err(if is_api {
                ApiError(err).into()
            } else {
                err.into()
            })
        }
    }
}

/// HEAD is answered like GET (the server sends the headers and leaves out the body), so
/// monitoring tools and link checkers do not see 404s.
pub async fn head_as_get<B: MessageBody + 'static>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}

/// The outermost gate: an error that escaped everything inside (the session layer, a
/// middleware) still becomes our page or JSON with the security headers, never a bare 500.
pub async fn render_errors<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let api = req.path().starts_with("/api/");
    next.call(req)
        .await
        .map_err(|err| super::error::Escaped { err, api }.into())
}
