//! Deleting one backup (admin and up): never the newest, never a kept one.

use actix_web::{HttpResponse, web};

use super::ConfirmPage;
use crate::actions::backups;
use crate::backup::BackupError;
use crate::error_chain::chain;
use crate::web::http::ctx::Ctx;
use crate::web::http::layout::Layout;
use crate::web::http::session::UserSession;
use crate::web::http::{AppError, blocking, render, see_other};
use crate::web::views::backups::{find_backup, newest_name};
use crate::{fsutil, timefmt};

pub async fn delete_page(
    Ctx { req, state, user }: Ctx,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    user.admin()?;
    let entry = find_backup(&state, name.into_inner()).await?;
    if newest_name(&state).await?.as_deref() == Some(entry.file_name.as_str()) {
        return Err(BackupError::NewestCannotBeDeleted.into());
    }
    if entry.keep() {
        return Err(BackupError::Kept(entry.file_name).into());
    }
    render(&ConfirmPage {
        layout: Layout::new(&req, &state, &format!("Delete {}", entry.label()), "backup").await,
        action: format!("/backup/{}/delete", entry.file_name),
        heading: format!("Delete the backup “{}”?", entry.label()),
        file_name: entry.file_name.clone(),
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
        accounts: Vec::new(),
        offer_exact_accounts: false,
    })
}

pub async fn delete(
    Ctx { state, user, .. }: Ctx,
    session: UserSession,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let name = name.into_inner();
    let label = find_backup(&state, name.clone()).await?.label();
    let (engine, admin, target) = (state.engine.clone(), user.admin()?, name.clone());
    let deleted = blocking(move || Ok::<_, AppError>(backups::delete(&engine, &admin, &target)));
    match deleted.await? {
        Ok(()) => session.flash_ok(format!("The backup “{label}” was deleted (file {name}).")),
        Err(e) if e.is_busy() => session.flash_error(format!("Not deleted yet: {}", chain(&e))),
        Err(e @ BackupError::Kept(_)) => session.flash_error(format!("Not deleted: {}", chain(&e))),
        Err(e) => return Err(e.into()),
    }
    Ok(see_other("/backup/status"))
}
