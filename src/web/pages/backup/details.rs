//! One backup: its details page, download, "verify now" and the Keep mark.

use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::actions::backups;
use crate::auth::Role;
use crate::backup::BackupState;
use crate::timefmt;
use crate::web::http::ctx::Ctx;
use crate::web::http::layout::Layout;
use crate::web::http::session::{CurrentUser, UserSession};
use crate::web::http::{AppError, blocking, render, see_other};
use crate::web::views::backups::{
    BackupRow, CountRow, check_method_words, compare_counts, current_counts, find_backup,
    newest_name,
};

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

/// `GET /backup/{name}`: what the backup holds against today's data, and its record.
pub async fn details(
    Ctx { req, state, user }: Ctx,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let entry = find_backup(&state, name.into_inner()).await?;
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
    let title = entry.label();
    let page = DetailsPage {
        layout: Layout::new(&req, &state, &title, "backup").await,
        row: BackupRow::from_entry(&entry, newest.as_deref(), state.clock.now()),
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
            .map(|s| check_method_words(&s.verification.method).to_string())
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

pub async fn download(
    Ctx { req, state, user }: Ctx,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    user.admin()?;
    let entry = find_backup(&state, name.into_inner()).await?;
    let path = entry.path.clone();
    let file_name = entry.file_name.clone();
    // A backup holds every password hash (the super-admins' too): admins get a copy without.
    let whole = user.role >= Role::SuperAdmin;
    let file = blocking(move || {
        if whole {
            return actix_files::NamedFile::open(path).map_err(AppError::internal);
        }
        let copy = crate::backup::redact::copy_without_password_hashes(&path)
            .map_err(AppError::internal)?;
        actix_files::NamedFile::from_file(copy, file_name).map_err(AppError::internal)
    })
    .await?
    .set_content_type(
        "application/vnd.sqlite3"
            .parse()
            .unwrap_or(actix_web::mime::APPLICATION_OCTET_STREAM),
    )
    .set_content_disposition(ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![DispositionParam::Filename(entry.file_name.clone())],
    });
    let without = if whole {
        ""
    } else {
        " (without password hashes)"
    };
    state.engine.log().info(&format!(
        "Backup downloaded: {} by {}{without}",
        entry.file_name, user.username
    ));
    Ok(file.into_response(&req))
}

pub async fn verify(
    Ctx { state, user, .. }: Ctx,
    session: UserSession,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let engine = state.engine.clone();
    let name = name.into_inner();
    let target = name.clone();
    let who = user.username.clone();
    let checked = blocking(move || Ok::<_, AppError>(engine.verify(&target, false, &who))).await?;
    let entry = match checked {
        Ok(entry) => entry,
        Err(e) if e.is_busy() => {
            session.flash_error(format!(
                "Not verified yet: {}",
                crate::error_chain::chain(&e)
            ));
            return Ok(see_other(&format!("/backup/{name}")));
        }
        Err(e) => return Err(e.into()),
    };
    match entry.state() {
        BackupState::Verified => session.flash_ok(format!(
            "“{}” is good: checksum and SQLite check passed.",
            entry.label()
        )),
        other => session.flash_error(format!(
            "“{}” failed verification: {}",
            entry.label(),
            other.reason()
        )),
    }
    Ok(see_other(&format!("/backup/{}", entry.file_name)))
}

#[derive(Deserialize)]
pub struct KeepForm {
    keep: String,
    /// `status`: the toggle was on the list (or the "backup made" message); go back there.
    #[serde(default)]
    back: String,
}

/// Marks a backup Keep (or removes the mark): super-admins only.
pub async fn keep(
    Ctx { state, user, .. }: Ctx,
    session: UserSession,
    name: web::Path<String>,
    form: web::Form<KeepForm>,
) -> Result<HttpResponse, AppError> {
    let keep = form.keep == "1";
    let name = name.into_inner();
    let (engine, boss, target) = (state.engine.clone(), user.super_admin()?, name.clone());
    match blocking(move || backups::set_keep(&engine, &boss, &target, keep)).await {
        Ok(entry) if keep => session.flash_ok(format!(
            "“{}” is marked Keep: it is never removed to make room, and cannot be deleted until the mark is removed.",
            entry.label()
        )),
        Ok(entry) => session.flash_ok(format!("The Keep mark was removed from “{}”.", entry.label())),
        Err(e @ (AppError::Forbidden(_) | AppError::NotFound)) => return Err(e),
        Err(e) => session.flash_error(format!("Not changed: {}", e.public_message())),
    }
    if form.back == "status" {
        return Ok(see_other("/backup/status#backups"));
    }
    Ok(see_other(&format!("/backup/{name}")))
}
