//! The sale form as typed and its checks: blank lines skipped, an empty quantity is 1, an
//! empty price is the product's price, each problem named with its line number. What the
//! form shows again (chosen products, search matches) is in `sale_choices.rs`.

use super::FieldErrors;
use super::sales::{LineInput, NewSale};

/// One line of the sale form as typed.
#[derive(Debug, Clone, Default)]
pub struct LineText {
    pub product_id: String,
    /// What was typed into the line's product search.
    pub product_q: String,
    pub quantity: String,
    pub unit_price: String,
}

impl LineText {
    /// An empty line as the form offers it: the quantity is a real 1, not a grey hint.
    pub fn blank() -> LineText {
        LineText {
            quantity: "1".into(),
            ..LineText::default()
        }
    }

    /// Nothing chosen or typed beyond the offered quantity of 1: the line is skipped.
    fn is_blank(&self) -> bool {
        self.product_id.trim().is_empty()
            && self.product_q.trim().is_empty()
            && self.unit_price.trim().is_empty()
            && matches!(self.quantity.trim(), "" | "1")
    }
}

/// The sale form as typed (kept to show it again with the messages).
#[derive(Debug, Clone, Default)]
pub struct SaleForm {
    pub customer_id: String,
    /// What was typed into the customer search.
    pub customer_q: String,
    pub lines: Vec<LineText>,
    /// A Find button (or Enter, without JavaScript) sent the form: search, never save.
    pub find: bool,
}

impl SaleForm {
    /// Reads the repeated `product_id` / `product_q` / `quantity` / `unit_price` fields into
    /// lines.
    pub fn from_pairs(pairs: &[(String, String)]) -> SaleForm {
        let values = |key: &str| {
            pairs
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .collect::<Vec<_>>()
        };
        let (ids, queries, quantities, prices) = (
            values("product_id"),
            values("product_q"),
            values("quantity"),
            values("unit_price"),
        );
        let count = ids
            .len()
            .max(queries.len())
            .max(quantities.len())
            .max(prices.len());
        let first = |key: &str| values(key).into_iter().next().unwrap_or_default();
        SaleForm {
            customer_id: first("customer_id"),
            customer_q: first("customer_q"),
            lines: (0..count)
                .map(|i| LineText {
                    product_id: ids.get(i).cloned().unwrap_or_default(),
                    product_q: queries.get(i).cloned().unwrap_or_default(),
                    quantity: quantities.get(i).cloned().unwrap_or_default(),
                    unit_price: prices.get(i).cloned().unwrap_or_default(),
                })
                .collect(),
            find: pairs.iter().any(|(k, _)| k == "find"),
        }
    }
}

/// The most of one product a line may sell.
pub const MAX_QUANTITY: i64 = 1_000_000;

/// Which field of a line a problem is about (the form marks it and puts the focus there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineField {
    Product,
    Quantity,
    Price,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProblem {
    pub field: LineField,
    pub message: String,
}

/// Checks one line (`number` counts from 1, blank lines included): `Ok(None)` for a blank
/// line. `static/money.js` (`saleTotal`) follows the same rules for the total on the page.
pub fn check_line(number: usize, line: &LineText) -> Result<Option<LineInput>, LineProblem> {
    if line.is_blank() {
        return Ok(None);
    }
    let problem = |field, message: String| LineProblem {
        field,
        message: format!("Line {number}: {message}"),
    };
    let Ok(product_id) = line.product_id.trim().parse::<i64>() else {
        let message = match line.product_q.trim() {
            "" => "choose a product.".to_string(),
            q => format!("choose a product for “{q}” from the list."),
        };
        return Err(problem(LineField::Product, message));
    };
    let quantity = match line.quantity.trim() {
        "" => Some(1),
        q => q
            .parse::<i64>()
            .ok()
            .filter(|q| (1..=MAX_QUANTITY).contains(q)),
    };
    let Some(quantity) = quantity else {
        return Err(problem(
            LineField::Quantity,
            "the quantity must be a whole number from 1 to 1,000,000.".into(),
        ));
    };
    let unit_price_cents = match line.unit_price.trim() {
        "" => None,
        p => Some(
            super::money::parse_cents(p)
                .map_err(|e| problem(LineField::Price, format!("unit price: {e}")))?,
        ),
    };
    Ok(Some(LineInput {
        product_id,
        quantity,
        unit_price_cents,
    }))
}

