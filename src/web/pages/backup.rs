//! `/backup/...`: the status page staff open to see their data is safe, backup details,
//! download, delete, verify, settings and the restore confirmations.

use std::collections::BTreeMap;

use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::auth::Role;
use crate::backup::health::{Health, LiveCheck};
use crate::backup::log::LogLine;
use crate::backup::scheduler::ScheduleInfo;
use crate::backup::{
    BackupEngine, BackupEntry, BackupError, BackupKind, BackupState, Progress, RestoreOptions,
    catalog,
};
use crate::config::Settings;
use crate::db::{self, DbError};
use crate::web::layout::Layout;
use crate::web::session::{CurrentUser, UserSession};
use crate::web::{AppError, AppState, render, see_other};
use crate::{fsutil, timefmt};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/backup/status", web::get().to(status))
        .route("/backup/create", web::post().to(create))
        .route("/backup/settings", web::post().to(save_settings))
        .route("/backup/emergency-restore", web::get().to(emergency_page))
        .route(
            "/backup/emergency-restore",
            web::post().to(emergency_restore),
        )
        .route("/backup/{name}", web::get().to(details))
        .route("/backup/{name}/download", web::get().to(download))
        .route("/backup/{name}/delete", web::get().to(delete_page))
        .route("/backup/{name}/delete", web::post().to(delete))
        .route("/backup/{name}/verify", web::post().to(verify))
        .route("/backup/{name}/restore", web::get().to(restore_page))
        .route("/backup/{name}/restore", web::post().to(restore));
}

/// One backup as lists show it.
#[derive(Debug, Clone, Serialize)]
pub struct BackupRow {
    pub name: String,
    pub kind: BackupKind,
    pub kind_label: &'static str,
    pub created_at: chrono::DateTime<Utc>,
    pub created_local: String,
    pub ago: String,
    pub size: u64,
    pub size_human: String,
    pub description: String,
    pub created_by: String,
    pub state: &'static str,
    pub state_reason: String,
    pub is_newest: bool,
    pub sha256: String,
    pub schema_version: Option<i64>,
}

impl BackupRow {
    pub fn from_entry(entry: &BackupEntry, newest: Option<&str>) -> BackupRow {
        let now = Utc::now();
        let state = entry.state();
        BackupRow {
            name: entry.file_name.clone(),
            kind: entry.kind(),
            kind_label: entry.kind().label(),
            created_at: entry.created_at(),
            created_local: timefmt::local(entry.created_at()),
            ago: timefmt::ago(entry.created_at(), now),
            size: entry.size,
            size_human: fsutil::human_size(entry.size),
            description: entry.description().to_string(),
            created_by: entry.created_by().to_string(),
            state: state.label(),
            state_reason: state.reason().to_string(),
            is_newest: newest == Some(entry.file_name.as_str()),
            sha256: entry
                .sidecar
                .as_ref()
                .map(|s| s.sha256.clone())
                .unwrap_or_default(),
            schema_version: entry.sidecar.as_ref().map(|s| s.schema_version),
        }
    }
}

/// The list rows, newest first, with the newest counted backup marked (it cannot be deleted).
pub fn backup_rows(entries: &[BackupEntry]) -> Vec<BackupRow> {
    let newest = catalog::newest_counted(entries).map(|e| e.file_name.clone());
    entries
        .iter()
        .map(|e| BackupRow::from_entry(e, newest.as_deref()))
        .collect()
}

/// Everything the status page and `/api/backups/status` show.
#[derive(Debug, Clone, Serialize)]
pub struct StatusView {
    pub health: Health,
    pub backups: Vec<BackupRow>,
    pub counted: usize,
    pub max_backups: u32,
    pub total_size: u64,
    pub total_size_human: String,
    pub latest: Option<String>,
    pub schedule: ScheduleInfo,
    pub next_run_local: String,
    pub next_run_ago: String,
    pub operation: Option<Progress>,
    pub quick_check: Option<LiveCheck>,
    pub integrity_check: Option<LiveCheck>,
    pub database_size: u64,
    pub database_size_human: String,
    pub backups_dir: String,
    pub free_space: Option<u64>,
    pub free_space_human: String,
    pub settings: Settings,
    pub emergency_candidate: Option<String>,
}

