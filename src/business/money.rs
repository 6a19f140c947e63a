//! Money as integer cents: parsed from what people type, printed with two decimals. No
//! floating point ever touches an amount.
//!
//! An amount is never read as something the person did not mean: `12.50`, `12,50` (a comma
//! with one or two digits after it and no dot is a decimal comma), `1,234.50`, `1 234,50` and
//! `1234` are accepted; anything that could mean two different amounts (`1.234`, `1.234,50`,
//! `12,5,0`) is refused with a message that says how it was read.

/// Largest amount accepted in one field: 100 million.
pub const MAX_CENTS: i64 = 10_000_000_000;

const EXAMPLE: &str = "e.g. 12.50";

/// "12", "12.5", "12,50", "1,234.50", "1 234,50" → cents. Negative, more than two decimals,
/// separators in the wrong places, or junk → `Err` with a plain message.
pub fn parse_cents(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("Enter an amount, {EXAMPLE}."));
    }
    if text.starts_with('-') {
        return Err("The amount cannot be negative.".into());
    }
    // Spaces (also the no-break kinds spreadsheets paste) can only separate thousands.
    let is_space = |c: char| matches!(c, ' ' | '\u{a0}' | '\u{202f}');
    if let Some(bad) = text
        .chars()
        .find(|c| !c.is_ascii_digit() && !matches!(c, '.' | ',') && !is_space(*c))
    {
        return Err(format!(
            "“{text}” is not an amount ({bad:?} is not a digit). Enter an amount with digits and one decimal point, {EXAMPLE}."
        ));
    }
    let dots = text.matches('.').count();
    let commas = text.matches(',').count();
    if dots > 1 {
        return Err(format!(
            "“{text}” has more than one dot. Use one decimal point, {EXAMPLE}, and no dots between thousands."
        ));
    }
    let (whole, frac, group_mark) = match (dots, commas) {
        (0, 0) => (text, "", None),
        (1, _) => {
            let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
            if frac.contains(',') {
                return Err(format!(
                    "“{text}” mixes a dot and a comma in a way that could mean two amounts. Type it without thousands separators, {EXAMPLE}."
                ));
            }
            (whole, frac, (commas > 0).then_some(','))
        }
        (0, 1) => {
            let (whole, after) = text.split_once(',').unwrap_or((text, ""));
            match after.len() {
                // One comma and one or two digits after it: a decimal comma.
                1 | 2 => (whole, after, None),
                // Three digits: thousands.
                3 => (text, "", Some(',')),
                _ => {
                    return Err(format!(
                        "“{text}”: after a decimal comma come one or two digits for the cents, {}.",
                        "e.g. 12,50"
                    ));
                }
            }
        }
        _ => (text, "", Some(',')),
    };
    let whole = ungroup(whole, group_mark, is_space).ok_or_else(|| {
        format!(
            "“{text}” has thousands separators in the wrong places (they go between groups of three digits, as in 1,234.50). Type it without them, {EXAMPLE}."
        )
    })?;
    if frac.chars().any(is_space) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("“{text}” is not an amount, {EXAMPLE}."));
    }
    if frac.len() > 2 {
        return Err(format!(
            "“{text}” has {} decimals: use at most two decimals (cents). If you meant {whole}{frac}, type it without the dot.",
            frac.len()
        ));
    }
    if whole.is_empty() && frac.is_empty() {
        return Err(format!("“{text}” is not an amount, {EXAMPLE}."));
    }
    if whole.len() > 12 {
        return Err("The amount is too large.".into());
    }
    let whole_value: i64 = if whole.is_empty() {
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
    let cents = whole_value
        .checked_mul(100)
        .and_then(|c| c.checked_add(frac_cents))
        .ok_or_else(|| "The amount is too large.".to_string())?;
    if cents > MAX_CENTS {
        return Err("The amount is too large.".into());
    }
    Ok(cents)
}

/// The digits of a whole part written with thousands separators (`group_mark`, or spaces),
/// or `None` when a separator is out of place. Only one kind of separator may be used.
fn ungroup(
    whole: &str,
    group_mark: Option<char>,
    is_space: impl Fn(char) -> bool,
) -> Option<String> {
    let has_spaces = whole.chars().any(&is_space);
    if group_mark.is_some() && has_spaces {
        return None;
    }
    if group_mark.is_none() && !has_spaces {
        return whole
            .chars()
            .all(|c| c.is_ascii_digit())
            .then(|| whole.to_string());
    }
    // Only one kind of separator is present, so splitting on either is splitting on it.
    let groups: Vec<&str> = whole
        .split(|c: char| Some(c) == group_mark || is_space(c))
        .collect();
    let first = groups.first()?;
    let first_ok = (1..=3).contains(&first.len()) && !(first.starts_with('0') && groups.len() > 1);
    let rest_ok = groups[1..].iter().all(|g| g.len() == 3);
    let digits_ok = groups.iter().all(|g| g.chars().all(|c| c.is_ascii_digit()));
    (first_ok && rest_ok && digits_ok).then(|| groups.concat())
}

