//! Server-rendered pages, one module per area of the sidebar.

pub mod auth;
pub mod backup;
pub mod customers;
pub mod first_run;
pub mod home;
pub mod offsite;
pub mod products;
pub mod record_pages;
pub mod sales;
pub mod users;

use actix_web::web;

/// Products, customers, sales, users and CSV export.
pub fn business_routes(cfg: &mut web::ServiceConfig) {
    products::routes(cfg);
    customers::routes(cfg);
    sales::routes(cfg);
    users::routes(cfg);
}
