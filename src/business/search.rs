//! Finding products and customers from what a clerk types: every word typed must appear
//! somewhere in the name or SKU (products) or the name, phone or e-mail (customers), in any
//! order, and a phone number matches however it was written (spaces, dashes, a leading 0 or
//! a country code). The sale form's suggestions, its search without JavaScript and the lists
//! all search the same way.

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};

use super::customers::{self, Customer};
use super::products::{self, Product};
use super::{BusinessError, like_pattern};

/// How many matches a search field offers (type more to narrow it down).
pub const SUGGESTIONS: usize = 20;
/// Words beyond this many are ignored (a pasted paragraph is not a search).
const MAX_TERMS: usize = 6;
/// A search word is at most this long.
const MAX_TERM_CHARS: usize = 100;

/// A WHERE clause with its parameters, in the order of its `?` placeholders.
#[derive(Debug, Clone)]
pub struct Filter {
    pub clause: String,
    pub params: Vec<Value>,
}

impl Filter {
    fn everything() -> Filter {
        Filter {
            clause: "1".into(),
            params: Vec::new(),
        }
    }
}

/// The words of a search.
fn terms(query: &str) -> Vec<String> {
    query
        .split_whitespace()
        .take(MAX_TERMS)
        .map(|t| t.chars().take(MAX_TERM_CHARS).collect())
        .collect()
}

/// Every word somewhere in one of `columns` (`LIKE`, so ASCII letters ignore case).
fn every_term(words: &[String], columns: &[&str]) -> Filter {
    if words.is_empty() {
        return Filter::everything();
    }
    let mut params = Vec::new();
    let parts: Vec<String> = words
        .iter()
        .map(|word| {
            let pattern = like_pattern(word);
            let any_column: Vec<String> = columns
                .iter()
                .map(|column| {
                    params.push(Value::Text(pattern.clone()));
                    format!("{column} LIKE ? ESCAPE '\\'")
                })
                .collect();
            format!("({})", any_column.join(" OR "))
        })
        .collect();
    Filter {
        clause: format!("({})", parts.join(" AND ")),
        params,
    }
}

/// Products whose name or SKU has every word of `query`.
pub fn product_filter(query: &str) -> Filter {
    every_term(&terms(query), &["name", "sku"])
}

/// Text that looks like a phone number: digits and the separators people write.
fn looks_like_phone(query: &str) -> bool {
    query
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '.' | '/'))
}

/// Customers with every word of `query` in their name, phone or e-mail, or, for a query that
/// is a phone number (at least three digits), whose number holds those digits: `0171 234`
/// finds `+49 171 2345678`, and `+49 171 2345678` finds `0171-2345678` (the stored number
/// is the end of the one typed).
pub fn customer_filter(query: &str) -> Filter {
    let query = query.trim();
    let words = every_term(&terms(query), &["name", "phone", "email"]);
    let digits = crate::text::phone_digits(query);
    if query.is_empty() || !looks_like_phone(query) || digits.len() < 3 {
        return words;
    }
    let mut params = words.params;
    params.push(Value::Text(format!("%{digits}%")));
    params.push(Value::Text(digits));
    Filter {
        clause: format!(
            "({} OR phone_digits LIKE ? OR (length(phone_digits) >= 6 AND ? LIKE '%' || phone_digits))",
            words.clause
        ),
        params,
    }
}

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

/// Customers matching `query` (see [`customer_filter`]), by name.
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
