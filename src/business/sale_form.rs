//! The sale form as typed and its checks: blank lines skipped, an empty quantity is 1, an
//! empty price is the product's price, each problem named with its line number.

use super::FieldErrors;
use super::sales::{LineInput, NewSale};

/// One line of the sale form as typed.
#[derive(Debug, Clone, Default)]
pub struct LineText {
    pub product_id: String,
    pub quantity: String,
    pub unit_price: String,
}

impl LineText {
    fn is_blank(&self) -> bool {
        self.product_id.trim().is_empty()
            && self.quantity.trim().is_empty()
            && self.unit_price.trim().is_empty()
    }
}

/// The sale form as typed (kept to show it again with the messages).
#[derive(Debug, Clone, Default)]
pub struct SaleForm {
    pub customer_id: String,
    pub lines: Vec<LineText>,
}

impl SaleForm {
    /// Reads the repeated `product_id` / `quantity` / `unit_price` fields into lines.
    pub fn from_pairs(pairs: &[(String, String)]) -> SaleForm {
        let values = |key: &str| {
            pairs
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .collect::<Vec<_>>()
        };
        let (ids, quantities, prices) = (
            values("product_id"),
            values("quantity"),
            values("unit_price"),
        );
        let count = ids.len().max(quantities.len()).max(prices.len());
        SaleForm {
            customer_id: values("customer_id").into_iter().next().unwrap_or_default(),
            lines: (0..count)
                .map(|i| LineText {
                    product_id: ids.get(i).cloned().unwrap_or_default(),
                    quantity: quantities.get(i).cloned().unwrap_or_default(),
                    unit_price: prices.get(i).cloned().unwrap_or_default(),
                })
                .collect(),
        }
    }
}

/// The most of one product a line may sell.
pub const MAX_QUANTITY: i64 = 1_000_000;

impl NewSale {
    /// Checks the typed form: blank lines are skipped, an empty quantity means 1, an empty
    /// price means the product's price. Each problem is named with its line number.
    pub fn parse(form: &SaleForm) -> Result<NewSale, FieldErrors> {
        let mut errors = FieldErrors::default();
        let customer_id = match form.customer_id.trim() {
            "" => None,
            t => t.parse::<i64>().ok().or_else(|| {
                errors.add("customer_id", "Choose a customer from the list.");
                None
            }),
        };
        let mut lines = Vec::new();
        for (n, line) in form.lines.iter().enumerate().filter(|(_, l)| !l.is_blank()) {
            let number = n + 1;
            let Ok(product_id) = line.product_id.trim().parse::<i64>() else {
                errors.append("lines", format!("Line {number}: choose a product."));
                continue;
            };
            let quantity = match line.quantity.trim() {
                "" => Some(1),
                q => q
                    .parse::<i64>()
                    .ok()
                    .filter(|q| (1..=MAX_QUANTITY).contains(q)),
            };
            let Some(quantity) = quantity else {
                errors.append(
                    "lines",
                    format!(
                        "Line {number}: the quantity must be a whole number from 1 to 1,000,000."
                    ),
                );
                continue;
            };
            let unit_price_cents = match line.unit_price.trim() {
                "" => None,
                p => match super::money::parse_cents(p) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        errors.append("lines", format!("Line {number}: unit price: {e}"));
                        continue;
                    }
                },
            };
            lines.push(LineInput {
                product_id,
                quantity,
                unit_price_cents,
            });
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
