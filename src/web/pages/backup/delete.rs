//! Deleting one backup (admin and up): never the newest, never a kept one.

use actix_web::{HttpResponse, web};

use super::ConfirmPage;
use crate::backup::BackupError;
use crate::web::ctx::Ctx;
use crate::web::layout::Layout;
use crate::web::session::UserSession;
use crate::web::{AppError, backups, render, see_other};
use crate::{fsutil, timefmt};

pub async fn delete_page(
    Ctx { req, state, user }: Ctx,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    user.admin()?;
    let entry = backups::find(&state, name.into_inner()).await?;
    if backups::newest_name(&state).await?.as_deref() == Some(entry.file_name.as_str()) {
        return Err(BackupError::NewestCannotBeDeleted.into());
    }
    if entry.keep() {
        return Err(BackupError::Kept(entry.file_name).into());
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
    match backups::delete(&state, &user.admin()?, name.clone()).await? {
        Ok(()) => session.flash_ok(format!("Backup {name} deleted.")),
        Err(e) if e.is_busy() => session.flash_error(format!("Not deleted yet: {e}")),
        Err(e @ BackupError::Kept(_)) => session.flash_error(format!("Not deleted: {e}")),
        Err(e) => return Err(e.into()),
    }
    Ok(see_other("/backup/status"))
}
