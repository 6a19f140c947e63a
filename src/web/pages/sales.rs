//! `/sales`: new sale with several lines, list by date with totals, detail, void, CSV.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{Duration, Local, NaiveDate};
use serde::Deserialize;

use super::products::{PER_PAGE, csv_response};
use crate::business::money::format_cents;
use crate::business::products::Product;
use crate::business::sale_choices::{self, LineChoice, SaleChoices};
use crate::business::sale_form::LineField;
use crate::business::sales::{self, NewSale, SaleDetail, SaleForm, SaleSummary};
use crate::business::search;
use crate::business::{
    BusinessError, FieldErrors, Page, export, local_midnight_utc, split_refusal,
};
use crate::web::http::assets;
use crate::web::http::ctx::Ctx;
use crate::web::http::layout::Layout;
use crate::web::http::paging::Pager;
use crate::web::http::session::{CurrentUser, UserSession};
use crate::web::http::state::AppState;
use crate::web::http::{AppError, render, render_form, run_db, see_other};

/// Lines shown on a new sale form (JavaScript can add more).
const BLANK_LINES: usize = 5;

/// What the sales list is asked for: a date range and a page.
#[derive(Deserialize)]
pub struct SalesQuery {
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

pub async fn list(
    Ctx { req, state, user }: Ctx,
    query: web::Query<SalesQuery>,
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
    shown: SaleChoices,
    error: String,
    customer_error: String,
    sale_js: Vec<String>,
}

impl NewPage {
    fn money(&self, cents: &i64) -> String {
        format_cents(*cents)
    }

    fn total(&self) -> String {
        self.shown
            .total_cents
            .map_or_else(|| "–".to_string(), format_cents)
    }

    fn is_chosen_customer(&self, id: &i64) -> bool {
        self.shown
            .customer
            .chosen
            .as_ref()
            .is_some_and(|c| c.id == *id)
    }

    fn is_chosen_product(&self, line: &LineChoice, id: &i64) -> bool {
        line.chosen.as_ref().is_some_and(|p| p.id == *id)
    }

    /// What the customer search found, or who is chosen.
    fn customer_note(&self) -> String {
        let c = &self.shown.customer;
        let detail = c.chosen.as_ref().map(|c| c.detail().to_string());
        found_note(detail, c.searched, c.matches.len(), &c.query, "customer")
    }

    /// What the line's search found, or the chosen product's SKU, price and stock.
    fn line_note(&self, line: &LineChoice) -> String {
        let detail = line.chosen.as_ref().map(Product::detail);
        let query = &line.text.product_q;
        found_note(detail, line.searched, line.matches.len(), query, "product")
    }

    /// The first, empty choice of a line's product list.
    fn product_placeholder(&self, line: &LineChoice) -> String {
        match (line.chosen.is_some(), line.matches.len()) {
            (true, _) => "— no product —".into(),
            (false, 0) => "— type a name or SKU, then Find —".into(),
            (false, n) => format!("— choose one of {n} —"),
        }
    }

    /// The problem of `line` is about `field` ("product", "quantity" or "price").
    fn invalid(&self, line: &LineChoice, field: &str) -> bool {
        line.problem.as_ref().is_some_and(|p| {
            field
                == match p.field {
                    LineField::Product => "product",
                    LineField::Quantity => "quantity",
                    LineField::Price => "price",
                }
        })
    }
}

/// Shows the sale form (again, with `errors`, when it was refused; with search matches after
/// Find).
async fn new_page(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    form: SaleForm,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let failed = !errors.is_empty();
    let shown = run_db(state, move |c| {
        sale_choices::choices(c, &form, BLANK_LINES, failed)
    })
    .await?;
    render_form(
        &NewPage {
            layout: Layout::new(req, state, "New sale", "sales").await,
            shown,
            error: errors.get("lines").to_string(),
            customer_error: errors.get("customer_id").to_string(),
            sale_js: ["money.js", "combobox.js", "sale.js"]
                .into_iter()
                .map(assets::url)
                .collect(),
        },
        failed,
    )
}

/// The note under a search field: what is chosen (`detail`), or how many `what`s the
/// search for `query` found.
fn found_note(
    detail: Option<String>,
    searched: bool,
    matches: usize,
    query: &str,
    what: &str,
) -> String {
    match (detail, searched, matches) {
        (Some(detail), false, _) | (Some(detail), true, 1) => detail,
        (_, false, _) => String::new(),
        (_, true, 0) => format!(
            "No {what} matches “{}”: try part of a word{}.",
            query.trim(),
            if what == "product" { " or the SKU" } else { "" }
        ),
        (_, true, n) if n >= search::SUGGESTIONS => {
            format!("The first {n} matches: type more to narrow them down.")
        }
        (_, true, n) => format!("{n} {what}s match: choose one from the list."),
    }
}

#[derive(Deserialize)]
pub struct NewQuery {
    customer: Option<i64>,
}

pub async fn new_form(
    Ctx { req, state, .. }: Ctx,
    query: web::Query<NewQuery>,
) -> Result<HttpResponse, AppError> {
    let form = SaleForm {
        customer_id: query.customer.map(|c| c.to_string()).unwrap_or_default(),
        ..SaleForm::default()
    };
    new_page(&req, &state, form, FieldErrors::default()).await
}

/// Saves the sale, or (a Find button, or Enter without JavaScript) shows the form again with
/// what the search fields found: never a half-filled sale saved by a stray Enter.
pub async fn create(
    Ctx { req, state, user }: Ctx,
    session: UserSession,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let form = SaleForm::from_pairs(&form);
    if form.find {
        return new_page(&req, &state, form, FieldErrors::default()).await;
    }
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
            // The next customer is waiting: one tap to the next sale.
            session.flash_ok_with_link(
                format!("Sale #{id} saved."),
                "/sales/new".into(),
                "Next sale",
            );
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

pub async fn show(
    Ctx { req, state, user }: Ctx,
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

pub async fn void(
    Ctx { state, user, .. }: Ctx,
    session: UserSession,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    user.admin()?;
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

pub async fn export_csv(Ctx { state, user, .. }: Ctx) -> Result<HttpResponse, AppError> {
    user.admin()?;
    let bytes = run_db(&state, |c| export::sales_csv(c)).await?;
    Ok(csv_response("sales", bytes))
}
