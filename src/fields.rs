//! Form validation messages, one per field: the one shape every form uses (products,
//! customers, sales, users, login, account, first run), shown next to the fields.

use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<&'static str, String>);

impl FieldErrors {
    /// One message for one field.
    pub fn one(field: &'static str, message: impl Into<String>) -> FieldErrors {
        let mut errors = FieldErrors::default();
        errors.add(field, message);
        errors
    }

    /// Keeps the first message given for a field.
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }

    /// Adds a message after any the field already has (one per sale line, say).
    pub fn append(&mut self, field: &'static str, message: impl Into<String>) {
        let message = message.into();
        self.0
            .entry(field)
            .and_modify(|m| {
                m.push(' ');
                m.push_str(&message);
            })
            .or_insert(message);
    }

    /// The message for `field`, or "" when it is fine.
    pub fn get(&self, field: &str) -> &str {
        self.0.get(field).map_or("", String::as_str)
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn fields(&self) -> impl Iterator<Item = (&&'static str, &String)> {
        self.0.iter()
    }

    /// All messages in one line, for pages that show them together.
    pub fn joined(&self) -> String {
        self.0.values().cloned().collect::<Vec<_>>().join(" ")
    }

    /// `Ok(value)` when there are no messages.
    pub fn into_result<T>(self, value: T) -> Result<T, FieldErrors> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl std::fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.joined())
    }
}