/// Gathers the status (blocking: reads the folder and the log).
pub fn status_view(engine: &BackupEngine, schedule: ScheduleInfo) -> StatusView {
    engine.refresh_quick_check_if_stale();
    let entries = engine.list().unwrap_or_default();
    let backups = backup_rows(&entries);
    let settings = engine.settings();
    let paths = engine.paths();
    let database_size = std::fs::metadata(&paths.db).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(paths.db_sidecar("-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
    let free_space = fsutil::available_space(&paths.data_dir).ok();
    let now = Utc::now();
    let emergency_candidate = catalog::emergency_choice(&entries).map(|e| e.file_name.clone());
    let total_size = entries.iter().map(|e| e.size).sum();
    StatusView {
        health: engine.health(now),
        counted: entries
            .iter()
            .filter(|e| e.kind().counts_toward_cap())
            .count(),
        max_backups: settings.max_backups,
        total_size,
        total_size_human: fsutil::human_size(total_size),
        latest: entries.first().map(|e| {
            format!(
                "{} ({})",
                timefmt::local(e.created_at()),
                timefmt::ago(e.created_at(), now)
            )
        }),
        next_run_local: schedule
            .next_run
            .map(timefmt::local_seconds)
            .unwrap_or_default(),
        next_run_ago: schedule
            .next_run
            .map(|t| timefmt::ago(t, now))
            .unwrap_or_default(),
        schedule,
        operation: engine.progress(),
        quick_check: engine.last_quick_check(),
        integrity_check: engine.last_full_check(),
        database_size,
        database_size_human: fsutil::human_size(database_size),
        backups_dir: paths.backups.display().to_string(),
        free_space,
        free_space_human: free_space
            .map(fsutil::human_size)
            .unwrap_or_else(|| "unknown".into()),
        settings,
        emergency_candidate,
        backups,
    }
}

pub async fn load_status(state: &web::Data<AppState>) -> Result<StatusView, AppError> {
    let engine = state.engine.clone();
    let schedule = state.scheduler.info();
    Ok(web::block(move || status_view(&engine, schedule)).await?)
}

#[derive(Template)]
#[template(path = "backup/status.html")]
struct StatusPage {
    layout: Layout,
    s: StatusView,
    log: Vec<LogLine>,
    user: CurrentUser,
}

impl StatusPage {
    fn check_text(&self, check: &Option<LiveCheck>) -> String {
        match check {
            Some(c) if c.ok => format!("ok, {}", timefmt::ago(c.checked_at, Utc::now())),
            Some(c) => format!(
                "FAILED {}: {}",
                timefmt::ago(c.checked_at, Utc::now()),
                c.message
            ),
            None => "not run yet".into(),
        }
    }

    fn interval_text(&self) -> String {
        if self.s.schedule.active {
            format!(
                "every {}",
                timefmt::span(i64::try_from(self.s.schedule.interval_secs).unwrap_or(0))
            )
        } else {
            "off".into()
        }
    }
}

pub async fn status(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let s = load_status(&state).await?;
    let engine = state.engine.clone();
    let log = web::block(move || engine.log().tail(50)).await?;
    render(&StatusPage {
        layout: Layout::new(&req, &state, "Database Backup", "backup").await,
        s,
        log,
        user,
    })
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    description: String,
}

pub async fn create(
    state: web::Data<AppState>,
    session: UserSession,
    user: CurrentUser,
    form: web::Form<CreateForm>,
) -> Result<HttpResponse, AppError> {
    match crate::web::backups::create_manual(&state, &user, &form.description).await {
        Ok(entry) => session.flash_ok(format!(
            "Backup {} created and verified ({}).",
            entry.file_name,
            fsutil::human_size(entry.size)
        )),
        Err(e @ (AppError::BadRequest(_) | AppError::TooManyRequests(_))) => {
            session.flash_error(e.to_string())
        }
        Err(e) => session.flash_error(format!("The backup was not made: {}", e.public_message())),
    }
    Ok(see_other("/backup/status"))
}

#[derive(Deserialize)]
pub struct SettingsForm {
    interval_hours: String,
    max_backups: String,
}

/// Validates and saves the backup settings, then applies them without a restart.
pub fn apply_settings(
    state: &AppState,
    interval: &str,
    max: &str,
    user: &str,
) -> Result<Settings, AppError> {
    let parse = |text: &str, what: &str| {
        text.trim()
            .parse::<u32>()
            .map_err(|_| AppError::BadRequest(format!("{what} must be a whole number.")))
    };
    let mut new = state.settings();
    let old = new.clone();
    new.interval_hours = parse(interval, "The automatic interval")?;
    new.max_backups = parse(max, "The number of backups to keep")?;
    new.validate()
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    new.save(&state.paths.settings)
        .map_err(AppError::internal)?;
    *state.settings.write().unwrap_or_else(|e| e.into_inner()) = new.clone();
    state.scheduler.reschedule(new.interval());
    state.engine.invalidate_health();
    state.engine.log().info(&format!(
        "Backup settings changed by {user}: automatic interval {} h -> {} h, keep {} -> {} backups",
        old.interval_hours, new.interval_hours, old.max_backups, new.max_backups
    ));
    Ok(new)
}

pub async fn save_settings(
    state: web::Data<AppState>,
    session: UserSession,
    user: CurrentUser,
    form: web::Form<SettingsForm>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::SuperAdmin)?;
    let form = form.into_inner();
    let st = state.clone();
    let name = user.username.clone();
    let result =
        web::block(move || apply_settings(&st, &form.interval_hours, &form.max_backups, &name))
            .await?;
    match result {
        Ok(s) => session.flash_ok(if s.interval_hours == 0 {
            format!(
                "Settings saved: automatic backups are off; keeping {} backups.",
                s.max_backups
            )
        } else {
            format!(
                "Settings saved: a backup every {} hour(s), keeping {} backups.",
                s.interval_hours, s.max_backups
            )
        }),
        Err(AppError::BadRequest(msg)) => session.flash_error(format!("Settings not saved: {msg}")),
        Err(e) => return Err(e),
    }
    Ok(see_other("/backup/status"))
}

/// Looks a name up in the catalog (never joins it to a path as given).
async fn find(state: &web::Data<AppState>, name: String) -> Result<BackupEntry, AppError> {
    let engine = state.engine.clone();
    Ok(web::block(move || engine.find(&name)).await??)
}

async fn current_counts(state: &web::Data<AppState>) -> Result<BTreeMap<String, i64>, AppError> {
    crate::web::run_db(state, |c| db::table_row_counts(c).map_err(DbError::from)).await
}

/// One table's rows in a backup beside the live database.
pub struct CountRow {
    pub table: String,
    pub backup: i64,
    pub current: i64,
}

impl CountRow {
    pub fn difference(&self) -> String {
        let d = self.backup - self.current;
        match d {
            0 => "same".into(),
            d if d > 0 => format!("+{d} in backup"),
            d => format!("{} rows more now", -d),
        }
    }
}

fn compare_counts(
    backup: &BTreeMap<String, i64>,
    current: &BTreeMap<String, i64>,
) -> Vec<CountRow> {
    let mut tables: Vec<&String> = backup.keys().chain(current.keys()).collect();
    tables.sort();
    tables.dedup();
    tables
        .into_iter()
        .map(|t| CountRow {
            table: t.clone(),
            backup: backup.get(t).copied().unwrap_or(0),
            current: current.get(t).copied().unwrap_or(0),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "backup/details.html")]
struct DetailsPage {
    layout: Layout,
    row: BackupRow,
    entry_json: String,
    counts: Vec<CountRow>,
    verified_at: String,
    method: String,
    duration: String,
    user: CurrentUser,
}

pub async fn details(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let entry = find(&state, name.into_inner()).await?;
    let newest = newest_name(&state).await?;
    let current = current_counts(&state).await?;
    let sidecar = entry.sidecar.clone();
    let counts = compare_counts(
        &sidecar
            .as_ref()
            .map(|s| s.row_counts.clone())
            .unwrap_or_default(),
        &current,
    );
    let page = DetailsPage {
        layout: Layout::new(
            &req,
            &state,
            &format!("Backup {}", entry.file_name),
            "backup",
        )
        .await,
        row: BackupRow::from_entry(&entry, newest.as_deref()),
        entry_json: sidecar
            .as_ref()
            .and_then(|s| serde_json::to_string_pretty(s).ok())
            .unwrap_or_else(|| "(no record: verify the backup to make one)".into()),
        verified_at: sidecar
            .as_ref()
            .map(|s| timefmt::local_seconds(s.verification.checked_at))
            .unwrap_or_default(),
        method: sidecar
            .as_ref()
            .map(|s| s.verification.method.clone())
            .unwrap_or_default(),
        duration: sidecar
            .as_ref()
            .map(|s| format!("{:.1} s", s.duration_ms as f64 / 1000.0))
            .unwrap_or_default(),
        counts,
        user,
    };
    render(&page)
}

async fn newest_name(state: &web::Data<AppState>) -> Result<Option<String>, AppError> {
    let engine = state.engine.clone();
    let entries = web::block(move || engine.list()).await??;
    Ok(catalog::newest_counted(&entries).map(|e| e.file_name.clone()))
}

pub async fn download(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::Admin)?;
    let entry = find(&state, name.into_inner()).await?;
    let path = entry.path.clone();
    let file = web::block(move || actix_files::NamedFile::open(path))
        .await?
        .map_err(AppError::internal)?
        .set_content_type("application/vnd.sqlite3".parse().unwrap_or(mime_octet()))
        .set_content_disposition(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(entry.file_name.clone())],
        });
    state.engine.log().info(&format!(
        "Backup downloaded: {} by {}",
        entry.file_name, user.username
    ));
    Ok(file.into_response(&req))
}

