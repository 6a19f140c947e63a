//! `/first-run...` (public, from this computer only, while nobody has an account): the first
//! super-admin account (the page itself is `/` until then), and "Bring back my data": a
//! backup file, or a copy picked from an off-site target, checked and restored with its own
//! accounts; then the person signs in as before.

use actix_multipart::Multipart;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::actions::first_run::FirstRun as BringBack;
use crate::auth::login::{FirstAccount, create_first_super_admin};
use crate::auth::{AuthError, User, users};
use crate::backup::{CreateRequest, RestoreReport};
use crate::fields::FieldErrors;
use crate::offsite::settings::TargetForm;
use crate::offsite::{CopyView, NewTarget};
use crate::web::http::layout::Layout;
use crate::web::http::session::UserSession;
use crate::web::http::state::AppState;
use crate::web::http::{
    AppError, blocking, is_loopback, render, render_form, run_db, see_other, upload as receive,
};

/// The first-run use-cases with the server's services.
fn bring_back(state: &AppState) -> BringBack<'_> {
    BringBack {
        db: &state.db,
        engine: &state.engine,
        offsite: &state.offsite,
        link: &state.first_run_link,
    }
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

/// The forms of the first-run page: a mistake is answered at the one that failed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Failed {
    /// "From a backup file".
    File,
    /// "From an off-site target".
    Target,
}

impl Failed {
    /// The key of the form's own message in the page's errors.
    fn key(self) -> &'static str {
        match self {
            Failed::File => "bring_back_file",
            Failed::Target => "bring_back_target",
        }
    }
}

impl FirstRunPage {
    /// The account form failed (not one of the bring-back forms): only then does it say that
    /// its password fields are empty again, and only then does it take the focus.
    fn account_failed(&self) -> bool {
        ["general", "username", "password"]
            .iter()
            .any(|k| self.errors.has(k))
    }

    /// Nothing failed yet, or the account form did: the user name field takes the focus.
    fn account_focus(&self) -> bool {
        self.errors.is_empty() || self.account_failed()
    }

    /// The off-site target form failed on one of its fields.
    fn target_failed(&self) -> bool {
        !self.errors.is_empty() && !self.account_failed() && !self.errors.has(Failed::File.key())
    }
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
        data_dir: state.engine.paths().data_dir.display().to_string(),
        backups_dir: state.engine.paths().backups.display().to_string(),
        setup,
        setup_errors,
    };
    render_form(&page, invalid)
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
            .map(|e| {
                format!(
                    "Your account is ready, but the sample data could not be added: {}",
                    crate::error_chain::chain(&e)
                )
            })
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
                "Your account is ready, but the backup of it failed: {}. Create one on Database Backup.",
                crate::error_chain::chain(&e)
            )
        });
    Ok(FirstRun::Created {
        user,
        demo_problem: demo_problem.or(backup_problem),
    })
}

pub async fn create_account(
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

fn local_only(req: &HttpRequest) -> Result<(), AppError> {
    if is_loopback(req) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "Data can only be brought back from the computer Backroom runs on.".into(),
        ))
    }
}

async fn done(state: &AppState, session: &UserSession, report: &RestoreReport) -> HttpResponse {
    let rows: Vec<String> = ["products", "customers", "sales"]
        .iter()
        .filter_map(|t| report.row_counts.get(*t).map(|n| format!("{n} {t}")))
        .collect();
    // Called by what the owner wrote and when, the file name after it.
    let from = crate::web::views::backups::find_backup(state, report.restored.clone())
        .await
        .map_or_else(
            |_| report.restored.clone(),
            |e| format!("“{}” (file {})", e.label(), report.restored),
        );
    session.flash_ok(format!(
        "Your data is back ({}), from {from}. Sign in with your account from before.",
        rows.join(", "),
    ));
    see_other("/login")
}

