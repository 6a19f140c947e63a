//! What a clerk's search means as SQL: every word typed must appear somewhere in the given
//! columns, in any order, and a phone number matches however it was written (spaces, dashes,
//! a leading 0 or a country code). The lists (`customers.rs`, `products.rs`) and the
//! suggestions (`search.rs`) filter the same way, so it lives apart from both.

use rusqlite::types::Value;

use super::like_pattern;

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
pub(super) fn terms(query: &str) -> Vec<String> {
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
