//! What the backup page and the JSON API share: the use-cases behind their buttons (checks of
//! who may do what, then one engine call) so both answer the same way.

use actix_web::web;

use super::session::CurrentUser;
use super::{AppError, AppState, blocking};
use crate::auth::limits::wait_message;
use crate::backup::{BackupEntry, CreateRequest};

pub const MAX_DESCRIPTION_CHARS: usize = 200;

/// A description typed for a manual backup: short, and no invisible control characters.
pub fn check_description(text: &str) -> Result<(), AppError> {
    if text.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(AppError::BadRequest(format!(
            "The description can have at most {MAX_DESCRIPTION_CHARS} characters."
        )));
    }
    crate::text::check("The description", text, false).map_err(AppError::BadRequest)
}

/// Makes a manual backup for `user`: staff are limited to one per ten minutes, so that the
/// cap of ten is never a way around the delete permission.
pub async fn create_manual(
    state: &web::Data<AppState>,
    user: &CurrentUser,
    description: &str,
) -> Result<BackupEntry, AppError> {
    check_description(description)?;
    state
        .manual_backups
        .take_turn(user.id, user.role)
        .map_err(|wait| AppError::TooManyRequests(wait_message(wait)))?;
    let engine = state.engine.clone();
    let request = CreateRequest::manual(description, &user.username);
    let made = blocking(move || engine.create(&request)).await;
    if made.is_err() {
        state.manual_backups.give_back(user.id);
    }
    made
}
