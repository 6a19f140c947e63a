//! Restoring a backup in place and emergency restore (super-admins only): a confirmation that
//! says what will change (rows, and the accounts that differ), then the restore.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::{AccountLine, ConfirmPage};
use crate::actions::backups::{Restore, require_restorer};
use crate::backup::{Accounts, BackupKind, BackupName, RestoreOptions, RestoreReport};
use crate::timefmt;
use crate::web::http::ctx::Ctx;
use crate::web::http::layout::Layout;
use crate::web::http::session::UserSession;
use crate::web::http::state::AppState;
use crate::web::http::{AppError, blocking, render, see_other};
use crate::web::views::backups::{
    compare_counts, current_counts, find_backup, load_status, run_restore,
};

pub async fn restore_page(
    Ctx { req, state, user }: Ctx,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let name = name.into_inner();
    require_restorer(&state.engine, &user.actor(), Some(&name))?;
    let entry = find_backup(&state, name).await?;
    let current = current_counts(&state).await?;
    let engine = state.engine.clone();
    let file_name = entry.file_name.clone();
    let differences = blocking(move || engine.compare_accounts(&file_name)).await?;
    let backup_counts = entry
        .sidecar
        .as_ref()
        .map(|s| s.row_counts.clone())
        .unwrap_or_default();
    let accounts: Vec<AccountLine> = differences
        .iter()
        .map(|d| AccountLine {
            username: d.username.clone(),
            what: d.change.to_string(),
        })
        .collect();
    let mut explanation = vec![
        format!(
            "The data will go back to how it was on {} ({}, {} backup by {}{}).",
            timefmt::local(entry.created_at()),
            timefmt::ago(entry.created_at(), state.clock.now()),
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
        "Everyone keeps working: pages pause for a moment while the data is swapped.".into(),
        "Passwords, roles and disabled accounts stay as they are today for everyone who is in both (accounts are not business data); people whose account is not in the backup will have to be added again.".into(),
    ];
    let undoing = entry.kind() == BackupKind::PreRestore;
    if undoing {
        explanation.insert(
            1,
            "This is the safety backup a restore made of the data just before it: restoring it undoes that restore.".into(),
        );
    }
    let label = entry.label();
    let title = if undoing {
        format!("Undo the restore: put back the {label}")
    } else {
        format!("Restore “{label}”")
    };
    render(&ConfirmPage {
        layout: Layout::new(&req, &state, &title, "backup").await,
        action: format!("/backup/{}/restore", entry.file_name),
        heading: format!("{title}?"),
        file_name: entry.file_name.clone(),
        explanation,
        button: "Restore this backup".into(),
        danger: true,
        counts: compare_counts(&backup_counts, &current),
        offer_exact_accounts: !accounts.is_empty(),
        accounts,
    })
}

/// What a backup is called ("before stock-take — Wed 2 Dec, 15:57"), its file name when it
/// is not in the catalog (a safety copy that kept a temporary name).
async fn label_of(state: &AppState, name: &str) -> String {
    find_backup(state, name.to_string())
        .await
        .map_or_else(|_| name.to_string(), |e| e.label())
}

/// "Restored X. The data from before is kept as Y." plus what the restore passed over or kept.
async fn restore_message(state: &AppState, report: &RestoreReport) -> String {
    let mut message = format!(
        "Restored “{}” (file {}). The data from before is kept as the “{}” (file {}).",
        label_of(state, &report.restored).await,
        report.restored,
        label_of(state, &report.safety_backup).await,
        report.safety_backup
    );
    if !report.skipped.is_empty() {
        let names: Vec<&str> = report.skipped.iter().map(|(n, _)| n.as_str()).collect();
        message.push_str(&format!(" Skipped damaged backups: {}.", names.join(", ")));
    }
    if !report.accounts_kept.is_empty() {
        message.push_str(&format!(
            " Today's password and role were kept for: {}.",
            report.accounts_kept.join(", ")
        ));
    }
    message
}

/// Says what was restored and offers to undo it: restoring the safety backup it just made,
/// through the same confirmation as any restore.
async fn flash_restored(state: &AppState, session: &UserSession, report: &RestoreReport) {
    let message = restore_message(state, report).await;
    if BackupName::parse(&report.safety_backup).is_some() {
        let undo = format!("/backup/{}/restore", report.safety_backup);
        session.flash_ok_with_link(message, undo, "Undo this restore");
    } else {
        // The safety copy kept a temporary name (the next start names it): nothing to link.
        session.flash_ok(message);
    }
}

#[derive(Deserialize, Default)]
pub struct RestoreForm {
    /// "exact": accounts exactly as in the backup.
    #[serde(default)]
    accounts: String,
}

impl RestoreForm {
    fn options(&self) -> RestoreOptions {
        RestoreOptions {
            accounts: if self.accounts == "exact" {
                Accounts::AsInBackup
            } else {
                Accounts::KeepCurrent
            },
        }
    }
}

pub async fn restore(
    Ctx { state, user, .. }: Ctx,
    session: UserSession,
    name: web::Path<String>,
    form: web::Form<RestoreForm>,
) -> Result<HttpResponse, AppError> {
    let name = name.into_inner();
    let boss = require_restorer(&state.engine, &user.actor(), Some(&name))?;
    match run_restore(&state, boss, Restore::Named(name), form.options()).await {
        Ok(report) => flash_restored(&state, &session, &report).await,
        Err(e @ (AppError::NotFound | AppError::Forbidden(_))) => return Err(e),
        Err(e) => session.flash_error(format!("Restore failed: {}", e.public_message())),
    }
    Ok(see_other("/backup/status"))
}

pub async fn emergency_page(Ctx { req, state, user }: Ctx) -> Result<HttpResponse, AppError> {
    require_restorer(&state.engine, &user.actor(), None)?;
    let s = load_status(&state).await?;
    let candidate = match &s.emergency_candidate_label {
        Some(name) => format!(
            "It will use “{name}”, the newest backup not known to be damaged (it is checked first; if it fails, the next older one is tried)."
        ),
        None => "There is no usable backup, so emergency restore cannot run.".into(),
    };
    render(&ConfirmPage {
        layout: Layout::new(&req, &state, "Emergency restore", "backup").await,
        action: "/backup/emergency-restore".into(),
        heading: "Emergency restore from the latest good backup?".into(),
        file_name: s.emergency_candidate.clone().unwrap_or_default(),
        explanation: vec![
            candidate,
            "The current data is kept as a safety backup (pre_restore_...) first.".into(),
            "Use this when the data is damaged or wrong and you want the most recent good state back.".into(),
            "Passwords, roles and disabled accounts stay as they are today.".into(),
        ],
        button: "Run emergency restore".into(),
        danger: true,
        counts: Vec::new(),
        accounts: Vec::new(),
        offer_exact_accounts: false,
    })
}

pub async fn emergency_restore(
    Ctx { state, user, .. }: Ctx,
    session: UserSession,
) -> Result<HttpResponse, AppError> {
    let boss = require_restorer(&state.engine, &user.actor(), None)?;
    let options = RestoreOptions::default();
    match run_restore(&state, boss, Restore::LatestGood, options).await {
        Ok(report) => flash_restored(&state, &session, &report).await,
        Err(e @ AppError::Forbidden(_)) => return Err(e),
        Err(e) => session.flash_error(format!("Emergency restore failed: {}", e.public_message())),
    }
    Ok(see_other("/backup/status"))
}
