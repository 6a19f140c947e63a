//! What a page and its JSON twin both show, in the same words: backups (`backups.rs`) and
//! off-site targets (`offsite.rs`).

pub mod backups;
pub mod offsite;
