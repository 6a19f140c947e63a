//! `/account`: a person's own password (signed in; the one page open to someone who must
//! choose a new password first).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::{self, AuthError, PasswordChange, User};
use crate::fields::FieldErrors;
use crate::web::http::ctx::client_address;
use crate::web::http::layout::Layout;
use crate::web::http::session::UserSession;
use crate::web::http::{AppError, Ctx, blocking, render, render_status, see_other};

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    errors: FieldErrors,
    /// A super-admin asked this person to choose their own password first.
    must_change: bool,
}

pub async fn account_page(Ctx { req, state, user }: Ctx) -> Result<HttpResponse, AppError> {
    render(&AccountPage {
        layout: Layout::new(&req, &state, "My account", "account").await,
        errors: FieldErrors::default(),
        must_change: user.must_change_password,
    })
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current: String,
    new_password: String,
    confirm: String,
}

pub async fn change_password(
    Ctx { req, state, user }: Ctx,
    session: UserSession,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let address = client_address(&req);
    let (db, throttle, store) = (state.db.clone(), state.throttle.clone(), state.auth.clone());
    let me = User {
        id: user.id,
        username: user.username.clone(),
        role: user.role,
        active: true,
        created_at: String::new(),
        must_change_password: user.must_change_password,
    };
    let outcome = blocking(move || {
        let change = PasswordChange {
            current: &form.current,
            new_password: &form.new_password,
            confirm: &form.confirm,
        };
        Ok::<_, AppError>(auth::change_password(
            &db, &throttle, &store, &me, &change, &address,
        ))
    })
    .await?;
    let errors = match outcome {
        Ok(updated) => {
            // Every other session ended; this browser continues under a new key.
            session.log_in(&updated, state.clock.now());
            session.flash_ok("Your password was changed. You were logged out everywhere else.");
            return Ok(see_other("/account"));
        }
        Err(AuthError::Invalid(errors)) => errors,
        Err(e) => return Err(e.into()),
    };
    render_status(
        &AccountPage {
            layout: Layout::new(&req, &state, "My account", "account").await,
            errors,
            must_change: user.must_change_password,
        },
        StatusCode::BAD_REQUEST,
    )
}