/// The first-run page again with the problem in its "bring back" box (nothing changed).
/// The first-run page again with `problem` at the form that failed (`form`), what was typed
/// kept (never the secret or the kit).
async fn again(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    problem: AppError,
    form: Failed,
    setup: TargetForm,
) -> Result<HttpResponse, AppError> {
    match problem {
        AppError::BadRequest(message)
        | AppError::Unavailable(message)
        | AppError::TooLarge(message)
        | AppError::TooManyRequests(message)
        | AppError::TimedOut(message)
        | AppError::Conflict(message) => {
            let mut errors = FieldErrors::default();
            errors.add(form.key(), message);
            first_run_render(req, state, String::new(), false, errors, setup).await
        }
        AppError::NotFound => {
            let mut errors = FieldErrors::default();
            errors.add(form.key(), "That copy is not on the target (any more).");
            first_run_render(req, state, String::new(), false, errors, setup).await
        }
        other => Err(other),
    }
}

/// The file's numbers, to confirm before its data is put in place.
#[derive(Template)]
#[template(path = "first_run_confirm.html")]
struct ConfirmPage {
    layout: Layout,
    name: String,
    size: String,
    /// (table, rows) as the file holds them.
    counts: Vec<(String, i64)>,
}

pub async fn upload(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: Multipart,
) -> Result<HttpResponse, AppError> {
    local_only(&req)?;
    // Refused before a byte of the body is read once accounts exist.
    let st = state.clone();
    if let Err(e) = blocking(move || bring_back(&st).ensure_no_users()).await {
        return again(&req, &state, e, Failed::File, TargetForm::default()).await;
    }
    let result = match receive::receive_multipart(&state, form).await {
        Ok(arrived) => {
            let st = state.clone();
            blocking(move || bring_back(&st).add_upload(arrived)).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(entry) => {
            let counts = entry
                .sidecar
                .as_ref()
                .map(|s| s.row_counts.clone().into_iter().collect())
                .unwrap_or_default();
            render(&ConfirmPage {
                layout: Layout::new(&req, &state, "Bring back my data", "first-run").await,
                size: crate::fsutil::human_size(entry.size),
                name: entry.file_name,
                counts,
            })
        }
        Err(e) => again(&req, &state, e, Failed::File, TargetForm::default()).await,
    }
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    name: String,
}

pub async fn restore_file(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: UserSession,
    form: web::Form<ConfirmForm>,
) -> Result<HttpResponse, AppError> {
    local_only(&req)?;
    let (st, name) = (state.clone(), form.into_inner().name);
    match blocking(move || bring_back(&st).restore_upload(&name)).await {
        Ok(report) => Ok(done(&state, &session, &report).await),
        Err(e) => again(&req, &state, e, Failed::File, TargetForm::default()).await,
    }
}

#[derive(Template)]
#[template(path = "first_run_copies.html")]
struct CopiesPage {
    layout: Layout,
    target: String,
    token: String,
    copies: Vec<CopyView>,
}

impl CopiesPage {
    fn several(&self) -> bool {
        CopyView::several_senders(&self.copies)
    }
}

pub async fn connect(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<TargetForm>,
) -> Result<HttpResponse, AppError> {
    local_only(&req)?;
    let form = form.into_inner();
    let (target, credentials) = match form.parse() {
        Ok(parsed) => parsed,
        Err(errors) => {
            return first_run_render(&req, &state, String::new(), false, errors, form).await;
        }
    };
    let described = target.describe();
    let new = NewTarget {
        target,
        credentials,
        kit: Some(form.kit.clone()),
        create_folder: false,
    };
    let st = state.clone();
    match blocking(move || bring_back(&st).connect(new)).await {
        Ok((token, copies)) => {
            let page = CopiesPage {
                layout: Layout::new(&req, &state, "Bring back my data", "first-run").await,
                target: described,
                token,
                copies: copies.iter().map(CopyView::from_manifest).collect(),
            };
            render(&page)
        }
        Err(e) => again(&req, &state, e, Failed::Target, form).await,
    }
}

#[derive(Deserialize)]
pub struct PickForm {
    token: String,
    copy: String,
}

pub async fn restore(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: UserSession,
    form: web::Form<PickForm>,
) -> Result<HttpResponse, AppError> {
    local_only(&req)?;
    let PickForm { token, copy } = form.into_inner();
    let st = state.clone();
    match blocking(move || bring_back(&st).from_target(&token, &copy)).await {
        Ok(report) => Ok(done(&state, &session, &report).await),
        Err(e) => again(&req, &state, e, Failed::Target, TargetForm::default()).await,
    }
}
