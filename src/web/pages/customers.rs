//! `/customers`: list and search, a page with their sales, CSV; add and edit are
//! [`record_form`]'s.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use rusqlite::Connection;

use super::products::{PER_PAGE, csv_response};
use super::record_form::{self, FormView, RecordForm};
use crate::auth::Role;
use crate::business::customers::{self, Customer, CustomerForm};
use crate::business::sales::{self, SaleSummary};
use crate::business::{BusinessError, Page, export};
use crate::web::ctx::Ctx;
use crate::web::layout::{Layout, Pager};
use crate::web::session::CurrentUser;
use crate::web::{AppError, render, run_db};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/customers", web::get().to(list));
    record_form::routes::<Customers>(cfg);
    cfg.route("/customers/export.csv", web::get().to(export_csv))
        .route("/customers/{id}", web::get().to(show));
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    page: Option<i64>,
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
    let query = query.into_inner();
    let q: String = query.q.chars().take(100).collect();
    let search = q.clone();
    let page_no = query.page.unwrap_or(1).max(1);
    let page = run_db(&state, move |c| {
        customers::list(c, &search, page_no, PER_PAGE)
    })
    .await?;
    let pager = Pager::new(&page, "/customers", &[("q", &q)]);
    render(&ListPage {
        layout: Layout::new(&req, &state, "Customers", "customers").await,
        q,
        page,
        pager,
        user,
    })
}

/// The add and edit pages ([`record_form`]).
pub struct Customers;

#[derive(Template)]
#[template(path = "customers/form.html")]
pub struct FormPage {
    layout: Layout,
    view: FormView<CustomerForm>,
}

impl RecordForm for Customers {
    const ROOT: &'static str = "/customers";
    const NOUN: &'static str = "customer";
    type Form = CustomerForm;
    type Page = FormPage;

    fn load(conn: &mut Connection, id: i64) -> Result<CustomerForm, BusinessError> {
        Ok(CustomerForm::from_customer(&customers::get(conn, id)?))
    }

    fn save(
        conn: &mut Connection,
        id: Option<i64>,
        form: &CustomerForm,
        _user_id: i64,
    ) -> Result<i64, BusinessError> {
        customers::save(conn, id, form)
    }

    fn page(layout: Layout, view: FormView<CustomerForm>) -> FormPage {
        FormPage { layout, view }
    }
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
    user.require(Role::Admin)?;
    let bytes = run_db(&state, |c| export::customers_csv(c)).await?;
    Ok(csv_response("customers", bytes))
}
