//! `/users` (super-admin only): add people, change roles, disable/enable, reset passwords.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::{AuthError, Role, User, users};
use crate::business::FieldErrors;
use crate::web::http::ctx::Ctx;
use crate::web::http::layout::Layout;
use crate::web::http::session::{CurrentUser, UserSession};
use crate::web::http::state::AppState;
use crate::web::http::{AppError, blocking, render, render_form, run_db, see_other};

#[derive(Template)]
#[template(path = "users/list.html")]
struct ListPage {
    layout: Layout,
    users: Vec<User>,
    /// One note per account whose hash came from a backup with costlier settings.
    reset_notes: Vec<String>,
}

impl ListPage {
    /// When the account was made, as a local date and time.
    fn since(&self, user: &User) -> String {
        crate::business::display_time(&user.created_at)
    }
}

pub async fn list(Ctx { req, state, user }: Ctx) -> Result<HttpResponse, AppError> {
    user.super_admin()?;
    let (users, unusual) = run_db(&state, |c| {
        Ok::<_, crate::auth::AuthError>((users::list(c)?, users::needing_new_password(c)?))
    })
    .await?;
    let reset_notes = unusual
        .iter()
        .map(|name| crate::auth::password::unusual_hash_note(name))
        .collect();
    render(&ListPage {
        layout: Layout::new(&req, &state, "Users", "users").await,
        users,
        reset_notes,
    })
}

#[derive(Deserialize, Default, Clone)]
pub struct NewUserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password2: String,
    /// "Ask for a new password at the first login".
    must_change: Option<String>,
}

#[derive(Template)]
#[template(path = "users/new.html")]
struct NewPage {
    layout: Layout,
    username: String,
    role: String,
    roles: [Role; 3],
    must_change: bool,
    errors: FieldErrors,
}

/// The form as typed, shown again (passwords never are).
struct NewUserShown {
    username: String,
    role: String,
    must_change: bool,
}

async fn new_page(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    shown: NewUserShown,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let failed = !errors.is_empty();
    render_form(
        &NewPage {
            layout: Layout::new(req, state, "Add a user", "users").await,
            username: shown.username,
            role: shown.role,
            roles: Role::ALL,
            must_change: shown.must_change,
            errors,
        },
        failed,
    )
}

pub async fn new_form(Ctx { req, state, user }: Ctx) -> Result<HttpResponse, AppError> {
    user.super_admin()?;
    let shown = NewUserShown {
        username: String::new(),
        role: "staff".into(),
        // The person at the keyboard chose this password; the new user should pick their own.
        must_change: true,
    };
    new_page(&req, &state, shown, FieldErrors::default()).await
}

pub async fn create(
    Ctx { req, state, user }: Ctx,
    session: UserSession,
    form: web::Form<NewUserForm>,
) -> Result<HttpResponse, AppError> {
    user.super_admin()?;
    let form = form.into_inner();
    let username = form.username.trim().to_string();
    let mut errors = FieldErrors::default();
    if let Err(e) = crate::auth::validate_username(&username) {
        errors.add("username", e.to_string());
    }
    let role = Role::parse(&form.role);
    if role.is_none() {
        errors.add("role", "Choose a role.");
    }
    if let Err(e) = crate::auth::validate_password(&form.password) {
        errors.add("password", e.to_string());
    } else if form.password != form.password2 {
        errors.add("password", "The two passwords are different.");
    }
    let must_change = form.must_change.is_some();
    let Some(role) = role.filter(|_| errors.is_empty()) else {
        let shown = NewUserShown {
            username,
            role: form.role,
            must_change,
        };
        return new_page(&req, &state, shown, errors).await;
    };
    let db = state.db.clone();
    let name = username.clone();
    let created = blocking(move || {
        match crate::auth::login::add_user(&db, &name, &form.password, role, must_change) {
            Ok(u) => Ok(Ok(u)),
            Err(e @ AuthError::UsernameTaken(_)) => Ok(Err(e.to_string())),
            Err(e) => Err(e),
        }
    })
    .await?;
    match created {
        Ok(u) => {
            session.flash_ok(format!(
                "{} can now log in as {}{}.",
                u.username,
                u.role.label(),
                if u.must_change_password {
                    " and will be asked to choose their own password first"
                } else {
                    ""
                }
            ));
            Ok(see_other("/users"))
        }
        Err(message) => {
            errors.add("username", message);
            let shown = NewUserShown {
                username,
                role: role.as_str().into(),
                must_change,
            };
            new_page(&req, &state, shown, errors).await
        }
    }
}

