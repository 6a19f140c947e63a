//! The shop itself: products and stock, customers, sales, the dashboard figures, CSV export
//! and demo data. Plain functions over a connection; money is integer cents everywhere.

pub mod customers;
pub mod dashboard;
pub mod demo;
pub mod export;
pub mod filter;
pub mod history;
pub mod money;
pub mod products;
pub mod sale_choices;
pub mod sale_form;
pub mod sales;
pub mod search;
#[cfg(test)]
mod test_shop;

use crate::db::DbError;

pub use crate::fields::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum BusinessError {
    #[error("Please correct the highlighted fields.")]
    Invalid(FieldErrors),
    #[error("Not enough stock of {product}: {available} left, {wanted} wanted. Nothing was saved.")]
    InsufficientStock {
        product: String,
        available: i64,
        wanted: i64,
    },
    #[error("{0} is archived and cannot be sold.")]
    Archived(String),
    #[error("A sale needs at least one line with a product and a quantity.")]
    EmptySale,
    #[error("This sale was already voided.")]
    AlreadyVoided,
    #[error("Stock cannot go below zero ({product} has {available}).")]
    NegativeStock { product: String, available: i64 },
    #[error("The amount is too large.")]
    Overflow,
    #[error("Not found.")]
    NotFound,
    #[error("cannot write the CSV file: {0}")]
    Export(#[source] csv::Error),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("a stored row does not fit the program: {0}")]
    Row(#[source] serde_rusqlite::Error),
}

impl From<serde_rusqlite::Error> for BusinessError {
    /// SQLite's own errors while rows are read stay database errors.
    fn from(e: serde_rusqlite::Error) -> Self {
        match e {
            serde_rusqlite::Error::Rusqlite(e) => e.into(),
            other => BusinessError::Row(other),
        }
    }
}

impl From<rusqlite::Error> for BusinessError {
    fn from(e: rusqlite::Error) -> Self {
        BusinessError::Db(DbError::from(e))
    }
}

/// Separates "the person must fix a field" from real failures, for handlers that re-show the
/// form with the messages next to the fields.
pub fn split_invalid<T>(
    result: Result<T, BusinessError>,
) -> Result<Result<T, FieldErrors>, BusinessError> {
    match result {
        Ok(v) => Ok(Ok(v)),
        Err(BusinessError::Invalid(errors)) => Ok(Err(errors)),
        Err(e) => Err(e),
    }
}

impl BusinessError {
    /// True for answers meant for the person at the form (a rule of the shop refused the
    /// input), as opposed to failures of the program.
    pub fn is_refusal(&self) -> bool {
        !matches!(
            self,
            BusinessError::Db(_) | BusinessError::Export(_) | BusinessError::Row(_)
        )
    }
}

/// Like [`split_invalid`], with every refusal (not enough stock, archived product, a record
/// that vanished) as a message under `field`.
pub fn split_refusal<T>(
    result: Result<T, BusinessError>,
    field: &'static str,
) -> Result<Result<T, FieldErrors>, BusinessError> {
    match result {
        Ok(v) => Ok(Ok(v)),
        Err(BusinessError::Invalid(errors)) => Ok(Err(errors)),
        Err(e) if e.is_refusal() => Ok(Err(FieldErrors::one(field, crate::error_chain::chain(&e)))),
        Err(e) => Err(e),
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ`, the one timestamp format stored (sorts as text).
pub fn now_text() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Escapes `%`, `_` and `\` so a search term is matched as text in `LIKE ... ESCAPE '\'`.
pub fn like_pattern(term: &str) -> String {
    let mut out = String::from("%");
    for ch in term.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

/// The highest page number accepted (larger ones show the last rows there could be).
pub const MAX_PAGE: i64 = 1_000_000;

/// A page of results.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

impl<T> Page<T> {
    pub fn pages(&self) -> i64 {
        ((self.total + self.per_page - 1) / self.per_page).max(1)
    }

    pub fn has_prev(&self) -> bool {
        self.page > 1
    }

    pub fn has_next(&self) -> bool {
        self.page < self.pages()
    }
}

/// Local date → the UTC timestamp text of its midnight, for range queries.
pub fn local_midnight_utc(date: chrono::NaiveDate) -> String {
    use chrono::TimeZone;
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    let utc = chrono::Local
        .from_local_datetime(&midnight)
        .earliest()
        .map(|d| d.with_timezone(&chrono::Utc))
        .unwrap_or_else(|| chrono::Utc.from_utc_datetime(&midnight));
    utc.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Every row of `sql`, each read into `T` by column name (`SELECT … AS field`).
pub(crate) fn all<T: serde::de::DeserializeOwned>(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<T>, BusinessError> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt
        .query_and_then(params, serde_rusqlite::from_row::<T>)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The first row of `sql` read into `T` by column name; [`BusinessError::NotFound`] when
/// there is none.
pub(crate) fn one<T: serde::de::DeserializeOwned>(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<T, BusinessError> {
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query(params)?;
    match rows.next()? {
        Some(row) => Ok(serde_rusqlite::from_row(row)?),
        None => Err(BusinessError::NotFound),
    }
}

/// Page `page` (from 1, clamped) of `SELECT {columns} {from_where} ORDER BY {order}`, with
/// the count of every matching row; `params` are the filter's.
pub(crate) fn paged<T: serde::de::DeserializeOwned>(
    conn: &rusqlite::Connection,
    columns: &str,
    from_where: &str,
    order: &str,
    mut params: Vec<rusqlite::types::Value>,
    page: i64,
    per_page: i64,
) -> Result<Page<T>, BusinessError> {
    let total: i64 = conn.query_row(
        &format!("SELECT count(*) {from_where}"),
        rusqlite::params_from_iter(&params),
        |r| r.get(0),
    )?;
    let page = page.clamp(1, MAX_PAGE);
    params.extend([per_page.into(), ((page - 1) * per_page).into()]);
    let items = all(
        conn,
        &format!("SELECT {columns} {from_where} ORDER BY {order} LIMIT ? OFFSET ?"),
        rusqlite::params_from_iter(&params),
    )?;
    Ok(Page {
        items,
        page,
        per_page,
        total,
    })
}

/// A stored timestamp read from a row as [`display_time`] shows it.
pub(crate) fn shown_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let stored = <String as serde::Deserialize>::deserialize(d)?;
    Ok(display_time(&stored))
}

/// Stored UTC text → local "2025-09-22 14:30" for display.
pub fn display_time(stored: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(stored)
        .map(|d| crate::timefmt::local(d.with_timezone(&chrono::Utc)))
        .unwrap_or_else(|_| stored.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_pattern_escapes_metacharacters() {
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}
