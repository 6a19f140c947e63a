//! Off-site copies: every verified local backup, compressed and encrypted, sent to folders and
//! S3-compatible buckets away from this computer, with tiered retention, restore drills and an
//! emergency kit. No web types here.

pub mod folder;
pub mod keys;
pub mod pipeline;
pub mod s3;
pub mod store;
