//! What the sale form shows when it comes back: the chosen customer and products, and the
//! matches of what was typed into a search field. That is how the form works without
//! JavaScript (type part of a name or SKU, press Find, pick from the matches); with it, the
//! same searches come from `/api/.../search` as you type.

use rusqlite::Connection;

use super::customers::{self, Customer};
use super::money::line_total;
use super::products::{self, Product};
use super::sale_form::{LineProblem, LineText, SaleForm, check_line};
use super::{BusinessError, search};

/// The customer field as shown again.
#[derive(Debug, Clone, Default)]
pub struct CustomerChoice {
    pub query: String,
    pub chosen: Option<Customer>,
    pub matches: Vec<Customer>,
    /// A search ran (so the form says how many matched).
    pub searched: bool,
}

/// One line as shown again.
#[derive(Debug, Clone)]
pub struct LineChoice {
    /// Counted from 1, as the messages count.
    pub number: usize,
    pub text: LineText,
    pub chosen: Option<Product>,
    pub matches: Vec<Product>,
    pub searched: bool,
    /// What is wrong with the line, once the form was sent to be saved.
    pub problem: Option<LineProblem>,
    /// Quantity × price, when the line is complete and valid.
    pub total_cents: Option<i64>,
}

/// Everything the sale form shows again.
#[derive(Debug, Clone)]
pub struct SaleChoices {
    pub customer: CustomerChoice,
    pub lines: Vec<LineChoice>,
    /// The sale's total, when every line that is filled in is complete and valid.
    pub total_cents: Option<i64>,
}

/// Whether to search for what was typed: something was typed, and it is not simply the
/// name of what is already chosen (unless Find asked again).
fn wants_search(query: &str, chosen_name: Option<&str>, find: bool) -> bool {
    !query.is_empty() && (chosen_name.is_none() || (find && chosen_name != Some(query)))
}

fn customer_choice(conn: &Connection, form: &SaleForm) -> Result<CustomerChoice, BusinessError> {
    let mut chosen = match form.customer_id.trim().parse::<i64>() {
        Ok(id) => found(customers::get(conn, id))?,
        Err(_) => None,
    };
    let query = form.customer_q.trim();
    let searched = wants_search(query, chosen.as_ref().map(|c| c.name.as_str()), form.find);
    let matches = if searched {
        search::customers(conn, query, search::SUGGESTIONS)?
    } else {
        Vec::new()
    };
    if form.find && matches.len() == 1 {
        chosen = matches.first().cloned();
    }
    let query = match &chosen {
        Some(c) if query.is_empty() => c.name.clone(),
        _ => form.customer_q.clone(),
    };
    Ok(CustomerChoice {
        query,
        chosen,
        matches,
        searched,
    })
}

