//! `/login`, `/logout`, the first-run page and `/account`.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::{AuthError, password, users};
use crate::web::layout::Layout;
use crate::web::session::{self, CurrentUser};
use crate::web::{
    AppError, AppState, is_loopback, render, render_status, run_blocking, run_db, see_other,
};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    next: String,
    username: String,
    error: String,
    ended: bool,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    ended: Option<String>,
}

pub async fn login_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<LoginQuery>,
    user: Option<CurrentUser>,
) -> Result<HttpResponse, AppError> {
    let next = session::safe_next(query.next.as_deref());
    if user.is_some() {
        return Ok(see_other(&next));
    }
    let page = LoginPage {
        layout: Layout::new(&req, &state, "Log in", "login").await,
        next,
        username: String::new(),
        error: String::new(),
        ended: query.ended.is_some(),
    };
    render(&page)
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

enum LoginOutcome {
    Ok(crate::auth::User),
    Failed(AuthError),
}

pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let username = form.username.trim().to_string();
    let address = client_address(&req);
    let next = session::safe_next(form.next.as_deref());

    let outcome = if let Err(wait) = state.throttle.begin_attempt(&username, &address) {
        LoginOutcome::Failed(AuthError::LockedOut {
            minutes: wait.as_secs().div_ceil(60).max(1),
        })
    } else {
        let db = state.db.clone();
        let name = username.clone();
        let password_text = form.password;
        run_blocking(move || -> Result<LoginOutcome, AuthError> {
            let found = db.with_conn(|c| users::find_for_login(c, &name))?;
            // Hash checks happen outside the connection; unknown names cost the same time.
            let Some((user, hash)) = found else {
                password::dummy_verify(&password_text);
                return Ok(LoginOutcome::Failed(AuthError::InvalidCredentials));
            };
            if !password::verify_password(&password_text, &hash) {
                return Ok(LoginOutcome::Failed(AuthError::InvalidCredentials));
            }
            if !user.active {
                return Ok(LoginOutcome::Failed(AuthError::Disabled));
            }
            Ok(LoginOutcome::Ok(user))
        })
        .await?
    };

    match outcome {
        LoginOutcome::Ok(user) => {
            state.throttle.record_success(&username, &address);
            session::log_in(&session, &user);
            tracing::info!("{} logged in from {address}", user.username);
            Ok(see_other(&next))
        }
        LoginOutcome::Failed(err) => {
            let status = match err {
                AuthError::LockedOut { .. } => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::UNAUTHORIZED,
            };
            tracing::warn!("failed login for {username:?} from {address}: {err}");
            let page = LoginPage {
                layout: Layout::new(&req, &state, "Log in", "login").await,
                next,
                username,
                error: err.to_string(),
                ended: false,
            };
            render_status(&page, status)
        }
    }
}

/// The client's address as text (IPv4-mapped IPv6 addresses shown as IPv4).
fn client_address(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_canonical().to_string())
        .unwrap_or_default()
}

pub async fn logout(session: Session) -> HttpResponse {
    session.purge();
    see_other("/login")
}

#[derive(Default)]
pub struct FirstRunErrors {
    pub general: String,
    pub username: String,
    pub password: String,
}

#[derive(Template)]
#[template(path = "first_run.html")]
pub struct FirstRunPage {
    layout: Layout,
    username: String,
    demo_data: bool,
    errors: FirstRunErrors,
    data_dir: String,
    backups_dir: String,
}

pub async fn first_run_page(
    req: &HttpRequest,
    state: &web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let page = FirstRunPage {
        layout: Layout::new(req, state, "Welcome", "first-run").await,
        username: String::new(),
        demo_data: false,
        errors: FirstRunErrors::default(),
        data_dir: state.paths.data_dir.display().to_string(),
        backups_dir: state.paths.backups.display().to_string(),
    };
    render(&page)
}

#[derive(Deserialize)]
pub struct FirstRunForm {
    username: String,
    password: String,
    password2: String,
    demo_data: Option<String>,
}

