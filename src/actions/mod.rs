//! The use-cases that the pages and the JSON API share: what a person may do to the backups,
//! their records and the off-site copies, and how data is brought in. No web types: each
//! takes the services it needs and the proof of the role it needs (`auth::permission`), runs
//! to the end (blocking), and answers with an [`ActionError`] when it cannot. The handler
//! decides where it runs (`web::http::blocking`).

pub mod backups;
pub mod bring_in;
mod error;
pub mod first_run;
pub mod offsite;
pub mod records;

pub use error::ActionError;
