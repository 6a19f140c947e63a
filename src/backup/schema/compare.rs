//! Comparing a file's schema with the reference: every difference, in words.

use std::collections::BTreeMap;

use super::{Column, Difference, Schema};

/// Every difference of `found` from `reference`, extra objects first.
pub(super) fn compare(reference: &Schema, found: &Schema) -> Vec<Difference> {
    let mut differences = Vec::new();
    for ((kind, name), object) in &found.objects {
        if !reference
            .objects
            .contains_key(&(kind.clone(), name.clone()))
        {
            differences.push(Difference::Extra {
                kind: kind.clone(),
                name: name.clone(),
                table: object.table.clone(),
            });
        }
    }
    for ((kind, name), expected) in &reference.objects {
        let Some(object) = found.objects.get(&(kind.clone(), name.clone())) else {
            differences.push(Difference::Missing {
                kind: kind.clone(),
                name: name.clone(),
            });
            continue;
        };
        let before = differences.len();
        if kind == "table" {
            compare_columns(
                name,
                reference.columns.get(name),
                found.columns.get(name),
                &mut differences,
            );
        }
        if kind == "index" && reference.indexes.get(name) != found.indexes.get(name) {
            differences.push(changed(kind, name));
        }
        let named_already = differences.len() > before;
        if !named_already && object != expected {
            differences.push(changed(kind, name));
        }
    }
    differences
}

fn changed(kind: &str, name: &str) -> Difference {
    Difference::Changed {
        kind: kind.to_string(),
        name: name.to_string(),
    }
}

fn compare_columns(
    table: &str,
    expected: Option<&Vec<Column>>,
    found: Option<&Vec<Column>>,
    differences: &mut Vec<Difference>,
) {
    let (Some(expected), Some(found)) = (expected, found) else {
        // Not a plain table in the file (a virtual one): its definition differs.
        differences.push(changed("table", table));
        return;
    };
    let by_name = |cols: &Vec<Column>| -> BTreeMap<String, Column> {
        cols.iter()
            .map(|c| (c.name.to_lowercase(), c.clone()))
            .collect()
    };
    let (want, have) = (by_name(expected), by_name(found));
    let before = differences.len();
    for column in found
        .iter()
        .filter(|c| !want.contains_key(&c.name.to_lowercase()))
    {
        differences.push(Difference::ExtraColumn {
            table: table.to_string(),
            column: column.name.clone(),
        });
    }
    for column in expected {
        match have.get(&column.name.to_lowercase()) {
            None => differences.push(Difference::MissingColumn {
                table: table.to_string(),
                column: column.name.clone(),
            }),
            Some(c) if c != column => differences.push(Difference::ColumnChanged {
                table: table.to_string(),
                column: column.name.clone(),
                found: c.describe(),
                expected: column.describe(),
            }),
            Some(_) => {}
        }
    }
    if differences.len() == before && expected != found {
        differences.push(Difference::ColumnOrder {
            table: table.to_string(),
        });
    }
}
