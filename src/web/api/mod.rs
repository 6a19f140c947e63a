//! The JSON API, one module per first segment after `/api/` (as listed in `routes.rs`):
//! session cookie + `X-CSRF-Token` for changes, errors as `{"error": "..."}`.

pub mod backups;
pub mod offsite;
pub mod search;
