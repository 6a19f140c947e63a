//! `/customers`: list and search, a page with their sales, CSV; add and edit are
//! [`record_form`]'s.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::products::{PER_PAGE, csv_response};
use super::record_form;
use crate::auth::Role;
use crate::business::customers::{self, Customer, CustomerForm};
use crate::business::sales::{self, SaleSummary};
use crate::business::{BusinessError, Page, export};
use crate::web::ctx::Ctx;
use crate::web::layout::{Layout, ListQuery, Pager, search_page};
use crate::web::session::CurrentUser;
use crate::web::{AppError, render, run_db};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/customers", web::get().to(list));
    record_form::routes::<Customers>(cfg);
    cfg.route("/customers/export.csv", web::get().to(export_csv))
        .route("/customers/{id}", web::get().to(show));
}

#[derive(Template)]
#[template(path = "customers/list.html")]
struct ListPage {
    layout: Layout,
    q: String,
    page: Page<Customer>,
    pager: Pager,
    user: CurrentUser,
}

async fn list(
    Ctx { req, state, user }: Ctx,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let (q, page, pager) = search_page(&state, &query, "/customers", |c, q, _, n| {
        customers::list(c, q, n, PER_PAGE)
    })
    .await?;
    render(&ListPage {
        layout: Layout::new(&req, &state, "Customers", "customers").await,
        q,
        page,
        pager,
        user,
    })
}

record_form::record_form_page!(
    Customers,
    "customers/form.html",
    "/customers",
    "customer",
    CustomerForm,
    customers::form,
    |c, id, form, _| customers::save(c, id, form)
);

#[derive(Template)]
#[template(path = "customers/show.html")]
struct ShowPage {
    layout: Layout,
    c: Customer,
    sales: Vec<SaleSummary>,
}

async fn show(Ctx { req, state, .. }: Ctx, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let (c, sales) = run_db(&state, move |conn| {
        Ok::<_, BusinessError>((
            customers::get(conn, id)?,
            sales::for_customer(conn, id, 100)?,
        ))
    })
    .await?;
    render(&ShowPage {
        layout: Layout::new(&req, &state, &c.name, "customers").await,
        c,
        sales,
    })
}

async fn export_csv(Ctx { state, user, .. }: Ctx) -> Result<HttpResponse, AppError> {
    user.require(Role::Admin)?;
    let bytes = run_db(&state, |c| export::customers_csv(c)).await?;
    Ok(csv_response("customers", bytes))
}
