//! `/users` (super-admin only): add people, change roles, disable/enable, reset passwords.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::{AuthError, Role, User, users};
use crate::business::FieldErrors;
use crate::web::layout::Layout;
use crate::web::session::{CurrentUser, UserSession};
use crate::web::{AppError, AppState, blocking, render, render_form, run_db, see_other};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::get().to(list))
        .route("/users", web::post().to(create))
        .route("/users/new", web::get().to(new_form))
        .route("/users/{id}", web::get().to(edit_form))
        .route("/users/{id}", web::post().to(update))
        .route("/users/{id}/password", web::post().to(reset_password));
}

#[derive(Template)]
#[template(path = "users/list.html")]
struct ListPage {
    layout: Layout,
    users: Vec<User>,
}

async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    user.require(Role::SuperAdmin)?;
    let users = run_db(&state, |c| users::list(c)).await?;
    render(&ListPage {
        layout: Layout::new(&req, &state, "Users", "users").await,
        users,
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
}

#[derive(Template)]
#[template(path = "users/new.html")]
struct NewPage {
    layout: Layout,
    username: String,
    role: String,
    roles: [Role; 3],
    errors: FieldErrors,
}

async fn new_page(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    username: String,
    role: String,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let failed = !errors.is_empty();
    render_form(
        &NewPage {
            layout: Layout::new(req, state, "Add a user", "users").await,
            username,
            role,
            roles: Role::ALL,
            errors,
        },
        failed,
    )
}

async fn new_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    user.require(Role::SuperAdmin)?;
    new_page(
        &req,
        &state,
        String::new(),
        "staff".into(),
        FieldErrors::default(),
    )
    .await
}

async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: UserSession,
    user: CurrentUser,
    form: web::Form<NewUserForm>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::SuperAdmin)?;
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
    let Some(role) = role.filter(|_| errors.is_empty()) else {
        return new_page(&req, &state, username, form.role, errors).await;
    };
    let db = state.db.clone();
    let name = username.clone();
    let created =
        blocking(
            move || match crate::auth::login::add_user(&db, &name, &form.password, role) {
                Ok(u) => Ok(Ok(u)),
                Err(e @ AuthError::UsernameTaken(_)) => Ok(Err(e.to_string())),
                Err(e) => Err(e),
            },
        )
        .await?;
    match created {
        Ok(u) => {
            session.flash_ok(format!(
                "{} can now log in as {}.",
                u.username,
                u.role.label()
            ));
            Ok(see_other("/users"))
        }
        Err(message) => {
            errors.add("username", message);
            new_page(&req, &state, username, role.as_str().into(), errors).await
        }
    }
}

#[derive(Template)]
#[template(path = "users/edit.html")]
struct EditPage {
    layout: Layout,
    u: User,
    roles: [Role; 3],
    error: String,
}

async fn edit_page(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    id: i64,
    error: String,
) -> Result<HttpResponse, AppError> {
    let u = run_db(state, move |c| users::get(c, id))
        .await?
        .ok_or(AppError::NotFound)?;
    let failed = !error.is_empty();
    render_form(
        &EditPage {
            layout: Layout::new(req, state, &format!("User {}", u.username), "users").await,
            u,
            roles: Role::ALL,
            error,
        },
        failed,
    )
}

async fn edit_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::SuperAdmin)?;
    edit_page(&req, &state, id.into_inner(), String::new()).await
}

#[derive(Deserialize)]
pub struct AccessForm {
    role: String,
    active: Option<String>,
}

async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: UserSession,
    user: CurrentUser,
    id: web::Path<i64>,
    form: web::Form<AccessForm>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::SuperAdmin)?;
    let id = id.into_inner();
    let Some(role) = Role::parse(&form.role) else {
        return edit_page(&req, &state, id, "Choose a role.".into()).await;
    };
    let active = form.active.is_some();
    let (db, store) = (state.db.clone(), state.auth.clone());
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
        Err(message) => edit_page(&req, &state, id, message).await,
    }
}

#[derive(Deserialize)]
pub struct ResetForm {
    password: String,
}

async fn reset_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: UserSession,
    user: CurrentUser,
    id: web::Path<i64>,
    form: web::Form<ResetForm>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::SuperAdmin)?;
    let id = id.into_inner();
    let form = form.into_inner();
    if let Err(e) = crate::auth::validate_password(&form.password) {
        return edit_page(&req, &state, id, e.to_string()).await;
    }
    let (db, store) = (state.db.clone(), state.auth.clone());
    let updated =
        blocking(move || crate::auth::login::set_password(&db, &store, id, &form.password)).await?;
    // Resetting one's own password keeps this browser logged in (all others end).
    if updated.id == user.id {
        session.log_in(&updated, state.clock.now());
    }
    session.flash_ok("Password reset. Tell the person their new password.");
    Ok(see_other(&format!("/users/{id}")))
}