fn mime_octet() -> actix_web::mime::Mime {
    actix_web::mime::APPLICATION_OCTET_STREAM
}

#[derive(Template)]
#[template(path = "backup/confirm.html")]
struct ConfirmPage {
    layout: Layout,
    action: String,
    heading: String,
    explanation: Vec<String>,
    button: String,
    danger: bool,
    counts: Vec<CountRow>,
}

pub async fn delete_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::Admin)?;
    let entry = find(&state, name.into_inner()).await?;
    if newest_name(&state).await?.as_deref() == Some(entry.file_name.as_str()) {
        return Err(AppError::Conflict(
            BackupError::NewestCannotBeDeleted.to_string(),
        ));
    }
    render(&ConfirmPage {
        layout: Layout::new(&req, &state, "Delete backup", "backup").await,
        action: format!("/backup/{}/delete", entry.file_name),
        heading: format!("Delete backup {}?", entry.file_name),
        explanation: vec![
            format!(
                "Made {} ({}), {}.",
                timefmt::local(entry.created_at()),
                entry.kind().label(),
                fsutil::human_size(entry.size)
            ),
            "The file and its record are removed for good.".into(),
        ],
        button: "Delete this backup".into(),
        danger: true,
        counts: Vec::new(),
    })
}

pub async fn delete(
    state: web::Data<AppState>,
    session: UserSession,
    user: CurrentUser,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::Admin)?;
    let engine = state.engine.clone();
    let name = name.into_inner();
    let who = user.username.clone();
    let target = name.clone();
    match web::block(move || engine.delete(&target, &who)).await? {
        Ok(()) => session.flash_ok(format!("Backup {name} deleted.")),
        Err(e) if e.is_busy() => session.flash_error(format!("Not deleted yet: {e}")),
        Err(e) => return Err(e.into()),
    }
    Ok(see_other("/backup/status"))
}

