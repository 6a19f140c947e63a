//! Rules for the text people type: no invisible control characters in stored text, and
//! length caps for what is written to logs.

/// Characters that never belong in a name, a SKU, a note or a description: control codes
/// (NUL, escape, ...), the bidirectional overrides and isolates that make text display in an
/// order other than it is stored (e.g. an invoice name that reads backwards), line and
/// paragraph separators, and the byte-order mark.
pub fn is_forbidden(c: char, multiline: bool) -> bool {
    if multiline && matches!(c, '\n' | '\t') {
        return false;
    }
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{feff}'
        )
}

/// `Err(message)` when `value` holds a forbidden character; `label` names the field.
/// `multiline` fields (notes) may hold line breaks (`\r\n` counts as one) and tabs.
pub fn check(label: &str, value: &str, multiline: bool) -> Result<(), String> {
    let normalised = if multiline {
        value.replace("\r\n", "\n")
    } else {
        value.to_string()
    };
    match normalised.chars().find(|c| is_forbidden(*c, multiline)) {
        None => Ok(()),
        Some(c) => Err(format!(
            "{label} contains an invisible control character (U+{:04X}); remove it and type the text again.",
            u32::from(c)
        )),
    }
}

/// At most `max` characters of `text`, with "…" when something was cut: for log lines, which
/// must stay readable whatever was typed into a form.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max).collect();
    out.push('…');
    out
}

/// A phone number as searching compares it: digits only, without a `(0)` written after a
/// country code and without leading zeros (a trunk `0` or an international `00`), so
/// `+44 (0)20 7946-0958`, `0044 20 7946 0958` and `020 79460958` all end in the same
/// digits. A country code stays in front; the search matches on the end of the number.
pub fn phone_digits(phone: &str) -> String {
    let digits: String = phone
        .replace("(0)", "")
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    digits.trim_start_matches('0').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_lose_spaces_dashes_and_leading_zeros() {
        assert_eq!(phone_digits("+44 (0)20 7946-0958"), "442079460958");
        assert_eq!(phone_digits("0044 20 7946 0958"), "442079460958");
        assert_eq!(phone_digits("020 7946 0958"), "2079460958");
        assert_eq!(phone_digits("(030) 123.45/67"), "301234567");
        assert_eq!(phone_digits(""), "");
        assert_eq!(phone_digits("000"), "");
    }

    #[test]
    fn control_and_bidi_characters_are_refused() {
        for bad in [
            "a\u{0}b",
            "Tea\u{202e}moc.exe",
            "x\u{2066}y",
            "\u{1b}[31m",
            "a\u{2028}b",
        ] {
            assert!(check("Name", bad, false).is_err(), "{bad:?}");
            assert!(check("Notes", bad, true).is_err(), "{bad:?}");
        }
        assert!(check("Name", "line\nbreak", false).is_err());
        assert!(check("Notes", "line\r\nbreak\tand tab", true).is_ok());
        assert!(check("Name", "Crème brûlée 🍮 “special”", false).is_ok());
        let e = check("Name", "a\u{202e}b", false).unwrap_err();
        assert!(e.contains("U+202E"), "{e}");
    }

    #[test]
    fn clip_cuts_on_characters() {
        assert_eq!(clip("abc", 5), "abc");
        assert_eq!(clip("äöüß", 2), "äö…");
    }
}
