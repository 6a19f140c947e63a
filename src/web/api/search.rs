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

use rusqlite::Connection;

use crate::business::customers::Customer;
use crate::business::products::Product;
use crate::business::{BusinessError, search};
use crate::web::http::state::AppState;
use crate::web::http::{ApiError, AppError, Ctx, run_db};

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

/// A search match as the suggestions send it: the record's own fields less [`HIDDEN`]
/// (what the sale form does not need), plus what the list shows besides the name.
///
/// [`HIDDEN`]: Suggested::HIDDEN
trait Suggested: serde::Serialize + Send + 'static {
    /// Fields of the record left out: a customer's notes are not sent on every keystroke.
    const HIDDEN: &'static [&'static str];
    /// Extra fields: `detail` (the line under the name), and what else the form fills in.
    fn shown(&self) -> Vec<(&'static str, String)>;
}

impl Suggested for Product {
    const HIDDEN: &'static [&'static str] = &["reorder_level", "archived"];
    fn shown(&self) -> Vec<(&'static str, String)> {
        vec![("price", self.price()), ("detail", self.detail())]
    }
}

impl Suggested for Customer {
    const HIDDEN: &'static [&'static str] = &["notes"];
    fn shown(&self) -> Vec<(&'static str, String)> {
        vec![("detail", self.detail().to_string())]
    }
}

/// Finds up to [`search::SUGGESTIONS`] matches with `find` and answers
/// `{"<key>": [...], "limit": N}`.
async fn suggestions<T: Suggested>(
    state: &web::Data<AppState>,
    query: &SearchQuery,
    key: &str,
    find: fn(&Connection, &str, usize) -> Result<Vec<T>, BusinessError>,
) -> Result<HttpResponse, ApiError> {
    let q = query.text();
    let found = run_db(state, move |c| find(c, &q, search::SUGGESTIONS)).await?;
    let items = found
        .iter()
        .map(item)
        .collect::<Result<Vec<_>, _>>()
        .map_err(AppError::internal)?;
    let mut body = serde_json::Map::new();
    body.insert(key.to_string(), items.into());
    body.insert("limit".into(), search::SUGGESTIONS.into());
    Ok(HttpResponse::Ok().json(body))
}

fn item<T: Suggested>(found: &T) -> Result<serde_json::Value, serde_json::Error> {
    let mut value = serde_json::to_value(found)?;
    if let Some(fields) = value.as_object_mut() {
        for hidden in T::HIDDEN {
            fields.remove(*hidden);
        }
        for (name, text) in found.shown() {
            fields.insert(name.into(), text.into());
        }
    }
    Ok(value)
}

pub async fn products(
    Ctx { state, .. }: Ctx,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, ApiError> {
    suggestions(&state, &query, "products", search::products).await
}

pub async fn customers(
    Ctx { state, .. }: Ctx,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, ApiError> {
    suggestions(&state, &query, "customers", search::customers).await
}
