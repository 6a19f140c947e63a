//! Money as integer cents: parsed from what people type, printed with two decimals. No
//! floating point ever touches an amount.

/// Largest amount accepted in one field: 100 million.
pub const MAX_CENTS: i64 = 10_000_000_000;

/// "12", "12.5", "12.50", "1,234.50" → cents. Negative, more than two decimals, or junk → Err.
pub fn parse_cents(text: &str) -> Result<i64, String> {
    let cleaned: String = text
        .trim()
        .chars()
        .filter(|c| *c != ',' && *c != ' ')
        .collect();
    if cleaned.is_empty() {
        return Err("Enter an amount, e.g. 12.50.".into());
    }
    if cleaned.starts_with('-') {
        return Err("The amount cannot be negative.".into());
    }
    let (whole, frac) = match cleaned.split_once('.') {
        Some((w, f)) => (w, f),
        None => (cleaned.as_str(), ""),
    };
    let digits_ok = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if !digits_ok(whole) || !digits_ok(frac) || (whole.is_empty() && frac.is_empty()) {
        return Err(
            "Enter an amount with digits and at most one decimal point, e.g. 12.50.".into(),
        );
    }
    if frac.len() > 2 {
        return Err("Use at most two decimals (cents).".into());
    }
    if whole.len() > 12 {
        return Err("The amount is too large.".into());
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole
            .parse()
            .map_err(|_| "The amount is too large.".to_string())?
    };
    let frac_cents: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().unwrap_or(0) * 10,
        _ => frac.parse::<i64>().unwrap_or(0),
    };
    let cents = whole
        .checked_mul(100)
        .and_then(|c| c.checked_add(frac_cents))
        .ok_or_else(|| "The amount is too large.".to_string())?;
    if cents > MAX_CENTS {
        return Err("The amount is too large.".into());
    }
    Ok(cents)
}

/// 1234 → "12.34"; -5 → "-0.05".
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", group_thousands(abs / 100), abs % 100)
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// quantity × unit price, refusing overflow.
pub fn line_total(quantity: i64, unit_cents: i64) -> Option<i64> {
    quantity.checked_mul(unit_cents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_people_type() {
        assert_eq!(parse_cents("12"), Ok(1200));
        assert_eq!(parse_cents("12.5"), Ok(1250));
        assert_eq!(parse_cents("12.05"), Ok(1205));
        assert_eq!(parse_cents(" 1,234.50 "), Ok(123_450));
        assert_eq!(parse_cents(".99"), Ok(99));
        assert_eq!(parse_cents("0"), Ok(0));
        for bad in [
            "",
            "-1",
            "1.234",
            "abc",
            "1.2.3",
            "1e5",
            ".",
            "99999999999999",
        ] {
            assert!(parse_cents(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn integer_cents_add_up_exactly() {
        // 0.10 + 0.20 is exactly 0.30 in cents (unlike floating point).
        let total = parse_cents("0.10").unwrap() + parse_cents("0.20").unwrap();
        assert_eq!(total, parse_cents("0.30").unwrap());
        assert_eq!(format_cents(total), "0.30");
        let mut sum = 0;
        for _ in 0..1000 {
            sum += parse_cents("0.01").unwrap();
        }
        assert_eq!(format_cents(sum), "10.00");
        assert_eq!(line_total(3, 333), Some(999));
        assert_eq!(line_total(i64::MAX, 2), None);
    }

    #[test]
    fn formats_with_grouping() {
        assert_eq!(format_cents(123_456_789), "1,234,567.89");
        assert_eq!(format_cents(5), "0.05");
        assert_eq!(format_cents(-5), "-0.05");
    }
}
