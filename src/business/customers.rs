//! Customers: name required, phone and e-mail optional (e-mail checked when given), notes.

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};
use serde::Serialize;

use super::{BusinessError, FieldErrors, Page, now_text};

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Customer {
    pub id: i64,
    pub name: String,
    pub phone: String,
    pub email: String,
    pub notes: String,
}

impl Customer {
    /// The phone number, or the e-mail when there is none: what tells two Anna Schmidts
    /// apart.
    pub fn detail(&self) -> &str {
        if self.phone.is_empty() {
            &self.email
        } else {
            &self.phone
        }
    }
}

pub(crate) const COLUMNS: &str = "id, name, phone, email, notes";

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct CustomerForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub notes: String,
}

impl CustomerForm {
    pub fn from_customer(c: &Customer) -> CustomerForm {
        CustomerForm {
            name: c.name.clone(),
            phone: c.phone.clone(),
            email: c.email.clone(),
            notes: c.notes.clone(),
        }
    }
}

/// A plausible e-mail address: one `@`, something before it, a dotted domain after it, no
/// spaces. (Deliverability is the mail server's business.)
pub fn is_valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && email.len() <= 254
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !email.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ',' | ';')
        })
}

pub fn validate(form: &CustomerForm) -> Result<CustomerForm, FieldErrors> {
    let mut errors = FieldErrors::default();
    let clean = CustomerForm {
        name: form.name.trim().to_string(),
        phone: form.phone.trim().to_string(),
        email: form.email.trim().to_string(),
        notes: form.notes.trim().to_string(),
    };
    if clean.name.is_empty() {
        errors.add("name", "Name is required.");
    } else if clean.name.chars().count() > 200 {
        errors.add("name", "Name can have at most 200 characters.");
    } else if let Err(e) = crate::text::check("Name", &clean.name, false) {
        errors.add("name", e);
    }
    if !clean.phone.is_empty()
        && (clean.phone.len() > 40
            || !clean.phone.chars().all(|c| {
                c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '.' | '/')
            }))
    {
        errors.add(
            "phone",
            "A phone number has digits, spaces and + - ( ) . / only.",
        );
    }
    if !clean.email.is_empty() && !is_valid_email(&clean.email) {
        errors.add(
            "email",
            "This is not a valid e-mail address (like name@example.com).",
        );
    }
    if clean.notes.chars().count() > 2000 {
        errors.add("notes", "Notes can have at most 2000 characters.");
    } else if let Err(e) = crate::text::check("Notes", &clean.notes, true) {
        errors.add("notes", e);
    }
    if errors.is_empty() {
        Ok(clean)
    } else {
        Err(errors)
    }
}

/// Checks the form and stores it as a new customer (`id` is `None`) or over customer `id`.
pub fn save(conn: &Connection, id: Option<i64>, form: &CustomerForm) -> Result<i64, BusinessError> {
    let clean = validate(form).map_err(BusinessError::Invalid)?;
    match id {
        None => create(conn, &clean),
        Some(id) => update(conn, id, &clean).map(|()| id),
    }
}

/// What both statements below store (`?1`–`?5`), then `more`.
fn stored(c: &CustomerForm, more: impl IntoIterator<Item = Value>) -> Vec<Value> {
    let mut values: Vec<Value> = vec![
        c.name.clone().into(),
        c.phone.clone().into(),
        crate::text::phone_digits(&c.phone).into(),
        c.email.clone().into(),
        c.notes.clone().into(),
    ];
    values.extend(more);
    values
}

/// Saves a new customer with the searchable copy of the phone number
/// ([`crate::text::phone_digits`]).
pub fn create(conn: &Connection, c: &CustomerForm) -> Result<i64, BusinessError> {
    let now = now_text();
    conn.execute(
        "INSERT INTO customers (name, phone, phone_digits, email, notes, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params_from_iter(stored(c, [now.into()])),
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn update(conn: &Connection, id: i64, c: &CustomerForm) -> Result<(), BusinessError> {
    let n = conn.execute(
        "UPDATE customers SET name = ?1, phone = ?2, phone_digits = ?3, email = ?4, notes = ?5,
         updated_at = ?6 WHERE id = ?7",
        params_from_iter(stored(c, [now_text().into(), id.into()])),
    )?;
    if n == 0 {
        return Err(BusinessError::NotFound);
    }
    Ok(())
}

/// The stored record as its edit form shows it.
pub fn form(conn: &Connection, id: i64) -> Result<CustomerForm, BusinessError> {
    get(conn, id).map(|r| CustomerForm::from_customer(&r))
}

pub fn get(conn: &Connection, id: i64) -> Result<Customer, BusinessError> {
    super::one(
        conn,
        &format!("SELECT {COLUMNS} FROM customers WHERE id = ?1"),
        [id],
    )
}

/// Customers matching `search` the way [`super::filter::customer_filter`] says, by name.
pub fn list(
    conn: &Connection,
    search: &str,
    page: i64,
    per_page: i64,
) -> Result<Page<Customer>, BusinessError> {
    let filter = super::filter::customer_filter(search);
    super::paged(
        conn,
        COLUMNS,
        &format!("FROM customers WHERE {}", filter.clause),
        "name COLLATE NOCASE, id",
        filter.params,
        page,
        per_page,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_rule() {
        assert!(is_valid_email("ann@example.com"));
        assert!(is_valid_email("a.b+c@shop.co.uk"));
        for bad in [
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "a@b@c.com",
            "a@.com",
            "a@b..com",
            "<a@b.com>",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn validation_rules() {
        let errors = validate(&CustomerForm {
            name: "  ".into(),
            phone: "call me".into(),
            email: "nope".into(),
            notes: "x".repeat(2001),
        })
        .unwrap_err();
        for field in ["name", "phone", "email", "notes"] {
            assert!(!errors.get(field).is_empty(), "{field}");
        }
        assert!(
            validate(&CustomerForm {
                name: "Ann".into(),
                ..Default::default()
            })
            .is_ok()
        );
    }
}