pub async fn verify(
    state: web::Data<AppState>,
    session: UserSession,
    user: CurrentUser,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let engine = state.engine.clone();
    let name = name.into_inner();
    let target = name.clone();
    let who = user.username.clone();
    let entry = match web::block(move || engine.verify(&target, false, &who)).await? {
        Ok(entry) => entry,
        Err(e) if e.is_busy() => {
            session.flash_error(format!("Not verified yet: {e}"));
            return Ok(see_other(&format!("/backup/{name}")));
        }
        Err(e) => return Err(e.into()),
    };
    match entry.state() {
        BackupState::Verified => {
            session.flash_ok(format!("{name} is good: checksum and SQLite check passed."))
        }
        other => session.flash_error(format!("{name} failed verification: {}", other.reason())),
    }
    Ok(see_other(&format!("/backup/{}", entry.file_name)))
}

/// Refuses (403) and logs a restore attempt by someone who is not a super-admin.
/// Refuses (403) and logs a restore attempt by someone who is not a super-admin. `backup`
/// is the name asked for, or `None` for emergency restore.
pub fn require_restorer(
    state: &AppState,
    user: &CurrentUser,
    backup: Option<&str>,
) -> Result<(), AppError> {
    if user.is_super_admin() {
        return Ok(());
    }
    // Only real backup names reach the log, not whatever was typed into the address bar.
    let what = match backup {
        None => "the latest good backup",
        Some(name) if crate::backup::BackupName::parse(name).is_some() => name,
        Some(_) => "an unknown backup",
    };
    state.engine.log().warning(&format!(
        "Restore of {what} refused for {} (role {}): only super-admins may restore",
        user.username, user.role
    ));
    Err(AppError::Forbidden(
        "Only a super-admin can restore backups.".into(),
    ))
}