/// What the role-and-login form on a user's page sends.
#[derive(Deserialize)]
pub struct AccessForm {
    role: String,
    active: Option<String>,
}

/// What the password-reset form on a user's page sends.
#[derive(Deserialize)]
pub struct ResetForm {
    password: String,
    /// "Ask for a new password at the next login".
    must_change: Option<String>,
}

#[derive(Template)]
#[template(path = "users/edit.html")]
struct EditPage {
    layout: Layout,
    u: User,
    roles: [Role; 3],
    /// `access` (role and login) or `password` (the reset form).
    errors: FieldErrors,
    /// The page shows the super-admin's own account.
    is_me: bool,
}

async fn edit_page(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    me: &CurrentUser,
    id: i64,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let u = run_db(state, move |c| users::get(c, id))
        .await?
        .ok_or(AppError::NotFound)?;
    let failed = !errors.is_empty();
    render_form(
        &EditPage {
            layout: Layout::new(req, state, &format!("User {}", u.username), "users").await,
            is_me: u.id == me.id,
            u,
            roles: Role::ALL,
            errors,
        },
        failed,
    )
}

pub async fn edit_form(
    Ctx { req, state, user }: Ctx,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    user.super_admin()?;
    edit_page(&req, &state, &user, id.into_inner(), FieldErrors::default()).await
}

pub async fn update(
    Ctx { req, state, user }: Ctx,
    session: UserSession,
    id: web::Path<i64>,
    form: web::Form<AccessForm>,
) -> Result<HttpResponse, AppError> {
    user.super_admin()?;
    let id = id.into_inner();
    let Some(role) = Role::parse(&form.role) else {
        let errors = FieldErrors::one("access", "Choose a role.");
        return edit_page(&req, &state, &user, id, errors).await;
    };
    let active = form.active.is_some();
    let (db, store) = (state.db.clone(), state.auth.clone());
    // Refused for the last super-admin's own access: back to the form with the reason.
    let result =
        blocking(
            move || match crate::auth::login::set_access(&db, &store, id, role, active) {
                Ok(u) => Ok(Ok(u)),
                Err(e @ AuthError::LastSuperAdmin) => Ok(Err(e.to_string())),
                Err(e) => Err(e),
            },
        )
        .await?;
    match result {
        Ok(u) => {
            session.flash_ok(format!(
                "{} is now {}{}.",
                u.username,
                u.role.label(),
                if u.active { "" } else { " (disabled)" }
            ));
            Ok(see_other("/users"))
        }
        Err(message) => {
            let errors = FieldErrors::one("access", message);
            edit_page(&req, &state, &user, id, errors).await
        }
    }
}

pub async fn reset_password(
    Ctx { req, state, user }: Ctx,
    session: UserSession,
    id: web::Path<i64>,
    form: web::Form<ResetForm>,
) -> Result<HttpResponse, AppError> {
    user.super_admin()?;
    let id = id.into_inner();
    let form = form.into_inner();
    if let Err(e) = crate::auth::validate_password(&form.password) {
        let errors = FieldErrors::one("password", e.to_string());
        return edit_page(&req, &state, &user, id, errors).await;
    }
    // Nobody is sent to choose a new password right after setting their own.
    let must_change = form.must_change.is_some() && id != user.id;
    let (db, store) = (state.db.clone(), state.auth.clone());
    let updated = blocking(move || {
        crate::auth::login::set_password(&db, &store, id, &form.password, must_change)
    })
    .await?;
    // Resetting one's own password keeps this browser logged in (all others end).
    if updated.id == user.id {
        session.log_in(&updated, state.clock.now());
    }
    session.flash_ok(if must_change {
        "Password reset. Tell the person their new password: they will be asked to choose their own when they log in."
    } else {
        "Password reset. Tell the person their new password."
    });
    Ok(see_other(&format!("/users/{id}")))
}
