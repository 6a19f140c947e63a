//! Suggestions for the sale form's search fields, as the clerk types:
//! `GET /api/products/search?q=` and `GET /api/customers/search?q=`.
//!
//! Why an endpoint rather than the whole list in the page: a shop has hundreds or thousands
//! of products and customers, and the old form repeated every product in every line (300
//! products × 5 lines = 1,500 options to send and render on a tablet). Asking the server for
//! the best 20 keeps the page small and fast however big the shop is, and the search is the
//! very same one the form uses without JavaScript (`business::search`), so both find the
//! same things. The server is on the same computer or shop network, so it answers in a few
//! milliseconds.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::error::ApiError;
use super::session::CurrentUser;
use super::{AppState, run_db};
use rusqlite::Connection;

use crate::business::customers::Customer;
use crate::business::products::Product;
use crate::business::{BusinessError, search};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/products/search", web::get().to(products))
        .route("/api/customers/search", web::get().to(customers));
}

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

impl SearchQuery {
    /// What to search for, cut to a sane length.
    fn text(&self) -> String {
        self.q.chars().take(200).collect()
    }
}

/// Finds up to [`search::SUGGESTIONS`] matches with `find` and answers
/// `{"<key>": [...], "limit": N}`, each match as `item` shows it.
async fn suggestions<T: Send + 'static>(
    state: &web::Data<AppState>,
    query: &SearchQuery,
    key: &str,
    find: fn(&Connection, &str, usize) -> Result<Vec<T>, BusinessError>,
    item: fn(&T) -> serde_json::Value,
) -> Result<HttpResponse, ApiError> {
    let q = query.text();
    let found = run_db(state, move |c| find(c, &q, search::SUGGESTIONS)).await?;
    let items: Vec<serde_json::Value> = found.iter().map(item).collect();
    let mut body = serde_json::Map::new();
    body.insert(key.to_string(), items.into());
    body.insert("limit".into(), search::SUGGESTIONS.into());
    Ok(HttpResponse::Ok().json(body))
}

async fn products(
    state: web::Data<AppState>,
    _user: CurrentUser,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, ApiError> {
    suggestions(
        &state,
        &query,
        "products",
        search::products,
        |p: &Product| {
            serde_json::json!({
                "id": p.id,
                "sku": p.sku,
                "name": p.name,
                "price_cents": p.price_cents,
                "price": p.price(),
                "stock": p.stock,
                "detail": p.detail(),
            })
        },
    )
    .await
}

async fn customers(
    state: web::Data<AppState>,
    _user: CurrentUser,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, ApiError> {
    suggestions(
        &state,
        &query,
        "customers",
        search::customers,
        |c: &Customer| {
            serde_json::json!({
                "id": c.id,
                "name": c.name,
                "phone": c.phone,
                "email": c.email,
                "detail": c.detail(),
            })
        },
    )
    .await
}