pub async fn restore_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let name = name.into_inner();
    require_restorer(&state, &user, Some(&name))?;
    let entry = find(&state, name).await?;
    let current = current_counts(&state).await?;
    let backup_counts = entry
        .sidecar
        .as_ref()
        .map(|s| s.row_counts.clone())
        .unwrap_or_default();
    render(&ConfirmPage {
        layout: Layout::new(&req, &state, "Restore backup", "backup").await,
        action: format!("/backup/{}/restore", entry.file_name),
        heading: format!("Restore {}?", entry.file_name),
        explanation: vec![
            format!(
                "The data will go back to how it was on {} ({}, {} backup by {}{}).",
                timefmt::local(entry.created_at()),
                timefmt::ago(entry.created_at(), Utc::now()),
                entry.kind().label(),
                entry.created_by(),
                if entry.description().is_empty() {
                    String::new()
                } else {
                    format!(": “{}”", entry.description())
                },
            ),
            "First the backup is checked; if it is damaged nothing changes.".into(),
            "The current data is kept as a safety backup (pre_restore_...) so this can be undone.".into(),
            "Everyone keeps working: pages pause for a moment while the data is swapped. People whose account is not in the backup will have to log in again.".into(),
        ],
        button: "Restore this backup".into(),
        danger: true,
        counts: compare_counts(&backup_counts, &current),
    })
}

fn restore_message(report: &crate::backup::restore::RestoreReport) -> String {
    let mut message = format!(
        "Restored {}. The data from before is kept as {}.",
        report.restored, report.safety_backup
    );
    if !report.skipped.is_empty() {
        let names: Vec<&str> = report.skipped.iter().map(|(n, _)| n.as_str()).collect();
        message.push_str(&format!(" Skipped damaged backups: {}.", names.join(", ")));
    }
    message
}

pub async fn restore(
    state: web::Data<AppState>,
    session: UserSession,
    user: CurrentUser,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let name = name.into_inner();
    require_restorer(&state, &user, Some(&name))?;
    let engine = state.engine.clone();
    let who = user.username.clone();
    let result = web::block(move || engine.restore(&name, &who, RestoreOptions::default())).await?;
    match result {
        Ok(report) => session.flash_ok(restore_message(&report)),
        Err(BackupError::NotFound(_)) => return Err(AppError::NotFound),
        Err(e) => session.flash_error(format!("Restore failed: {e}")),
    }
    Ok(see_other("/backup/status"))
}

pub async fn emergency_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    require_restorer(&state, &user, None)?;
    let s = load_status(&state).await?;
    let candidate = match &s.emergency_candidate {
        Some(name) => format!(
            "It will use {name}, the newest backup not known to be damaged (it is checked first; if it fails, the next older one is tried)."
        ),
        None => "There is no usable backup, so emergency restore cannot run.".into(),
    };
    render(&ConfirmPage {
        layout: Layout::new(&req, &state, "Emergency restore", "backup").await,
        action: "/backup/emergency-restore".into(),
        heading: "Emergency restore from the latest good backup?".into(),
        explanation: vec![
            candidate,
            "The current data is kept as a safety backup (pre_restore_...) first.".into(),
            "Use this when the data is damaged or wrong and you want the most recent good state back.".into(),
        ],
        button: "Run emergency restore".into(),
        danger: true,
        counts: Vec::new(),
    })
}

pub async fn emergency_restore(
    state: web::Data<AppState>,
    session: UserSession,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    require_restorer(&state, &user, None)?;
    let engine = state.engine.clone();
    let who = user.username.clone();
    match web::block(move || engine.emergency_restore(&who, RestoreOptions::default())).await? {
        Ok(report) => session.flash_ok(restore_message(&report)),
        Err(e) => session.flash_error(format!("Emergency restore failed: {e}")),
    }
    Ok(see_other("/backup/status"))
}
