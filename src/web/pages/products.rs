//! `/products`: a product's page with stock adjustments, archive, CSV; the list with search and
//! the add and edit pages are [`record_pages`]'.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use rusqlite::Connection;
use serde::Deserialize;

use super::record_pages::{FormView, RecordList, RecordPages};
use crate::business::history::{self, Adjustment, Event};
use crate::business::products::{self, ADJUSTMENT_REASONS, Product, ProductForm, Removal};
use crate::business::{BusinessError, FieldErrors, Page, export, split_invalid};
use crate::web::http::ctx::Ctx;
use crate::web::http::layout::Layout;
use crate::web::http::session::{CurrentUser, UserSession};
use crate::web::http::state::AppState;
use crate::web::http::{AppError, render_form, run_db, see_other};

pub const PER_PAGE: i64 = 25;

/// The list and the add and edit pages ([`record_pages`]).
pub struct Products;

#[derive(Template)]
#[template(path = "products/list.html")]
pub struct ListPage {
    layout: Layout,
    list: RecordList<Product>,
}

#[derive(Template)]
#[template(path = "products/form.html")]
pub struct FormPage {
    layout: Layout,
    view: FormView<ProductForm>,
}

impl RecordPages for Products {
    const ROOT: &'static str = "/products";
    const NOUN: &'static str = "product";
    type Record = Product;
    type Form = ProductForm;
    type ListPage = ListPage;
    type FormPage = FormPage;

    fn find(
        conn: &mut Connection,
        search: &str,
        archived: bool,
        page: i64,
    ) -> Result<Page<Product>, BusinessError> {
        products::list(conn, search, archived, page, PER_PAGE)
    }

    fn load(conn: &mut Connection, id: i64) -> Result<ProductForm, BusinessError> {
        products::form(conn, id)
    }

    fn save(
        conn: &mut Connection,
        id: Option<i64>,
        form: &ProductForm,
        user_id: i64,
    ) -> Result<i64, BusinessError> {
        products::save(conn, id, form, user_id)
    }

    fn list_page(layout: Layout, list: RecordList<Product>) -> ListPage {
        ListPage { layout, list }
    }

    fn form_page(layout: Layout, view: FormView<ProductForm>) -> FormPage {
        FormPage { layout, view }
    }
}

#[derive(Template)]
#[template(path = "products/show.html")]
struct ShowPage {
    layout: Layout,
    p: Product,
    has_sales: bool,
    adjustments: Vec<Adjustment>,
    events: Vec<Event>,
    reasons: [&'static str; 4],
    errors: FieldErrors,
    user: CurrentUser,
}

async fn show_page(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    user: CurrentUser,
    id: i64,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let (p, has_sales, adjustments, events) = run_db(state, move |c| {
        Ok::<_, BusinessError>((
            products::get(c, id)?,
            products::has_sales(c, id)?,
            history::adjustments(c, id, 50)?,
            history::of_product(c, id, 50)?,
        ))
    })
    .await?;
    let failed = !errors.is_empty();
    render_form(
        &ShowPage {
            layout: Layout::new(req, state, &p.name, "products").await,
            p,
            has_sales,
            adjustments,
            events,
            reasons: ADJUSTMENT_REASONS,
            errors,
            user,
        },
        failed,
    )
}

pub async fn show(
    Ctx { req, state, user }: Ctx,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    show_page(&req, &state, user, id.into_inner(), FieldErrors::default()).await
}

#[derive(Deserialize)]
pub struct AdjustForm {
    delta: String,
    reason: String,
    #[serde(default)]
    note: String,
}

pub async fn adjust(
    Ctx { req, state, user }: Ctx,
    session: UserSession,
    id: web::Path<i64>,
    form: web::Form<AdjustForm>,
) -> Result<HttpResponse, AppError> {
    user.admin()?;
    let id = id.into_inner();
    let form = form.into_inner();
    let Ok(delta) = form.delta.trim().trim_start_matches('+').parse::<i64>() else {
        let mut errors = FieldErrors::default();
        errors.add(
            "delta",
            "Enter a whole number, e.g. 12 to add or -3 to remove.",
        );
        return show_page(&req, &state, user, id, errors).await;
    };
    let user_id = user.id;
    let result = run_db(&state, move |c| {
        split_invalid(
            products::adjust_stock(c, id, delta, &form.reason, &form.note, user_id).map_err(|e| {
                match e {
                    BusinessError::NegativeStock { product, available } => {
                        let mut errors = FieldErrors::default();
                        errors.add(
                            "delta",
                            format!("Stock cannot go below zero ({product} has {available})."),
                        );
                        BusinessError::Invalid(errors)
                    }
                    other => other,
                }
            }),
        )
    })
    .await?;
    match result {
        Ok(p) => {
            session.flash_ok(format!("Stock of {} is now {}.", p.name, p.stock));
            Ok(see_other(&format!("/products/{id}")))
        }
        Err(errors) => show_page(&req, &state, user, id, errors).await,
    }
}

pub async fn remove(
    Ctx { state, .. }: Ctx,
    session: UserSession,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    match run_db(&state, move |c| products::remove(c, id)).await? {
        Removal::Deleted => {
            session.flash_ok("Product deleted.");
            Ok(see_other("/products"))
        }
        Removal::Archived => {
            session.flash_ok("This product has sales, so it was archived instead of deleted: it keeps its history but can no longer be sold.",
            );
            Ok(see_other(&format!("/products/{id}")))
        }
    }
}

pub async fn unarchive(
    Ctx { state, .. }: Ctx,
    session: UserSession,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    run_db(&state, move |c| products::set_archived(c, id, false)).await?;
    session.flash_ok("Product can be sold again.");
    Ok(see_other(&format!("/products/{id}")))
}

/// A CSV download (admin and up). It starts with a UTF-8 byte-order mark: without one,
/// Excel on Windows reads the file as ANSI and garbles accented names.
pub fn csv_response(name: &str, bytes: Vec<u8>) -> HttpResponse {
    let date = chrono::Local::now().format("%Y%m%d");
    let mut body = Vec::with_capacity(bytes.len() + 3);
    body.extend_from_slice(b"\xEF\xBB\xBF");
    body.extend_from_slice(&bytes);
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}_{date}.csv\""),
        ))
        .body(body)
}

pub async fn export_csv(Ctx { state, user, .. }: Ctx) -> Result<HttpResponse, AppError> {
    user.admin()?;
    let bytes = run_db(&state, |c| export::products_csv(c)).await?;
    Ok(csv_response("products", bytes))
}
