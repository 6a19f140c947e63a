//! `/customers`: a customer's page with their sales, and CSV; the list and the add and edit
//! pages are [`record_pages`]'.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::products::{PER_PAGE, csv_response};
use super::record_pages;
use crate::business::customers::{self, Customer, CustomerForm};
use crate::business::sales::{self, SaleSummary};
use crate::business::{BusinessError, export};
use crate::web::http::ctx::Ctx;
use crate::web::http::layout::Layout;
use crate::web::http::{AppError, render, run_db};

pub fn routes(cfg: &mut web::ServiceConfig) {
    record_pages::routes::<Customers>(cfg);
    cfg.route("/customers/export.csv", web::get().to(export_csv))
        .route("/customers/{id}", web::get().to(show));
}

record_pages::record_pages! {
    Customers at "/customers", one "customer";
    list "customers/list.html" of Customer,
        found by |c, q, _archived, n| customers::list(c, q, n, PER_PAGE);
    form "customers/form.html" of CustomerForm,
        loaded by customers::form,
        saved by |c, id, form, _user| customers::save(c, id, form);
}

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
    user.admin()?;
    let bytes = run_db(&state, |c| export::customers_csv(c)).await?;
    Ok(csv_response("customers", bytes))
}
