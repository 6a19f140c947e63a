//! The web app. A URL leads to one file: `routes.rs` lists every URL once, grouped by who may
//! open it; `pages/` and `api/` mirror the URL tree; `views/` holds what a page and its JSON
//! twin both show; `http/` is the plumbing that serves no URL, with the services every
//! handler shares (`http/state.rs`). `missing_data.rs` is the small app served instead while
//! the data file is missing. The use-cases behind the handlers are `crate::actions`.

pub mod api;
pub mod http;
pub mod missing_data;
pub mod pages;
pub mod routes;
pub mod views;
