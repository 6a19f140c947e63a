//! One integration-test binary (one link step) with a module per area.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod backup_web;
mod bring_back;
mod browser;
mod business;
mod corrupt;
mod counter;
mod faults;
mod garage;
mod hostile;
mod installer;
mod load;
mod offsite;
mod offsite_garage;
mod offsite_protect;
mod offsite_s3;
mod passwords;
mod records;
mod restore;
mod scrub;
mod server;
mod sessions;
mod support;
mod windows;