/// 1234 → "12.34"; -5 → "-0.05".
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", group_thousands(abs / 100), abs % 100)
}

/// 123456 → "1234.56": for input fields, which must read back exactly.
pub fn format_plain(cents: i64) -> String {
    format_cents(cents).replace(',', "")
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
    use proptest::prelude::*;

    #[test]
    fn parses_what_people_type() {
        assert_eq!(parse_cents("12"), Ok(1200));
        assert_eq!(parse_cents("12.5"), Ok(1250));
        assert_eq!(parse_cents("12.05"), Ok(1205));
        assert_eq!(parse_cents(" 1,234.50 "), Ok(123_450));
        assert_eq!(parse_cents(".99"), Ok(99));
        assert_eq!(parse_cents("0"), Ok(0));
        assert_eq!(parse_cents("0,99"), Ok(99));
        assert_eq!(parse_cents("12,50"), Ok(1250));
        assert_eq!(parse_cents("12,5"), Ok(1250));
        assert_eq!(parse_cents("1,234"), Ok(123_400));
        assert_eq!(parse_cents("1,234,567"), Ok(123_456_700));
        assert_eq!(parse_cents("1 234,50"), Ok(123_450));
        assert_eq!(parse_cents("1\u{a0}234.50"), Ok(123_450));
        for bad in [
            "",
            "-1",
            "1.234",
            "abc",
            "1.2.3",
            "1e5",
            ".",
            ",",
            "99999999999999",
            "1.234,50",
            "12,5,0",
            "0,999",
            "12,3456",
            "1,23,456",
            "12 5",
            "1 234,567",
            "1,234 567",
            "€12",
            "12,",
        ] {
            assert!(parse_cents(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn refusals_say_what_was_understood() {
        let e = parse_cents("1.234").unwrap_err();
        assert!(e.contains("3 decimals") && e.contains("1234"), "{e}");
        let e = parse_cents("1.234,50").unwrap_err();
        assert!(e.contains("could mean two amounts"), "{e}");
        let e = parse_cents("12,5,0").unwrap_err();
        assert!(e.contains("wrong places"), "{e}");
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
        assert_eq!(format_plain(123_456_789), "1234567.89");
    }

    /// The simplest reading of an amount: the last dot or comma followed by one or two final
    /// digits is the decimal mark; every other separator is ignored.
    fn decimal_reading(text: &str) -> i64 {
        let t: String = text.trim().chars().filter(|c| !c.is_whitespace()).collect();
        let mark = t.rfind(['.', ',']);
        let (whole, frac) = match mark {
            Some(i) if (1..=2).contains(&(t.len() - i - 1)) => (&t[..i], &t[i + 1..]),
            _ => (t.as_str(), ""),
        };
        let digits: String = whole.chars().filter(char::is_ascii_digit).collect();
        let whole: i64 = digits.parse().unwrap_or(0);
        let frac: i64 = match frac.len() {
            1 => frac.parse::<i64>().unwrap() * 10,
            2 => frac.parse().unwrap(),
            _ => 0,
        };
        whole * 100 + frac
    }

    proptest! {
        #[test]
        fn formatted_amounts_read_back_exactly(cents in 0i64..=MAX_CENTS) {
            prop_assert_eq!(parse_cents(&format_cents(cents)), Ok(cents));
            prop_assert_eq!(parse_cents(&format_plain(cents)), Ok(cents));
            let comma = format_plain(cents).replace('.', ",");
            prop_assert_eq!(parse_cents(&comma), Ok(cents));
        }

        #[test]
        fn nothing_with_a_comma_or_dot_is_read_a_hundred_times_off(
            text in "[0-9]{0,7}[.,]?[0-9]{0,4}([.,][0-9]{0,4})?",
        ) {
            if let Ok(cents) = parse_cents(&text) {
                prop_assert_eq!(cents, decimal_reading(&text), "{:?}", text);
            }
        }
    }
}
