//! `/customers`: list and search, create/edit with validation, a page with their sales, CSV.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::products::{PER_PAGE, csv_response};
use crate::auth::Role;
use crate::business::customers::{self, Customer, CustomerForm};
use crate::business::sales::{self, SaleSummary};
use crate::business::{BusinessError, FieldErrors, Page, export};
use crate::web::layout::{Layout, Pager};
use crate::web::session::{CurrentUser, UserSession};
use crate::web::{AppError, AppState, render, render_form, run_db, see_other};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/customers", web::get().to(list))
        .route("/customers", web::post().to(create))
        .route("/customers/new", web::get().to(new_form))
        .route("/customers/export.csv", web::get().to(export_csv))
        .route("/customers/{id}", web::get().to(show))
        .route("/customers/{id}", web::post().to(update))
        .route("/customers/{id}/edit", web::get().to(edit_form));
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
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
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

#[derive(Template)]
#[template(path = "customers/form.html")]
struct FormPage {
    layout: Layout,
    action: String,
    form: CustomerForm,
    errors: FieldErrors,
}

async fn form_page(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    id: Option<i64>,
    form: CustomerForm,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let failed = !errors.is_empty();
    render_form(
        &FormPage {
            layout: Layout::new(
                req,
                state,
                if id.is_some() {
                    "Edit customer"
                } else {
                    "New customer"
                },
                "customers",
            )
            .await,
            action: id.map_or_else(|| "/customers".to_string(), |id| format!("/customers/{id}")),
            form,
            errors,
        },
        failed,
    )
}

async fn new_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    _user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    form_page(
        &req,
        &state,
        None,
        CustomerForm::default(),
        FieldErrors::default(),
    )
    .await
}

async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: UserSession,
    _user: CurrentUser,
    form: web::Form<CustomerForm>,
) -> Result<HttpResponse, AppError> {
    save(&req, &state, &session, None, form.into_inner()).await
}

/// Creates (`id` is `None`) or updates a customer; invalid input shows the form again.
async fn save(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    session: &UserSession,
    id: Option<i64>,
    form: CustomerForm,
) -> Result<HttpResponse, AppError> {
    let clean = match customers::validate(&form) {
        Ok(c) => c,
        Err(errors) => return form_page(req, state, id, form, errors).await,
    };
    let id = run_db(state, move |c| match id {
        None => customers::create(c, &clean),
        Some(id) => customers::update(c, id, &clean).map(|()| id),
    })
    .await?;
    session.flash_ok("Customer saved.");
    Ok(see_other(&format!("/customers/{id}")))
}

#[derive(Template)]
#[template(path = "customers/show.html")]
struct ShowPage {
    layout: Layout,
    c: Customer,
    sales: Vec<SaleSummary>,
}

async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    _user: CurrentUser,
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

async fn edit_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    _user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let c = run_db(&state, move |conn| customers::get(conn, id)).await?;
    form_page(
        &req,
        &state,
        Some(id),
        CustomerForm::from_customer(&c),
        FieldErrors::default(),
    )
    .await
}

async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: UserSession,
    _user: CurrentUser,
    id: web::Path<i64>,
    form: web::Form<CustomerForm>,
) -> Result<HttpResponse, AppError> {
    save(
        &req,
        &state,
        &session,
        Some(id.into_inner()),
        form.into_inner(),
    )
    .await
}

async fn export_csv(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    user.require(Role::Admin)?;
    let bytes = run_db(&state, |c| export::customers_csv(c)).await?;
    Ok(csv_response("customers", bytes))
}
