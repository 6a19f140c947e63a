//! Backroom: a portable back-office dashboard for small businesses that keeps its data in
//! SQLite and protects it with backups staff can trust. `main.rs` only parses the command line;
//! everything else lives here so tests can build and start the app.

pub mod actions;
pub mod alerts;
pub mod auth;
pub mod backup;
pub mod business;
pub mod cli;
pub mod clock;
pub mod config;
pub mod continuous;
pub mod db;
pub mod error_chain;
pub mod fields;
pub mod fsutil;
pub mod offsite;
pub mod platform;
pub mod records;
pub mod server;
pub mod text;
pub mod timefmt;
pub mod web;

/// The program version (Cargo.toml).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git commit the binary was built from (`unknown` outside a git checkout).
pub const GIT_COMMIT: &str = env!("BACKROOM_GIT_COMMIT");

/// `0.1.0 (abc1234567)`: shown by `--version` and in every page footer.
pub const VERSION_LINE: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("BACKROOM_GIT_COMMIT"),
    ")"
);

pub fn version_line() -> String {
    VERSION_LINE.to_string()
}