impl NewSale {
    /// Checks the typed form: blank lines are skipped, an empty quantity means 1, an empty
    /// price means the product's price. Each problem is named with its line number.
    pub fn parse(form: &SaleForm) -> Result<NewSale, FieldErrors> {
        let mut errors = FieldErrors::default();
        let customer_id = match (form.customer_id.trim(), form.customer_q.trim()) {
            ("", "") => None,
            // A name typed but never picked must not quietly become a walk-in sale.
            ("", typed) => {
                errors.add(
                    "customer_id",
                    format!(
                        "Choose the customer for “{typed}” from the list, or empty the customer field for a walk-in sale."
                    ),
                );
                None
            }
            (t, _) => t.parse::<i64>().ok().or_else(|| {
                errors.add("customer_id", "Choose a customer from the list.");
                None
            }),
        };
        let mut lines = Vec::new();
        for (n, line) in form.lines.iter().enumerate() {
            match check_line(n + 1, line) {
                Ok(Some(input)) => lines.push(input),
                Ok(None) => {}
                Err(problem) => errors.append("lines", problem.message),
            }
        }
        errors.into_result(NewSale { customer_id, lines })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn lines_default_to_one_and_the_product_price_and_blank_lines_are_skipped() {
        let form = SaleForm::from_pairs(&pairs(&[
            ("customer_id", ""),
            ("product_id", "3"),
            ("quantity", ""),
            ("unit_price", ""),
            ("product_id", ""),
            ("quantity", ""),
            ("unit_price", ""),
            ("product_id", "4"),
            ("quantity", "2"),
            ("unit_price", "0,99"),
        ]));
        let sale = NewSale::parse(&form).unwrap();
        assert_eq!(sale.customer_id, None);
        assert_eq!(sale.lines.len(), 2);
        assert_eq!(
            (sale.lines[0].quantity, sale.lines[0].unit_price_cents),
            (1, None)
        );
        assert_eq!(
            (sale.lines[1].quantity, sale.lines[1].unit_price_cents),
            (2, Some(99))
        );
    }

    #[test]
    fn the_offered_quantity_of_one_alone_is_a_blank_line() {
        let form = SaleForm::from_pairs(&pairs(&[
            ("product_q", ""),
            ("product_id", ""),
            ("quantity", "1"),
            ("unit_price", ""),
            ("product_q", "tea"),
            ("product_id", ""),
            ("quantity", "1"),
            ("unit_price", ""),
        ]));
        let errors = NewSale::parse(&form).unwrap_err().joined();
        assert_eq!(errors, "Line 2: choose a product for “tea” from the list.");
        let typed = SaleForm {
            customer_q: "Ann".into(),
            ..form.clone()
        };
        let errors = NewSale::parse(&typed).unwrap_err();
        assert!(errors.get("customer_id").contains("“Ann”"), "{errors}");
        let problem = check_line(2, &form.lines[1]).unwrap_err();
        assert_eq!(problem.field, LineField::Product);
        assert!(!form.find);
    }

    #[test]
    fn each_problem_is_named_with_its_line() {
        let form = SaleForm::from_pairs(&pairs(&[
            ("customer_id", "x"),
            ("product_id", ""),
            ("quantity", "2"),
            ("unit_price", ""),
            ("product_id", "5"),
            ("quantity", "0"),
            ("unit_price", ""),
        ]));
        let errors = NewSale::parse(&form).unwrap_err();
        assert!(errors.has("customer_id"));
        let text = errors.joined();
        assert!(text.contains("Line 1: choose a product"), "{text}");
        assert!(text.contains("Line 2: the quantity"), "{text}");
    }
}
