//! `/sales`: new sale with several lines, list by date with totals, detail, void, CSV.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{Duration, Local, NaiveDate};
use serde::Deserialize;

use super::products::{PER_PAGE, csv_response};
use crate::auth::Role;
use crate::business::money::{format_cents, parse_cents};
use crate::business::products::{self, Product};
use crate::business::sales::{self, LineInput, NewSale, SaleDetail, SaleSummary};
use crate::business::{BusinessError, Page, customers, export, local_midnight_utc};
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

/// One line of the sale form as typed.
#[derive(Debug, Clone, Default)]
pub struct LineText {
    pub product_id: String,
    pub quantity: String,
    pub unit_price: String,
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

impl NewPage {
    fn money(&self, cents: &i64) -> String {
        format_cents(*cents).replace(',', "")
    }
}

async fn new_page(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    customer_id: String,
    mut lines: Vec<LineText>,
    error: String,
) -> Result<HttpResponse, AppError> {
    let (products, customers) = run_db(state, |c| {
        Ok::<_, BusinessError>((products::sellable(c)?, customers::all_names(c)?))
    })
    .await?;
    while lines.len() < BLANK_LINES {
        lines.push(LineText::default());
    }
    let failed = !error.is_empty();
    render_form(
        &NewPage {
            layout: Layout::new(req, state, "New sale", "sales").await,
            products,
            customers,
            customer_id,
            lines,
            error,
        },
        failed,
    )
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
    let customer = query.customer.map(|c| c.to_string()).unwrap_or_default();
    new_page(&req, &state, customer, Vec::new(), String::new()).await
}

/// Reads the repeated `product_id` / `quantity` / `unit_price` fields into lines.
fn parse_sale_form(pairs: &[(String, String)]) -> (String, Vec<LineText>, Result<NewSale, String>) {
    let values = |key: &str| {
        pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
    };
    let customer_id = values("customer_id").into_iter().next().unwrap_or_default();
    let (ids, quantities, prices) = (
        values("product_id"),
        values("quantity"),
        values("unit_price"),
    );
    let count = ids.len().max(quantities.len()).max(prices.len());
    let lines: Vec<LineText> = (0..count)
        .map(|i| LineText {
            product_id: ids.get(i).cloned().unwrap_or_default(),
            quantity: quantities.get(i).cloned().unwrap_or_default(),
            unit_price: prices.get(i).cloned().unwrap_or_default(),
        })
        .collect();
    let parsed = (|| {
        let customer = match customer_id.trim() {
            "" => None,
            t => Some(
                t.parse::<i64>()
                    .map_err(|_| "Choose a customer from the list.".to_string())?,
            ),
        };
        let mut inputs = Vec::new();
        for (n, line) in lines.iter().enumerate() {
            let blank = line.product_id.trim().is_empty()
                && line.quantity.trim().is_empty()
                && line.unit_price.trim().is_empty();
            if blank {
                continue;
            }
            let product_id = line
                .product_id
                .trim()
                .parse::<i64>()
                .map_err(|_| format!("Line {}: choose a product.", n + 1))?;
            let quantity = match line.quantity.trim() {
                "" => 1,
                q => q.parse::<i64>().ok().filter(|q| *q > 0).ok_or_else(|| {
                    format!(
                        "Line {}: the quantity must be a whole number of 1 or more.",
                        n + 1
                    )
                })?,
            };
            let unit_price_cents = match line.unit_price.trim() {
                "" => None,
                p => Some(parse_cents(p).map_err(|e| format!("Line {}: unit price: {e}", n + 1))?),
            };
            inputs.push(LineInput {
                product_id,
                quantity,
                unit_price_cents,
            });
        }
        Ok(NewSale {
            customer_id: customer,
            lines: inputs,
        })
    })();
    (customer_id, lines, parsed)
}

async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: UserSession,
    user: CurrentUser,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (customer_id, lines, parsed) = parse_sale_form(&form);
    let sale = match parsed {
        Ok(s) => s,
        Err(message) => return new_page(&req, &state, customer_id, lines, message).await,
    };
    let user_id = user.id;
    let result = run_db(&state, move |c| match sales::create(c, &sale, user_id) {
        Ok(id) => Ok(Ok(id)),
        Err(BusinessError::Db(e)) => Err(BusinessError::Db(e)),
        Err(BusinessError::Invalid(errors)) => Ok(Err(errors
            .fields()
            .map(|(_, message)| message.as_str())
            .collect::<Vec<_>>()
            .join(" "))),
        Err(other) => Ok(Err(other.to_string())),
    })
    .await?;
    match result {
        Ok(id) => {
            session.flash_ok(format!("Sale #{id} saved."));
            Ok(see_other(&format!("/sales/{id}")))
        }
        Err(message) => new_page(&req, &state, customer_id, lines, message).await,
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
