//! The one way an error and its causes are written out, for the log, the server's console and
//! the command line: on one line, leaving out a cause the message above already quotes
//! (many messages name their source).

use std::error::Error;

/// `error: cause: cause`, each cause once. An I/O cause is in plain words with what to do
/// ([`crate::fsutil::plain_io`]), also where a message above quotes it; no OS error number
/// ("(os error 2)") is left in the text.
pub fn chain(error: &(dyn Error + 'static)) -> String {
    let mut text = String::new();
    for e in causes(error) {
        let mut part = e.to_string();
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            let plain = crate::fsutil::plain_io(io);
            if text.contains(&part) {
                text = text.replace(&part, &plain);
            }
            part = plain;
        }
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
    }
    crate::fsutil::without_os_error_number(&text)
}

/// The error, then each of its causes in turn (for looking one up by type).
pub fn causes<'a>(
    error: &'a (dyn Error + 'static),
) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(Some(error), |&e| e.source())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    enum Outer {
        #[error("cannot save the sale: {0}")]
        Quoting(#[source] std::io::Error),
        #[error("cannot save the sale")]
        Plain(#[source] std::io::Error),
        #[error(transparent)]
        Wrapping(#[from] std::io::Error),
    }

    #[test]
    fn each_cause_is_written_once() {
        let io = || std::io::Error::other("disk full");
        assert_eq!(
            chain(&Outer::Quoting(io())),
            "cannot save the sale: disk full"
        );
        assert_eq!(
            chain(&Outer::Plain(io())),
            "cannot save the sale: disk full"
        );
        assert_eq!(chain(&Outer::Wrapping(io())), "disk full");
    }

    #[test]
    fn an_os_error_is_worded_with_what_to_do_and_without_its_number() {
        let missing = || std::io::Error::from_raw_os_error(2);
        assert!(missing().to_string().contains("os error 2"));
        for text in [
            chain(&Outer::Quoting(missing())),
            chain(&Outer::Plain(missing())),
        ] {
            assert!(!text.contains("os error"), "{text}");
            assert!(
                text.contains("not found — check the drive letter"),
                "{text}"
            );
        }
        // A transparent wrapper hides the I/O error's kind: its text stays, not its number.
        assert!(!chain(&Outer::Wrapping(missing())).contains("os error"));
        let odd = std::io::Error::from_raw_os_error(5000);
        assert!(!chain(&Outer::Quoting(odd)).contains("os error"));
    }
}
