//! Every URL Backroom answers, once, grouped by who may open it: public, signed in (even
//! before a new password is chosen), the JSON API, and the signed-in pages. Whether a route is
//! public is its place here: the signed-in scopes are wrapped with the gate that sends
//! anonymous visitors to the login page (401 under `/api/`). A scope's gates run from the
//! last `wrap` in: who you are, then the new-password gate, then the CSRF check. Order
//! matters where paths overlap: fixed segments before `{name}`. Each handler is in the file
//! its URL names.

use actix_web::middleware::from_fn;
use actix_web::web::{self, delete, get, post};

use super::api;
use super::http::middleware::{csrf_guard, reject_anonymous_users, require_new_password};
use super::http::{assets, responses::not_found};
use super::pages::backup::{self, offsite};
use super::pages::customers::{self, Customers};
use super::pages::products::{self, Products};
use super::pages::{account, alerts, first_run, home, login, logout, record_pages, sales, users};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(public)
        // Signed in, even before a new password is chosen.
        .service(
            web::scope("/account")
                .route("", get().to(account::account_page))
                .route("", post().to(account::change_password))
                .wrap(from_fn(csrf_guard))
                .wrap(from_fn(reject_anonymous_users)),
        )
        .service(
            web::scope("/logout")
                .route("", post().to(logout::logout))
                .wrap(from_fn(csrf_guard))
                .wrap(from_fn(reject_anonymous_users)),
        )
        // The JSON API.
        .service(
            web::scope("/api")
                .configure(api_routes)
                .wrap(from_fn(csrf_guard))
                .wrap(from_fn(require_new_password))
                .wrap(from_fn(reject_anonymous_users)),
        )
        // The signed-in pages. Last: it answers every path not matched above (404 once
        // signed in).
        .service(
            web::scope("")
                .configure(signed_in_pages)
                .wrap(from_fn(csrf_guard))
                .wrap(from_fn(require_new_password))
                .wrap(from_fn(reject_anonymous_users)),
        );
}

/// Open to anyone. `/` decides itself what an anonymous visitor sees (the first-run page
/// while nobody has an account, else the login page).
fn public(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/static/{path:.*}")
            .route(get().to(assets::serve))
            .default_service(web::to(not_found))
            .wrap(from_fn(csrf_guard)),
    )
    // Browsers ask for it on their own; there is none (the pages link an SVG).
    .service(
        web::resource("/favicon.ico")
            .default_service(web::to(not_found))
            .wrap(from_fn(csrf_guard)),
    )
    .service(
        web::resource("/")
            .route(get().to(home::index))
            .default_service(web::to(not_found))
            .wrap(from_fn(csrf_guard))
            .wrap(from_fn(require_new_password)),
    )
    .service(
        web::resource("/login")
            .route(get().to(login::login_page))
            .route(post().to(login::login))
            .default_service(web::to(not_found))
            .wrap(from_fn(csrf_guard)),
    )
    .service(
        web::scope("/first-run")
            .route("", post().to(first_run::create_account))
            .route("/upload", post().to(first_run::upload))
            .route("/restore-file", post().to(first_run::restore_file))
            .route("/connect", post().to(first_run::connect))
            .route("/restore", post().to(first_run::restore))
            .wrap(from_fn(csrf_guard)),
    );
}

/// `/api/...`, signed in (super-admin or admin where the handler says so).
fn api_routes(cfg: &mut web::ServiceConfig) {
    use api::backups::{self as backups_api, records, upload};
    use api::{offsite as offsite_api, search};
    cfg.route("/backups", get().to(backups_api::list))
        .route("/backups", post().to(backups_api::create))
        .route("/backups/status", get().to(backups_api::status))
        .route("/backups/upload", post().to(upload::upload))
        .route(
            "/backups/emergency-restore",
            post().to(backups_api::emergency_restore),
        )
        .route("/backups/{name}", get().to(backups_api::show))
        .route("/backups/{name}", delete().to(backups_api::delete))
        .route("/backups/{name}/keep", post().to(backups_api::keep))
        .route("/backups/{name}/restore", post().to(backups_api::restore))
        .route("/backups/{name}/records/{table}", get().to(records::list))
        .route("/backups/{name}/diff/{table}", get().to(records::diff))
        .route("/backups/{name}/bring-back", post().to(records::bring_back))
        .route("/offsite", get().to(offsite_api::status))
        .route("/offsite/targets", post().to(offsite_api::add_target))
        .route("/offsite/{target}", get().to(offsite_api::copies))
        .route("/offsite/{target}", delete().to(offsite_api::remove))
        .route("/offsite/{target}/push", post().to(offsite_api::push))
        .route("/offsite/{target}/drill", post().to(offsite_api::drill))
        .route(
            "/offsite/{target}/{copy}/restore",
            post().to(offsite_api::restore_copy),
        )
        .route("/products/search", get().to(search::products))
        .route("/customers/search", get().to(search::customers));
}

