//! The actix-web application: state, body limits, middleware in order, routes. `server.rs`
//! starts and stops it; tests drive it in-process.

use actix_session::SessionMiddleware;
use actix_session::config::{BrowserSession, CookieContentSecurity};
use actix_web::body::MessageBody;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{DefaultHeaders, ErrorHandlers, from_fn};
use actix_web::{App, web};

use super::session_store::SqliteSessionStore;
use super::{AppState, MAX_BODY_BYTES, error, middleware, security};

/// The whole application. Middleware runs outside-in in the reverse order of `wrap`: errors
/// are rendered (with security headers) outermost, then headers, the session, panics, the
/// auth gate and the CSRF check nearest the handlers. The `Host`/`Origin` check runs before
/// the session is even read.
pub fn build(
    state: web::Data<AppState>,
    key: Key,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody + use<>>,
        Error = actix_web::Error,
        InitError = (),
    > + use<>,
> {
    let store = SqliteSessionStore::new(
        state.auth.clone(),
        state.clock.clone(),
        state.settings.clone(),
    );
    App::new()
        .app_data(state.hosts.clone())
        .app_data(state)
        .app_data(web::FormConfig::default().limit(MAX_BODY_BYTES))
        .app_data(web::JsonConfig::default().limit(MAX_BODY_BYTES))
        .app_data(web::PayloadConfig::default().limit(MAX_BODY_BYTES))
        .wrap(from_fn(middleware::csrf_guard))
        .wrap(from_fn(middleware::auth_gate))
        .wrap(from_fn(middleware::catch_panics))
        .wrap(
            SessionMiddleware::builder(store, key)
                .cookie_name("backroom_session".into())
                .cookie_secure(false)
                .cookie_http_only(true)
                .cookie_same_site(SameSite::Strict)
                .cookie_content_security(CookieContentSecurity::Private)
                .session_lifecycle(BrowserSession::default())
                .build(),
        )
        .wrap(from_fn(middleware::head_as_get))
        .wrap(from_fn(super::host_guard::host_guard))
        .wrap(ErrorHandlers::new().default_handler(error::render_other_errors))
        .wrap(
            security::SECURITY_HEADERS
                .iter()
                .fold(DefaultHeaders::new(), |headers, (name, value)| {
                    headers.add((*name, *value))
                }),
        )
        .wrap(from_fn(middleware::render_errors))
        .configure(super::routes)
        .default_service(web::to(super::not_found))
}
