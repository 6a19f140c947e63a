//! `/backup/upload` and `/backup/offsite/{target}/{copy}/bring-in` (super-admin): a backup
//! file from elsewhere or a copy from a target, checked and added as `uploaded_…`; its details
//! page then offers the normal restore with its confirmation.

use actix_multipart::Multipart;
use actix_web::{HttpResponse, web};

use crate::fsutil;
use crate::web::ctx::Ctx;
use crate::web::session::UserSession;
use crate::web::{AppError, bring_in, see_other};

fn added(session: &UserSession, entry: &crate::backup::BackupEntry) -> HttpResponse {
    session.flash_ok(format!(
        "{} was checked and added ({}). Look at its numbers below; Restore puts its data back.",
        entry.file_name,
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
    let upload = bring_in::receive_multipart(&state, form).await?;
    let entry = bring_in::add_upload(&state, &boss, upload).await?;
    Ok(added(&session, &entry))
}

pub async fn bring_in(
    Ctx { state, user, .. }: Ctx,
    session: UserSession,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let boss = user.super_admin()?;
    let (target, copy) = path.into_inner();
    let entry = bring_in::bring_in_copy(&state, &boss, target, copy).await?;
    Ok(added(&session, &entry))
}
