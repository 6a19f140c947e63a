//! Suggestions: the products and customers a search field offers for what a clerk types
//! (the sale form's suggestions and its search without JavaScript), best matches first. What
//! matches is `filter.rs`'s rule, the same as the lists'.

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};

use super::customers::{self, Customer};
use super::filter::{customer_filter, product_filter, terms};
use super::products::{self, Product};
use super::{BusinessError, like_pattern};

/// How many matches a search field offers (type more to narrow it down).
pub const SUGGESTIONS: usize = 20;

/// Products that can be sold matching `query`, best first: the exact SKU, then SKUs and
/// names starting with the first word, then names with a word starting with it, then by
/// name. An empty query lists the first ones by
/// name.
pub fn products(
    conn: &Connection,
    query: &str,
    limit: usize,
) -> Result<Vec<Product>, BusinessError> {
    let filter = product_filter(query);
    let first = terms(query).into_iter().next().unwrap_or_default();
    let starts = like_pattern(&first)
        .strip_prefix('%')
        .unwrap_or_default()
        .to_string();
    let word_starts = format!("% {starts}");
    let mut params = filter.params;
    params.extend([
        Value::Text(query.trim().to_string()),
        Value::Text(starts.clone()),
        Value::Text(starts),
        Value::Text(word_starts),
        Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)),
    ]);
    let sql = format!(
        "SELECT {} FROM products WHERE archived = 0 AND {}
         ORDER BY sku = ? COLLATE NOCASE DESC, sku LIKE ? ESCAPE '\\' DESC,
                  name LIKE ? ESCAPE '\\' DESC, name LIKE ? ESCAPE '\\' DESC,
                  name COLLATE NOCASE, id
         LIMIT ?",
        products::COLUMNS,
        filter.clause
    );
    super::all(conn, &sql, params_from_iter(params))
}

/// Customers matching `query` (see [`super::filter::customer_filter`]), by name.
pub fn customers(
    conn: &Connection,
    query: &str,
    limit: usize,
) -> Result<Vec<Customer>, BusinessError> {
    let filter = customer_filter(query);
    let mut params = filter.params;
    params.push(Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
    let sql = format!(
        "SELECT {} FROM customers WHERE {} ORDER BY name COLLATE NOCASE, id LIMIT ?",
        customers::COLUMNS,
        filter.clause
    );
    super::all(conn, &sql, params_from_iter(params))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::business::test_shop;

    fn shop() -> (tempfile::TempDir, Connection) {
        let (dir, mut conn) = test_shop::empty();
        for (sku, name) in [
            ("TT-01", "Tea Towel"),
            ("TB-02", "Travel Backpack"),
            ("GT-03", "Green Tea 250g"),
            ("MUG-1", "Mug"),
        ] {
            test_shop::product(&mut conn, (sku, name, 450, 3));
        }
        for customer in [
            ("Anna Schmidt", "+49 30 1234567", ""),
            ("Anna Schmidt", "", "anna.s@example.com"),
            ("Ben Okafor", "0171-555 0199", ""),
        ] {
            test_shop::customer(&conn, customer);
        }
        (dir, conn)
    }

    fn product_names(conn: &Connection, query: &str) -> Vec<String> {
        products(conn, query, SUGGESTIONS)
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect()
    }

    #[test]
    fn any_word_of_the_name_and_the_sku_find_a_product() {
        let (_d, conn) = shop();
        assert_eq!(product_names(&conn, "towel"), ["Tea Towel"]);
        assert_eq!(product_names(&conn, "towel TEA"), ["Tea Towel"]);
        assert_eq!(product_names(&conn, "gt-03"), ["Green Tea 250g"]);
        // Names starting with the word come before names that only contain it.
        assert_eq!(product_names(&conn, "tea"), ["Tea Towel", "Green Tea 250g"]);
        // The exact SKU comes first.
        assert_eq!(product_names(&conn, "MUG-1")[0], "Mug");
        assert!(product_names(&conn, "50%").is_empty(), "% is a character");
        assert_eq!(product_names(&conn, "").len(), 4);
    }

    #[test]
    fn archived_products_are_not_offered() {
        let (_d, conn) = shop();
        let id = products(&conn, "towel", 1).unwrap()[0].id;
        products::set_archived(&conn, id, true).unwrap();
        assert!(product_names(&conn, "towel").is_empty());
    }

    fn customer_count(conn: &Connection, query: &str) -> usize {
        customers(conn, query, SUGGESTIONS).unwrap().len()
    }

    #[test]
    fn phone_search_ignores_spaces_dashes_leading_zero_and_country_code() {
        let (_d, conn) = shop();
        for query in [
            "030 1234567",
            "030-123 45 67",
            "+49 30 1234567",
            "0049301234567",
            "1234567",
        ] {
            let found = customers(&conn, query, SUGGESTIONS).unwrap();
            assert_eq!(found.len(), 1, "{query}");
            assert_eq!(found[0].phone, "+49 30 1234567", "{query}");
        }
        // Stored without the country code, typed with it.
        assert_eq!(customer_count(&conn, "+49 171 5550199"), 1);
        assert_eq!(customer_count(&conn, "01715550199"), 1);
        assert_eq!(
            customer_count(&conn, "99"),
            1,
            "two digits: plain text search"
        );
        assert_eq!(customer_count(&conn, "anna"), 2);
        assert_eq!(
            customer_count(&conn, "schmidt example"),
            1,
            "words in any field"
        );
    }
}
