//! One integration-test binary (one link step) with a module per area.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod backup_web;
mod browser;
mod business;
mod counter;
mod faults;
mod hostile;
mod installer;
mod load;
mod passwords;
mod restore;
mod server;
mod sessions;
mod support;
mod windows;
