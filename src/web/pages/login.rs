//! `/login`, `/logout`, the first-run page and `/account`: extract, call the `auth`
//! use-case, render.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::login::{FirstAccount, create_first_super_admin};
use crate::auth::{self, AuthError, PasswordChange, User, users};
use crate::backup::CreateRequest;
use crate::fields::FieldErrors;
use crate::offsite::settings::TargetForm;
use crate::web::ctx::Ctx;
use crate::web::layout::Layout;
use crate::web::session::{CurrentUser, UserSession, safe_next};
use crate::web::{
    AppError, AppState, blocking, is_loopback, render, render_status, run_db, see_other,
};

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
                "failed login for {:?} from {address}: {err}",
                crate::text::clip(&username, 64)
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

/// The client's address as text (IPv4-mapped IPv6 addresses shown as IPv4).
pub fn client_address(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_canonical().to_string())
        .unwrap_or_default()
}

/// Ends the session on the server: a copy of the cookie no longer works.
pub async fn logout(session: UserSession) -> HttpResponse {
    session.end();
    see_other("/login?logged_out=1")
}

#[derive(Template)]
#[template(path = "first_run.html")]
pub struct FirstRunPage {
    layout: Layout,
    username: String,
    demo_data: bool,
    errors: FieldErrors,
    data_dir: String,
    backups_dir: String,
    /// The "bring back from a target" fields as typed (never the secret or the kit).
    setup: TargetForm,
    setup_errors: FieldErrors,
}

async fn first_run_form(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    username: String,
    demo_data: bool,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    first_run_render(
        req,
        state,
        username,
        demo_data,
        errors,
        TargetForm::default(),
    )
    .await
}

/// The first-run page, with what was typed and what to correct.
pub async fn first_run_render(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    username: String,
    demo_data: bool,
    errors: FieldErrors,
    mut setup: TargetForm,
) -> Result<HttpResponse, AppError> {
    let invalid = !errors.is_empty();
    setup.secret_access_key.clear();
    setup.kit.clear();
    let setup_errors = errors.clone();
    let page = FirstRunPage {
        layout: Layout::new(req, state, "Welcome", "first-run").await,
        username,
        demo_data,
        errors,
        data_dir: state.paths.data_dir.display().to_string(),
        backups_dir: state.paths.backups.display().to_string(),
        setup,
        setup_errors,
    };
    crate::web::render_form(&page, invalid)
}

pub async fn first_run_page(
    req: &HttpRequest,
    state: &web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    first_run_form(req, state, String::new(), false, FieldErrors::default()).await
}

#[derive(Deserialize)]
pub struct FirstRunForm {
    username: String,
    password: String,
    password2: String,
    demo_data: Option<String>,
}

/// How long the backup of the first account may wait for the startup backup to finish.
const FIRST_BACKUP_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// How a first-run form ended.
enum FirstRun {
    Created {
        user: User,
        demo_problem: Option<String>,
    },
    /// Someone finished first run a moment ago.
    AlreadyDone,
    Invalid(FieldErrors),
}

/// Creates the first super-admin, then fills the demo data if asked (its failure is said as
/// such; the account stays), then backs it all up: until then it is in no backup (the startup
/// backup holds the empty shop).
fn create_first(state: &AppState, form: &FirstRunForm) -> Result<FirstRun, AuthError> {
    let db = &state.db;
    let first = FirstAccount {
        username: &form.username,
        password: &form.password,
        password2: &form.password2,
    };
    let user = match create_first_super_admin(db, &first) {
        Ok(Some(user)) => user,
        Ok(None) => return Ok(FirstRun::AlreadyDone),
        Err(AuthError::Invalid(errors)) => return Ok(FirstRun::Invalid(errors)),
        Err(e) => return Err(e),
    };
    let demo_problem = if form.demo_data.is_some() {
        db.with_conn(|c| crate::business::demo::fill(c, Some(user.id), 300, 365))
            .err()
            .map(|e| format!("Your account is ready, but the sample data could not be added: {e}"))
    } else {
        None
    };
    let request = CreateRequest::manual(
        if form.demo_data.is_some() {
            "the first account and the sample data"
        } else {
            "the first account"
        },
        &user.username,
    );
    let backup_problem = state
        .engine
        .create_when_free(&request, FIRST_BACKUP_WAIT)
        .err()
        .map(|e| {
            format!(
                "Your account is ready, but the backup of it failed: {e}. Create one on Database Backup."
            )
        });
    Ok(FirstRun::Created {
        user,
        demo_problem: demo_problem.or(backup_problem),
    })
}

pub async fn first_run(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: UserSession,
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
    let (username, demo_data) = (form.username.trim().to_string(), form.demo_data.is_some());
    let st = state.clone();
    match blocking(move || create_first(&st, &form)).await? {
        FirstRun::Created { user, demo_problem } => {
            tracing::info!("first super-admin {} created", user.username);
            session.log_in(&user, state.clock.now());
            session.flash_ok(
                "Your super-admin account is ready. Backups are already running: see Database Backup.",
            );
            if let Some(problem) = demo_problem {
                session.flash_error(problem);
            }
            Ok(see_other("/"))
        }
        // Someone finished first run a moment ago: this page is gone for good.
        FirstRun::AlreadyDone => Ok(see_other("/login")),
        FirstRun::Invalid(errors) => {
            first_run_form(&req, &state, username, demo_data, errors).await
        }
    }
}

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
