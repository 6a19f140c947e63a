//! `/users` (super-admin only): add people, change roles, disable/enable, reset passwords.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::{AuthError, Role, User, password, users};
use crate::business::FieldErrors;
use crate::web::layout::Layout;
use crate::web::session::{self, CurrentUser};
use crate::web::{AppError, AppState, render, render_form, run_blocking, run_db, see_other};

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
    session: Session,
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
    let created = run_blocking(move || -> Result<_, AuthError> {
        let hash = password::hash_password(&form.password)?;
        match db.with_conn(|c| users::create(c, &name, &hash, role)) {
            Ok(u) => Ok(Ok(u)),
            Err(AuthError::UsernameTaken(n)) => {
                Ok(Err(format!("The user name {n} is already taken.")))
            }
            Err(e) => Err(e),
        }
    })
    .await?;
    match created {
        Ok(u) => {
            session::flash_ok(
                &session,
                format!("{} can now log in as {}.", u.username, u.role.label()),
            );
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
    session: Session,
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
    let result = run_db(&state, move |c| {
        match users::update_access(c, id, role, active) {
            Ok(u) => Ok(Ok(u)),
            Err(AuthError::LastSuperAdmin) => Ok(Err(AuthError::LastSuperAdmin.to_string())),
            Err(e) => Err(e),
        }
    })
    .await?;
    match result {
        Ok(u) => {
            session::flash_ok(
                &session,
                format!(
                    "{} is now {}{}.",
                    u.username,
                    u.role.label(),
                    if u.active { "" } else { " (disabled)" }
                ),
            );
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
    session: Session,
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
    let db = state.db.clone();
    let updated = run_blocking(move || -> Result<Option<User>, AuthError> {
        let hash = password::hash_password(&form.password)?;
        db.with_conn(|c| users::set_password_hash(c, id, &hash))?;
        db.with_conn(|c| users::get(c, id))
    })
    .await?;
    // Resetting one's own password keeps this session (all others end).
    if let Some(me) = updated.filter(|u| u.id == user.id) {
        session::log_in(&session, &me);
    }
    session::flash_ok(
        &session,
        "Password reset. Tell the person their new password.",
    );
    Ok(see_other(&format!("/users/{id}")))
}
