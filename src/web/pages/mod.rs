//! Server-rendered pages, one module per first URL segment (`/backup/...` is `backup/`,
//! `/login` is `login.rs`); `home.rs` is `/`. The route map is `web/routes.rs`.

pub mod account;
pub mod alerts;
pub mod backup;
pub mod customers;
pub mod first_run;
pub mod home;
pub mod login;
pub mod logout;
pub mod products;
pub mod record_pages;
pub mod sales;
pub mod users;
