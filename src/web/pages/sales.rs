//! `/sales`: new sale with several lines, list by date with totals, detail, void, CSV.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{Duration, Local, NaiveDate};
use serde::Deserialize;

use super::products::{PER_PAGE, csv_response};
use crate::auth::Role;
use crate::business::money::format_cents;
use crate::business::products::{self, Product};
use crate::business::sales::{self, LineText, NewSale, SaleDetail, SaleForm, SaleSummary};
use crate::business::{
    BusinessError, FieldErrors, Page, customers, export, local_midnight_utc, split_refusal,
};
use crate::web::layout::{Layout, Pager};
use crate::web::session::{CurrentUser, UserSession};
use crate::web::{AppError, AppState, render, render_form, run_db, see_other};

/// Empty lines shown on a new sale form (JavaScript can add more).
const BLANK_LINES: usize = 5;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/sales", web::get().to(list))
        .route("/sales", web::post().to(create))
        .route("/sales/new", web::get().to(new_form))
        .route("/sales/export.csv", web::get().to(export_csv))
        .route("/sales/{id}", web::get().to(show))
        .route("/sales/{id}/void", web::post().to(void));
}

#[derive(Deserialize)]
pub struct ListQuery {
    from: Option<String>,
    to: Option<String>,
    page: Option<i64>,
}

#[derive(Template)]
#[template(path = "sales/list.html")]
struct ListPage {
    layout: Layout,
    from: String,
    to: String,
    page: Page<SaleSummary>,
    pager: Pager,
    total: String,
    error: String,
    user: CurrentUser,
}

fn parse_date(text: Option<&str>, default: NaiveDate) -> Result<NaiveDate, String> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(default),
        Some(t) => NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map_err(|_| format!("{t:?} is not a date like 2025-09-22.")),
    }
}

async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let today = Local::now().date_naive();
    let mut error = String::new();
    let from = parse_date(query.from.as_deref(), today - Duration::days(30)).unwrap_or_else(|e| {
        error = e;
        today - Duration::days(30)
    });
    let to = parse_date(query.to.as_deref(), today).unwrap_or_else(|e| {
        error = e;
        today
    });
    let (from_text, to_text) = (
        local_midnight_utc(from),
        local_midnight_utc(to.succ_opt().unwrap_or(to)),
    );
    let page_no = query.page.unwrap_or(1).max(1);
    let (page, sum) = run_db(&state, move |c| {
        sales::list(c, &from_text, &to_text, page_no, PER_PAGE)
    })
    .await?;
    let (from, to) = (
        from.format("%Y-%m-%d").to_string(),
        to.format("%Y-%m-%d").to_string(),
    );
    let pager = Pager::new(&page, "/sales", &[("from", &from), ("to", &to)]);
    render(&ListPage {
        layout: Layout::new(&req, &state, "Sales", "sales").await,
        from,
        to,
        page,
        pager,
        total: format_cents(sum),
        error,
        user,
    })
}

#[derive(Template)]
#[template(path = "sales/new.html")]
struct NewPage {
    layout: Layout,
    products: Vec<Product>,
    customers: Vec<(i64, String)>,
    customer_id: String,
    lines: Vec<LineText>,
    error: String,
}

/// Shows the sale form (again, with `errors`, when it was refused).
async fn new_page(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    form: SaleForm,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let (products, customers) = run_db(state, |c| {
        Ok::<_, BusinessError>((products::sellable(c)?, customers::all_names(c)?))
    })
    .await?;
    let mut lines = form.lines;
    while lines.len() < BLANK_LINES {
        lines.push(LineText::default());
    }
    let failed = !errors.is_empty();
    render_form(
        &NewPage {
            layout: Layout::new(req, state, "New sale", "sales").await,
            products,
            customers,
            customer_id: form.customer_id,
            lines,
            error: errors.joined(),
        },
        failed,
    )
}

impl NewPage {
    fn money(&self, cents: &i64) -> String {
        format_cents(*cents).replace(',', "")
    }
}

#[derive(Deserialize)]
pub struct NewQuery {
    customer: Option<i64>,
}

async fn new_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    _user: CurrentUser,
    query: web::Query<NewQuery>,
) -> Result<HttpResponse, AppError> {
    let form = SaleForm {
        customer_id: query.customer.map(|c| c.to_string()).unwrap_or_default(),
        lines: Vec::new(),
    };
    new_page(&req, &state, form, FieldErrors::default()).await
}

async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: UserSession,
    user: CurrentUser,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let form = SaleForm::from_pairs(&form);
    let sale = match NewSale::parse(&form) {
        Ok(sale) => sale,
        Err(errors) => return new_page(&req, &state, form, errors).await,
    };
    let user_id = user.id;
    let saved = run_db(&state, move |c| {
        split_refusal(sales::create(c, &sale, user_id), "lines")
    })
    .await?;
    match saved {
        Ok(id) => {
            session.flash_ok(format!("Sale #{id} saved."));
            Ok(see_other(&format!("/sales/{id}")))
        }
        Err(errors) => new_page(&req, &state, form, errors).await,
    }
}

#[derive(Template)]
#[template(path = "sales/show.html")]
struct ShowPage {
    layout: Layout,
    s: SaleDetail,
    user: CurrentUser,
}

async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let s = run_db(&state, move |c| sales::get(c, id)).await?;
    render(&ShowPage {
        layout: Layout::new(&req, &state, &format!("Sale #{id}"), "sales").await,
        s,
        user,
    })
}

async fn void(
    state: web::Data<AppState>,
    session: UserSession,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    user.require(Role::Admin)?;
    let id = id.into_inner();
    let user_id = user.id;
    match run_db(&state, move |c| match sales::void(c, id, user_id) {
        Err(BusinessError::AlreadyVoided) => Ok(false),
        other => other.map(|()| true),
    })
    .await?
    {
        true => session.flash_ok(format!("Sale #{id} voided; its stock was put back.")),
        false => session.flash_error("This sale was already voided."),
    }
    Ok(see_other(&format!("/sales/{id}")))
}

async fn export_csv(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    user.require(Role::Admin)?;
    let bytes = run_db(&state, |c| export::sales_csv(c)).await?;
    Ok(csv_response("sales", bytes))
}
