//! `/backup/...`: the status page staff open to see their data is safe (`status.rs`), a
//! backup's details, download, Keep mark and verify (`details.rs`), delete, restore and
//! emergency restore, the records inside a backup, uploads, and the off-site targets
//! (`offsite/`). Handlers extract, call one use-case from `actions::backups`, and render.

pub mod delete;
pub mod details;
pub mod offsite;
pub mod records;
pub mod restore;
pub mod status;
pub mod upload;

pub use status::status_page;

use askama::Template;

use crate::web::http::layout::Layout;
use crate::web::views::backups::CountRow;

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
    /// The backup's file name, small under the heading (empty: none).
    file_name: String,
    explanation: Vec<String>,
    button: String,
    danger: bool,
    counts: Vec<CountRow>,
    /// Accounts that differ between now and the backup (restores only).
    accounts: Vec<AccountLine>,
    /// Offer "restore accounts exactly as in the backup".
    offer_exact_accounts: bool,
}
