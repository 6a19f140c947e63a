//! The actix-web application: state, body limits, middleware in order, and the route map
//! (`web::routes`). `server.rs` starts and stops it; tests drive it in-process.

use actix_session::SessionMiddleware;
use actix_session::config::{BrowserSession, CookieContentSecurity};
use actix_web::body::MessageBody;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{DefaultHeaders, ErrorHandlers, from_fn};
use actix_web::{App, web};

use super::responses::{MAX_BODY_BYTES, not_found};
use super::session_store::SqliteSessionStore;
use super::{error, host_guard, middleware, security};
use crate::web::http::state::AppState;
use crate::web::routes;

/// What an application built here is to the server: a factory of services for requests, with
/// a body the server can send. Both the shop and the missing-data page return one.
pub trait Served:
    ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<Self::Body>,
        Error = actix_web::Error,
        InitError = (),
    >
{
    type Body: MessageBody + 'static;
}

impl<T, B> Served for T
where
    T: ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        >,
    B: MessageBody + 'static,
{
    type Body = B;
}

/// The whole application. Middleware runs outside-in in the reverse order of `wrap`: errors
/// are rendered (with security headers) outermost, then headers, the session, panics, and
/// finding who is signed in nearest the routes. The `Host`/`Origin` check runs before the
/// session is even read. Who may open a route, and the CSRF check after that, are wrapped
/// around the scopes of the route map.
pub fn build(state: web::Data<AppState>, key: Key) -> App<impl Served + use<>> {
    let store = SqliteSessionStore::new(
        state.auth.clone(),
        state.clock.clone(),
        state.engine.clone(),
    );
    App::new()
        .app_data(state.hosts.clone())
        .app_data(state)
        .app_data(web::FormConfig::default().limit(MAX_BODY_BYTES))
        .app_data(web::JsonConfig::default().limit(MAX_BODY_BYTES))
        .app_data(web::PayloadConfig::default().limit(MAX_BODY_BYTES))
        .wrap(from_fn(middleware::identify))
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
        .wrap(from_fn(host_guard::host_guard))
        .wrap(ErrorHandlers::new().default_handler(error::render_other_errors))
        .wrap(
            security::SECURITY_HEADERS
                .iter()
                .fold(DefaultHeaders::new(), |headers, (name, value)| {
                    headers.add((*name, *value))
                }),
        )
        .wrap(from_fn(middleware::render_errors))
        .configure(routes::routes)
        .default_service(web::to(not_found))
}
