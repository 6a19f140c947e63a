//! What almost every page handler needs: the request (for the layout), the app state, and who
//! is signed in, as one extractor so that handlers read `Ctx { req, state, user }: Ctx`; and
//! what a handler asks of the request itself (where it comes from).

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

use super::error::AppError;
use super::session::CurrentUser;
use crate::web::http::state::AppState;

pub struct Ctx {
    pub req: HttpRequest,
    pub state: web::Data<AppState>,
    /// Extracting a `Ctx` refuses a visitor who is not signed in, as [`CurrentUser`] does.
    pub user: CurrentUser,
}

/// The server was built without its state: a bug in the app's setup, not the visitor's.
#[derive(Debug, thiserror::Error)]
#[error("the app state is not registered with the server")]
struct NoAppState;

impl FromRequest for Ctx {
    type Error = AppError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let user = req.extensions().get::<CurrentUser>().cloned();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        ready(match (user, state) {
            (None, _) => Err(AppError::Unauthorized),
            (Some(_), None) => Err(AppError::internal(NoAppState)),
            (Some(user), Some(state)) => Ok(Ctx {
                req: req.clone(),
                state,
                user,
            }),
        })
    }
}

/// Whether the request comes from the computer Backroom runs on.
pub fn is_loopback(req: &HttpRequest) -> bool {
    req.peer_addr()
        .is_some_and(|a| a.ip().to_canonical().is_loopback())
}

/// The client's address as text (IPv4-mapped IPv6 addresses shown as IPv4).
pub fn client_address(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_canonical().to_string())
        .unwrap_or_default()
}