/// `Ok(None)` for a record that is gone (the form just offers to choose again).
fn found<T>(result: Result<T, BusinessError>) -> Result<Option<T>, BusinessError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(BusinessError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

fn line_choice(
    conn: &Connection,
    number: usize,
    text: &LineText,
    find: bool,
    checked: bool,
) -> Result<LineChoice, BusinessError> {
    let mut text = text.clone();
    let mut chosen = match text.product_id.trim().parse::<i64>() {
        Ok(id) => found(products::get(conn, id))?,
        Err(_) => None,
    };
    let query = text.product_q.trim().to_string();
    let searched = wants_search(&query, chosen.as_ref().map(|p| p.name.as_str()), find);
    let matches = if searched {
        search::products(conn, &query, search::SUGGESTIONS)?
    } else {
        Vec::new()
    };
    // Find with one match, or the exact SKU, picks it (it is shown before anything is saved).
    if find && searched {
        let exact = matches
            .iter()
            .find(|p| p.sku.eq_ignore_ascii_case(&query))
            .or(if matches.len() == 1 {
                matches.first()
            } else {
                None
            });
        if let Some(product) = exact {
            text.product_id = product.id.to_string();
            chosen = Some(product.clone());
        }
    }
    if let Some(product) = &chosen
        && query.is_empty()
    {
        text.product_q = product.name.clone();
    }
    let checked_line = check_line(number, &text);
    let total_cents = match (&checked_line, &chosen) {
        (Ok(Some(input)), Some(product)) if input.product_id == product.id => line_total(
            input.quantity,
            input.unit_price_cents.unwrap_or(product.price_cents),
        ),
        _ => None,
    };
    Ok(LineChoice {
        number,
        text,
        chosen,
        matches,
        searched,
        problem: checked_line.err().filter(|_| checked),
        total_cents,
    })
}

/// The form as shown again, with at least `min_lines` lines (blank ones added). `checked`:
/// it was sent to be saved and refused, so each line's problem is marked.
pub fn choices(
    conn: &Connection,
    form: &SaleForm,
    min_lines: usize,
    checked: bool,
) -> Result<SaleChoices, BusinessError> {
    let mut texts = form.lines.clone();
    while texts.len() < min_lines {
        texts.push(LineText::blank());
    }
    let lines = texts
        .iter()
        .enumerate()
        .map(|(n, text)| line_choice(conn, n + 1, text, form.find, checked))
        .collect::<Result<Vec<_>, _>>()?;
    let filled: Vec<&LineChoice> = lines
        .iter()
        .filter(|l| !matches!(check_line(l.number, &l.text), Ok(None)))
        .collect();
    let total_cents = if filled.is_empty() {
        None
    } else {
        filled
            .iter()
            .try_fold(0i64, |sum, l| sum.checked_add(l.total_cents?))
    };
    Ok(SaleChoices {
        customer: customer_choice(conn, form)?,
        lines,
        total_cents,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::business::test_shop;

    fn shop() -> (tempfile::TempDir, Connection, i64) {
        let (dir, mut conn) = test_shop::empty();
        test_shop::product(&mut conn, ("TT-01", "Tea Towel", 450, 5));
        let id = test_shop::product(&mut conn, ("TT-02", "Tea Tin", 1299, 5));
        test_shop::customer(&conn, ("Ann", "0171 2345678", ""));
        (dir, conn, id)
    }

    fn form(lines: &[(&str, &str, &str, &str)], find: bool) -> SaleForm {
        SaleForm {
            customer_id: String::new(),
            customer_q: "2345678".into(),
            lines: lines
                .iter()
                .map(|(id, q, quantity, price)| LineText {
                    product_id: id.to_string(),
                    product_q: q.to_string(),
                    quantity: quantity.to_string(),
                    unit_price: price.to_string(),
                })
                .collect(),
            find,
        }
    }

    #[test]
    fn find_shows_matches_and_picks_an_exact_sku() {
        let (_d, conn, _) = shop();
        let shown = choices(
            &conn,
            &form(&[("", "tea", "2", ""), ("", "tt-02", "3", "")], true),
            5,
            false,
        )
        .unwrap();
        assert_eq!(shown.lines.len(), 5, "padded with blank lines");
        assert_eq!(
            shown.lines[2].text.quantity, "1",
            "blank lines offer a real 1"
        );
        let first = &shown.lines[0];
        assert!(first.searched && first.chosen.is_none());
        assert_eq!(first.matches.len(), 2);
        let second = &shown.lines[1];
        assert_eq!(second.chosen.as_ref().unwrap().name, "Tea Tin");
        assert_eq!(second.total_cents, Some(3 * 1299));
        assert_eq!(shown.total_cents, None, "line 1 has no product yet");
        assert_eq!(shown.customer.chosen.as_ref().unwrap().name, "Ann");
    }

    #[test]
    fn a_chosen_product_shows_its_name_and_the_total_counts_it() {
        let (_d, conn, tin) = shop();
        let id = tin.to_string();
        let shown = choices(&conn, &form(&[(&id, "", "", "1,50")], false), 1, true).unwrap();
        let line = &shown.lines[0];
        assert_eq!(line.text.product_q, "Tea Tin");
        assert!(!line.searched && line.problem.is_none());
        assert_eq!(
            shown.total_cents,
            Some(150),
            "empty quantity is 1, price typed"
        );
        let bad = choices(&conn, &form(&[(&id, "", "0", "")], false), 1, true).unwrap();
        assert!(bad.lines[0].problem.is_some());
        assert_eq!(bad.total_cents, None);
    }
}
