//! `/backup/upload` (super-admin): a backup file from elsewhere, checked and added as
//! `uploaded_…`; its details page then offers the normal restore with its confirmation.

use actix_multipart::Multipart;
use actix_web::HttpResponse;

use crate::actions::bring_in;
use crate::backup::BackupEntry;
use crate::fsutil;
use crate::web::http::session::UserSession;
use crate::web::http::{AppError, Ctx, blocking, see_other, upload};

/// Says what was added and shows it: its details page offers the restore.
pub fn added(session: &UserSession, entry: &BackupEntry) -> HttpResponse {
    session.flash_ok(format!(
        "“{}” was checked and added ({}). Look at its numbers below; Restore puts its data back.",
        entry.label(),
        fsutil::human_size(entry.size)
    ));
    see_other(&format!("/backup/{}", entry.file_name))
}

pub async fn upload(
    Ctx { state, user, .. }: Ctx,
    session: UserSession,
    form: Multipart,
) -> Result<HttpResponse, AppError> {
    let boss = user.super_admin()?;
    let arrived = upload::receive_multipart(&state, form).await?;
    let offsite = state.offsite.clone();
    let entry = blocking(move || bring_in::add_upload(&offsite, &boss, arrived)).await?;
    Ok(added(&session, &entry))
}
