//! `/login`: the sign-in page and its form (public); extract, call the `auth` use-case,
//! render.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::{self, AuthError};
use crate::web::http::ctx::client_address;
use crate::web::http::layout::Layout;
use crate::web::http::session::{CurrentUser, UserSession, safe_next};
use crate::web::http::state::AppState;
use crate::web::http::{AppError, blocking, render, render_status, see_other};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    next: String,
    username: String,
    error: String,
    ended: bool,
    logged_out: bool,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    ended: Option<String>,
    logged_out: Option<String>,
}

pub async fn login_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<LoginQuery>,
    user: Option<CurrentUser>,
) -> Result<HttpResponse, AppError> {
    let next = safe_next(query.next.as_deref());
    if user.is_some() {
        return Ok(see_other(&next));
    }
    render(&LoginPage {
        layout: Layout::new(&req, &state, "Log in", "login").await,
        next,
        username: String::new(),
        error: String::new(),
        ended: query.ended.is_some(),
        logged_out: query.logged_out.is_some(),
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: UserSession,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let username = form.username.trim().to_string();
    let address = client_address(&req);
    let next = safe_next(form.next.as_deref());
    let (db, throttle) = (state.db.clone(), state.throttle.clone());
    let (name, from) = (username.clone(), address.clone());
    let outcome = blocking(move || {
        Ok::<_, AppError>(auth::login(&db, &throttle, &name, &form.password, &from))
    })
    .await?;
    match outcome {
        Ok(user) => {
            session.log_in(&user, state.clock.now());
            tracing::info!("{} logged in from {address}", user.username);
            Ok(see_other(&next))
        }
        Err(err) if err.is_refusal() => {
            let status = match err {
                AuthError::LockedOut { .. } => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::UNAUTHORIZED,
            };
            tracing::warn!(
                "failed login for {:?} from {address}: {}",
                crate::text::clip(&username, 64),
                crate::error_chain::chain(&err)
            );
            let page = LoginPage {
                layout: Layout::new(&req, &state, "Log in", "login").await,
                next,
                username,
                error: err.to_string(),
                ended: false,
                logged_out: false,
            };
            render_status(&page, status)
        }
        Err(err) => Err(err.into()),
    }
}