/// The pages of a signed-in person.
fn signed_in_pages(cfg: &mut web::ServiceConfig) {
    use backup::{details, records, restore, status, upload};
    cfg.route("/alerts", get().to(alerts::page))
        .route("/alerts", post().to(alerts::add))
        .route("/alerts/test", post().to(alerts::test))
        .route("/alerts/{name}/remove", post().to(alerts::remove))
        .route("/backup/status", get().to(status::status))
        .route("/backup/create", post().to(status::create))
        .route("/backup/settings", post().to(status::save_settings))
        .route("/backup/upload", post().to(upload::upload))
        .route(
            "/backup/emergency-restore",
            get().to(restore::emergency_page),
        )
        .route(
            "/backup/emergency-restore",
            post().to(restore::emergency_restore),
        )
        // Off-site targets, before `/backup/{name}/...`.
        .route("/backup/offsite/targets", post().to(offsite::add_target))
        .route("/backup/offsite/kit", get().to(offsite::kit_page))
        .route(
            "/backup/offsite/kit/download",
            get().to(offsite::kit_download),
        )
        .route("/backup/offsite/kit/print", get().to(offsite::kit_print))
        .route(
            "/backup/offsite/kit/confirm",
            post().to(offsite::kit_confirm),
        )
        .route("/backup/offsite/key/rotate", post().to(offsite::rotate_key))
        .route(
            "/backup/offsite/{target}",
            get().to(offsite::target::target_page),
        )
        .route(
            "/backup/offsite/{target}/push",
            post().to(offsite::target::push),
        )
        .route(
            "/backup/offsite/{target}/drill",
            post().to(offsite::target::drill),
        )
        .route(
            "/backup/offsite/{target}/enabled",
            post().to(offsite::target::enabled),
        )
        .route(
            "/backup/offsite/{target}/remove",
            post().to(offsite::target::remove),
        )
        .route(
            "/backup/offsite/{target}/{copy}/bring-in",
            post().to(offsite::target::bring_in),
        )
        .route("/backup/{name}", get().to(details::details))
        .route("/backup/{name}/download", get().to(details::download))
        .route("/backup/{name}/verify", post().to(details::verify))
        .route("/backup/{name}/keep", post().to(details::keep))
        .route("/backup/{name}/records/{table}", get().to(records::list))
        .route(
            "/backup/{name}/records/{table}/export.csv",
            get().to(records::export_csv),
        )
        .route("/backup/{name}/diff/{table}", get().to(records::diff))
        .route("/backup/{name}/bring-back", post().to(records::bring_back))
        .route(
            "/backup/{name}/delete",
            get().to(backup::delete::delete_page),
        )
        .route("/backup/{name}/delete", post().to(backup::delete::delete))
        .route("/backup/{name}/restore", get().to(restore::restore_page))
        .route("/backup/{name}/restore", post().to(restore::restore))
        // Products and customers share their list and add/edit pages (`record_pages.rs`).
        .route("/products", get().to(record_pages::list::<Products>))
        .route("/products", post().to(record_pages::create::<Products>))
        .route(
            "/products/new",
            get().to(record_pages::new_form::<Products>),
        )
        .route("/products/export.csv", get().to(products::export_csv))
        .route("/products/{id}", get().to(products::show))
        .route(
            "/products/{id}",
            post().to(record_pages::update::<Products>),
        )
        .route(
            "/products/{id}/edit",
            get().to(record_pages::edit_form::<Products>),
        )
        .route("/products/{id}/adjust", post().to(products::adjust))
        .route("/products/{id}/remove", post().to(products::remove))
        .route("/products/{id}/unarchive", post().to(products::unarchive))
        .route("/customers", get().to(record_pages::list::<Customers>))
        .route("/customers", post().to(record_pages::create::<Customers>))
        .route(
            "/customers/new",
            get().to(record_pages::new_form::<Customers>),
        )
        .route("/customers/export.csv", get().to(customers::export_csv))
        .route("/customers/{id}", get().to(customers::show))
        .route(
            "/customers/{id}",
            post().to(record_pages::update::<Customers>),
        )
        .route(
            "/customers/{id}/edit",
            get().to(record_pages::edit_form::<Customers>),
        )
        .route("/sales", get().to(sales::list))
        .route("/sales", post().to(sales::create))
        .route("/sales/new", get().to(sales::new_form))
        .route("/sales/export.csv", get().to(sales::export_csv))
        .route("/sales/{id}", get().to(sales::show))
        .route("/sales/{id}/void", post().to(sales::void))
        .route("/users", get().to(users::list))
        .route("/users", post().to(users::create))
        .route("/users/new", get().to(users::new_form))
        .route("/users/{id}", get().to(users::edit_form))
        .route("/users/{id}", post().to(users::update))
        .route("/users/{id}/password", post().to(users::reset_password));
}
