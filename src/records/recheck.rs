//! The live record is read again inside the bring-back's own transaction: between the page a
//! person confirmed (or the comparison made before the safety backup) and the write, someone
//! may have changed it, and a bring-back must not overwrite a change nobody saw.

use rusqlite::Connection;

use super::diff::{Diff, Record, load_one};
use super::{RecordsError, Table};

/// A record as a person reads it on the page, without its stock (sales move stock all the
/// time; a bring-back leaves stock alone unless asked). `None` means "not there now".
pub(super) fn seen_text(now: Option<&Record>) -> String {
    match now {
        None => "not there".to_string(),
        Some(r) => r
            .fields
            .iter()
            .filter(|(k, _)| **k != "stock")
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

impl Diff {
    /// What a page shows of each live record that could be brought back, by id: sent back
    /// with the choice, so a change made meanwhile is refused rather than overwritten.
    pub fn seen(&self) -> std::collections::BTreeMap<i64, String> {
        self.only_in_backup
            .iter()
            .map(|r| (r.id, seen_text(None)))
            .chain(self.changed.iter().map(|c| (c.id, seen_text(Some(&c.now)))))
            .collect()
    }
}

/// What the comparison saw as the live side of `id`: the changed record, or nothing for one
/// deleted since (a live record that took its id is another record, and stays).
fn compared(found: &Diff, id: i64) -> Option<&Record> {
    found.changed.iter().find(|c| c.id == id).map(|c| &c.now)
}

/// Refuses when the live record of `id` is no longer what was seen: `seen` is what the page
/// showed (when the form sent it), else what the comparison saw.
pub fn unchanged(
    tx: &Connection,
    table: Table,
    found: &Diff,
    id: i64,
    seen: Option<&str>,
) -> Result<(), RecordsError> {
    let then = compared(found, id);
    let now = load_one(tx, table, id)?;
    // A record that took a deleted one's id is another record: compared as "not there".
    let now = match (then, now) {
        (None, Some(r))
            if !found
                .only_in_backup
                .iter()
                .any(|b| b.id == id && b.created_at == r.created_at) =>
        {
            None
        }
        (_, now) => now,
    };
    let expected = seen.map_or_else(|| seen_text(then), str::to_string);
    let current = seen_text(now.as_ref());
    if expected == current {
        return Ok(());
    }
    Err(RecordsError::ChangedMeanwhile {
        table: table.one(),
        id,
        seen: expected,
        now: current,
    })
}
