//! The HTTP plumbing, which serves no URL itself: the services handlers share (`state.rs`),
//! the app builder and its middleware (host check, sessions, who is signed in, CSRF), errors,
//! the handler extractor, the page frame, paging, responses, embedded assets and upload
//! streaming. The common handler tools are re-exported here.

pub mod app;
pub mod assets;
pub mod ctx;
pub mod error;
mod error_map;
pub mod host_guard;
pub mod layout;
pub mod middleware;
pub mod paging;
pub mod responses;
pub mod security;
pub mod session;
pub mod session_store;
pub mod state;
pub mod upload;
pub mod upload_gate;

pub use ctx::{Ctx, is_loopback};
pub use error::{ApiError, AppError};
pub use responses::{blocking, render, render_form, render_status, run_db, see_other};
