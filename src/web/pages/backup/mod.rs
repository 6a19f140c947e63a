//! `/backup/...`: the status page staff open to see their data is safe, backup details,
//! download, Keep marks, delete, verify, settings and the restore confirmations. Handlers
//! extract, call one use-case from `web::backups`, and render.

mod delete;
mod details;
mod records;
mod restore;
mod status;
mod upload;

pub use status::status_page;

use actix_web::web;
use askama::Template;

use crate::web::backup_view::CountRow;
use crate::web::layout::Layout;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/backup/status", web::get().to(status::status))
        .route("/backup/create", web::post().to(status::create))
        .route("/backup/settings", web::post().to(status::save_settings))
        .route("/backup/upload", web::post().to(upload::upload))
        .route(
            "/backup/offsite/{target}/{copy}/bring-in",
            web::post().to(upload::bring_in),
        )
        .route(
            "/backup/emergency-restore",
            web::get().to(restore::emergency_page),
        )
        .route(
            "/backup/emergency-restore",
            web::post().to(restore::emergency_restore),
        )
        .route("/backup/{name}", web::get().to(details::details))
        .route(
            "/backup/{name}/records/{table}",
            web::get().to(records::list),
        )
        .route(
            "/backup/{name}/records/{table}/export.csv",
            web::get().to(records::export_csv),
        )
        .route("/backup/{name}/diff/{table}", web::get().to(records::diff))
        .route(
            "/backup/{name}/bring-back",
            web::post().to(records::bring_back),
        )
        .route("/backup/{name}/download", web::get().to(details::download))
        .route("/backup/{name}/verify", web::post().to(details::verify))
        .route("/backup/{name}/keep", web::post().to(details::keep))
        .route("/backup/{name}/delete", web::get().to(delete::delete_page))
        .route("/backup/{name}/delete", web::post().to(delete::delete))
        .route(
            "/backup/{name}/restore",
            web::get().to(restore::restore_page),
        )
        .route("/backup/{name}/restore", web::post().to(restore::restore));
}

/// One account line on the restore confirmation ("bob: password differs; role admin → staff").
pub struct AccountLine {
    pub username: String,
    pub what: String,
}

/// The page that asks before deleting or restoring.
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
    /// Accounts that differ between now and the backup (restores only).
    accounts: Vec<AccountLine>,
    /// Offer "restore accounts exactly as in the backup".
    offer_exact_accounts: bool,
}
