//! The one way an error and its causes are written out, for the log, the server's console and
//! the command line: on one line, leaving out a cause the message above already quotes
//! (many messages name their source).

use std::error::Error;

/// `error: cause: cause`, each cause once.
pub fn chain(error: &(dyn Error + 'static)) -> String {
    let mut text = String::new();
    for e in causes(error) {
        let part = e.to_string();
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
    }
    text
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
}
