//! `/customers`: a customer's page with their sales, and CSV; the list and the add and edit
//! pages are [`record_pages`]'.

use actix_web::{HttpResponse, web};
use askama::Template;
use rusqlite::Connection;

use super::products::{PER_PAGE, csv_response};
use super::record_pages::{FormView, RecordList, RecordPages};
use crate::business::customers::{self, Customer, CustomerForm};
use crate::business::sales::{self, SaleSummary};
use crate::business::{BusinessError, Page, export};
use crate::web::http::ctx::Ctx;
use crate::web::http::layout::Layout;
use crate::web::http::{AppError, render, run_db};

/// The list and the add and edit pages ([`record_pages`]).
pub struct Customers;

#[derive(Template)]
#[template(path = "customers/list.html")]
pub struct ListPage {
    layout: Layout,
    list: RecordList<Customer>,
}

#[derive(Template)]
#[template(path = "customers/form.html")]
pub struct FormPage {
    layout: Layout,
    view: FormView<CustomerForm>,
}

impl RecordPages for Customers {
    const ROOT: &'static str = "/customers";
    const NOUN: &'static str = "customer";
    type Record = Customer;
    type Form = CustomerForm;
    type ListPage = ListPage;
    type FormPage = FormPage;

    /// Customers cannot be archived: `archived` is never asked for.
    fn find(
        conn: &mut Connection,
        search: &str,
        _archived: bool,
        page: i64,
    ) -> Result<Page<Customer>, BusinessError> {
        customers::list(conn, search, page, PER_PAGE)
    }

    fn load(conn: &mut Connection, id: i64) -> Result<CustomerForm, BusinessError> {
        customers::form(conn, id)
    }

    /// Customers keep no history of who changed them.
    fn save(
        conn: &mut Connection,
        id: Option<i64>,
        form: &CustomerForm,
        _user_id: i64,
    ) -> Result<i64, BusinessError> {
        customers::save(conn, id, form)
    }

    fn list_page(layout: Layout, list: RecordList<Customer>) -> ListPage {
        ListPage { layout, list }
    }

    fn form_page(layout: Layout, view: FormView<CustomerForm>) -> FormPage {
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

pub async fn show(
    Ctx { req, state, .. }: Ctx,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
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

pub async fn export_csv(Ctx { state, user, .. }: Ctx) -> Result<HttpResponse, AppError> {
    user.admin()?;
    let bytes = run_db(&state, |c| export::customers_csv(c)).await?;
    Ok(csv_response("customers", bytes))
}