pub async fn first_run(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<FirstRunForm>,
) -> Result<HttpResponse, AppError> {
    if !is_loopback(&req) {
        return Err(AppError::Forbidden(
            "The first account can only be created from the computer Backroom runs on.".into(),
        ));
    }
    if run_db(&state, |c| users::count(c)).await? > 0 {
        // The first account exists: this page is gone for good.
        return Ok(see_other("/login"));
    }
    let form = form.into_inner();
    let username = form.username.trim().to_string();
    let mut errors = FirstRunErrors::default();
    if let Err(e) = crate::auth::validate_username(&username) {
        errors.username = e.to_string();
    }
    if let Err(e) = crate::auth::validate_password(&form.password) {
        errors.password = e.to_string();
    } else if form.password != form.password2 {
        errors.password = "The two passwords are different.".into();
    }
    let demo_data = form.demo_data.is_some();
    if errors.username.is_empty() && errors.password.is_empty() {
        let db = state.db.clone();
        let name = username.clone();
        let password_text = form.password;
        let created = run_blocking(move || -> Result<_, AuthError> {
            let hash = password::hash_password(&password_text)?;
            let user = db.with_conn(|c| users::create_first(c, &name, &hash))?;
            if let Some(user) = &user
                && demo_data
            {
                db.with_conn(|c| crate::business::demo::fill(c, Some(user.id), 300, 365))
                    .map_err(|e| AuthError::Hash(e.to_string()))?;
            }
            Ok(user)
        })
        .await?;
        let Some(user) = created else {
            // Someone finished first run a moment ago: this page is gone for good.
            return Ok(see_other("/login"));
        };
        tracing::info!("first super-admin {} created", user.username);
        session::log_in(&session, &user);
        session::flash_ok(
            &session,
            "Your super-admin account is ready. Backups are already running: see Database Backup.",
        );
        return Ok(see_other("/"));
    }
    let page = FirstRunPage {
        layout: Layout::new(&req, &state, "Welcome", "first-run").await,
        username,
        demo_data,
        errors,
        data_dir: state.paths.data_dir.display().to_string(),
        backups_dir: state.paths.backups.display().to_string(),
    };
    render_status(&page, StatusCode::BAD_REQUEST)
}

#[derive(Default)]
pub struct AccountErrors {
    pub current: String,
    pub new_password: String,
    pub confirm: String,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    errors: AccountErrors,
}

pub async fn account_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    _user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    render(&AccountPage {
        layout: Layout::new(&req, &state, "My account", "account").await,
        errors: AccountErrors::default(),
    })
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current: String,
    new_password: String,
    confirm: String,
}

pub async fn change_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    user: CurrentUser,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut errors = AccountErrors::default();
    if let Err(e) = crate::auth::validate_password(&form.new_password) {
        errors.new_password = e.to_string();
    } else if form.new_password != form.confirm {
        errors.confirm = "The two new passwords are different.".into();
    }
    let address = client_address(&req);
    if let Err(wait) = state.throttle.begin_attempt(&user.username, &address) {
        errors.current = AuthError::LockedOut {
            minutes: wait.as_secs().div_ceil(60).max(1),
        }
        .to_string();
    } else if errors.new_password.is_empty() && errors.confirm.is_empty() {
        let db = state.db.clone();
        let username = user.username.clone();
        let user_id = user.id;
        let changed = run_blocking(move || -> Result<Option<crate::auth::User>, AuthError> {
            let Some((_, hash)) = db.with_conn(|c| users::find_for_login(c, &username))? else {
                return Err(AuthError::NotFound);
            };
            if !password::verify_password(&form.current, &hash) {
                return Ok(None);
            }
            let new_hash = password::hash_password(&form.new_password)?;
            db.with_conn(|c| users::set_password_hash(c, user_id, &new_hash))?;
            // Other sessions of this user end; this one continues with the new generation.
            db.with_conn(|c| users::get(c, user_id))
        })
        .await?;
        if let Some(updated) = changed {
            state.throttle.record_success(&user.username, &address);
            session::log_in(&session, &updated);
            session::flash_ok(
                &session,
                "Your password was changed. You were logged out everywhere else.",
            );
            return Ok(see_other("/account"));
        }
        errors.current = "The current password is wrong.".into();
    } else {
        // No password was checked: this attempt does not count against the user.
        state.throttle.cancel_attempt(&user.username, &address);
    }
    render_status(
        &AccountPage {
            layout: Layout::new(&req, &state, "My account", "account").await,
            errors,
        },
        StatusCode::BAD_REQUEST,
    )
}
