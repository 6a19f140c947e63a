//! Is a database file exactly a Backroom database? Every file from elsewhere (an upload, a
//! file on the command line, a copy from a target) and every backup that is verified,
//! restored or looked inside must have, for its schema version, exactly the tables, columns,
//! indexes, triggers and views that this program's own migrations make for that version.
//! Anything else could carry code (a trigger fires on normal work after a restore) or break
//! pages, so it is refused with what is extra or missing.
//!
//! The reference is built by running migrations `1..=v` on an in-memory database; the file is
//! only read through `sqlite_master` and table-valued pragmas (its views are never queried and
//! its virtual tables never touched), on a read-only connection with `trusted_schema` off.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use rusqlite::Connection;

use crate::db::{self, DbError, SCHEMA_VERSION};

mod compare;
use compare::compare;

/// Tables SQLite itself may add (`ANALYZE`), with the definitions it gives them.
const SQLITE_OWN: [(&str, &str); 2] = [
    ("sqlite_stat1", "create table sqlite_stat1(tbl,idx,stat)"),
    (
        "sqlite_stat4",
        "create table sqlite_stat4(tbl,idx,neq,nlt,ndlt,sample)",
    ),
];
/// How many differences a message names before it counts the rest.
const NAMED: usize = 3;

/// Why a file is not a Backroom database of a version this program knows.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("its schema version {0} is not one Backroom ever wrote")]
    UnknownVersion(i64),
    #[error("it was made by a newer version of Backroom (schema {found} > {known})")]
    TooNew { found: i64, known: i64 },
    #[error("it is a SQLite database but not a Backroom one (it has none of Backroom's tables)")]
    NotBackroom,
    #[error("{}", list(.0))]
    Differs(Vec<Difference>),
    #[error("its schema cannot be read: {0}")]
    Read(#[source] rusqlite::Error),
    #[error("its schema was not compared because the file failed its check")]
    NotRead,
    /// Building the reference from the migrations failed (a bug, never the file's fault).
    #[error("Backroom cannot build its own schema to compare with: {0}")]
    Reference(#[source] Box<DbError>),
}

/// One way a file's schema differs from Backroom's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Difference {
    #[error("it has an extra {kind} `{name}`{}", on_table(.kind, .table))]
    Extra {
        kind: String,
        name: String,
        table: String,
    },
    #[error("{kind} `{name}` is missing")]
    Missing { kind: String, name: String },
    #[error("it has an extra column `{column}` in `{table}`")]
    ExtraColumn { table: String, column: String },
    #[error("column `{column}` in `{table}` is missing")]
    MissingColumn { table: String, column: String },
    #[error("column `{column}` in `{table}` is {found}, not {expected}")]
    ColumnChanged {
        table: String,
        column: String,
        found: String,
        expected: String,
    },
    #[error("the columns of `{table}` are in another order")]
    ColumnOrder { table: String },
    #[error("the {kind} `{name}` is defined differently")]
    Changed { kind: String, name: String },
}

fn on_table(kind: &str, table: &str) -> String {
    match kind {
        "trigger" | "index" => format!(" on table `{table}`"),
        _ => String::new(),
    }
}

fn list(differences: &[Difference]) -> String {
    let mut text: Vec<String> = differences
        .iter()
        .take(NAMED)
        .map(ToString::to_string)
        .collect();
    if differences.len() > NAMED {
        text.push(format!(
            "and {} more differences",
            differences.len() - NAMED
        ));
    }
    text.join("; ")
}

/// A column as `pragma_table_xinfo` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    name: String,
    decl_type: String,
    notnull: bool,
    default: Option<String>,
    pk: i64,
    hidden: i64,
}

impl Column {
    fn describe(&self) -> String {
        let mut text = if self.decl_type.is_empty() {
            "untyped".to_string()
        } else {
            self.decl_type.clone()
        };
        if self.notnull {
            text.push_str(" NOT NULL");
        }
        if let Some(d) = &self.default {
            text.push_str(&format!(" DEFAULT {d}"));
        }
        if self.pk > 0 {
            text.push_str(" PRIMARY KEY");
        }
        if self.hidden != 0 {
            text.push_str(" (hidden or generated)");
        }
        text
    }
}

/// One row of `sqlite_master`, its SQL normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Object {
    table: String,
    sql: Option<String>,
}

/// An index's `pragma_index_list` row (unique, origin, partial) and its `pragma_index_xinfo`.
type IndexShape = (
    (i64, String, i64),
    Vec<(i64, i64, Option<String>, i64, String, i64)>,
);

#[derive(Debug, Default, PartialEq, Eq)]
struct Schema {
    /// By (type, name).
    objects: BTreeMap<(String, String), Object>,
    columns: BTreeMap<String, Vec<Column>>,
    indexes: BTreeMap<String, IndexShape>,
}

/// The one check: `Ok(version)` when the schema of the database open on `conn` is exactly
/// what this program's migrations make for its version. `conn` should be read-only.
pub fn check(conn: &Connection) -> Result<i64, SchemaError> {
    conn.pragma_update(None, "trusted_schema", false)
        .map_err(SchemaError::Read)?;
    let version = db::user_version(conn).map_err(SchemaError::Read)?;
    if version > SCHEMA_VERSION {
        return Err(SchemaError::TooNew {
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    let objects = read_objects(conn).map_err(SchemaError::Read)?;
    let shared_tables = |s: &BTreeMap<(String, String), Object>| -> BTreeSet<String> {
        s.keys()
            .filter(|(kind, _)| kind == "table")
            .map(|(_, n)| n.clone())
            .collect()
    };
    if shared_tables(&objects)
        .intersection(&shared_tables(&reference(SCHEMA_VERSION)?.objects))
        .next()
        .is_none()
    {
        // Said first: a database of something else usually has version 0 too.
        return Err(SchemaError::NotBackroom);
    }
    let reference = reference(version)?;
    let found = read_details(conn, objects, &reference.objects).map_err(SchemaError::Read)?;
    let differences = compare(reference, &found);
    if differences.is_empty() {
        Ok(version)
    } else {
        Err(SchemaError::Differs(differences))
    }
}

/// Migrations `1..=version` on an in-memory database, read like a file (built once each).
fn reference(version: i64) -> Result<&'static Schema, SchemaError> {
    static REFERENCES: OnceLock<Vec<Schema>> = OnceLock::new();
    let index = usize::try_from(version)
        .ok()
        .filter(|v| *v >= 1)
        .ok_or(SchemaError::UnknownVersion(version))?;
    if REFERENCES.get().is_none() {
        let built = (1..=SCHEMA_VERSION)
            .map(build_reference)
            .collect::<Result<Vec<_>, _>>()?;
        // Another thread may have set it first; both built the same thing.
        let _ = REFERENCES.set(built);
    }
    REFERENCES
        .get()
        .and_then(|all| all.get(index - 1))
        .ok_or(SchemaError::UnknownVersion(version))
}

fn build_reference(version: i64) -> Result<Schema, SchemaError> {
    let mut conn = Connection::open_in_memory().map_err(|e| reference_error(e.into()))?;
    db::migrations::migrate_to(&mut conn, std::path::Path::new(":memory:"), version)
        .map_err(reference_error)?;
    let objects = read_objects(&conn).map_err(|e| reference_error(e.into()))?;
    let wanted = objects.clone();
    read_details(&conn, objects, &wanted).map_err(|e| reference_error(e.into()))
}

fn reference_error(e: DbError) -> SchemaError {
    SchemaError::Reference(Box::new(e))
}

fn read_objects(conn: &Connection) -> rusqlite::Result<BTreeMap<(String, String), Object>> {
    let mut stmt = conn.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
        ))
    })?;
    let mut objects = BTreeMap::new();
    for row in rows {
        let (kind, name, table, sql) = row?;
        let sql = sql.as_deref().map(normalize);
        if kind == "table"
            && SQLITE_OWN
                .iter()
                .any(|(n, s)| *n == name && sql.as_deref() == Some(*s))
        {
            continue;
        }
        objects.insert((kind, name), Object { table, sql });
    }
    Ok(objects)
}

/// Columns and index shapes of the objects also in `wanted` (only plain tables and their
/// indexes are asked about: nothing of the file's own making is run).
fn read_details(
    conn: &Connection,
    objects: BTreeMap<(String, String), Object>,
    wanted: &BTreeMap<(String, String), Object>,
) -> rusqlite::Result<Schema> {
    let mut schema = Schema::default();
    for ((kind, name), object) in &objects {
        if !wanted.contains_key(&(kind.clone(), name.clone())) {
            continue;
        }
        let plain_table = |sql: &Option<String>| {
            sql.as_deref()
                .is_some_and(|s| s.starts_with("create table "))
        };
        if kind == "table" && plain_table(&object.sql) {
            schema
                .columns
                .insert(name.clone(), read_columns(conn, name)?);
        }
        let on_plain_table = objects
            .get(&("table".to_string(), object.table.clone()))
            .is_some_and(|t| plain_table(&t.sql));
        if kind == "index" && on_plain_table {
            schema
                .indexes
                .insert(name.clone(), read_index(conn, &object.table, name)?);
        }
    }
    schema.objects = objects;
    Ok(schema)
}

fn read_columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<Column>> {
    conn.prepare(
        "SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1)",
    )?
    .query_map([table], |r| {
        Ok(Column {
            name: r.get(0)?,
            decl_type: r.get::<_, String>(1)?.to_uppercase(),
            notnull: r.get::<_, i64>(2)? != 0,
            default: r.get(3)?,
            pk: r.get(4)?,
            hidden: r.get(5)?,
        })
    })?
    .collect()
}

fn read_index(conn: &Connection, table: &str, index: &str) -> rusqlite::Result<IndexShape> {
    let listed = conn
        .prepare("SELECT \"unique\", origin, partial FROM pragma_index_list(?1) WHERE name = ?2")?
        .query_map([table, index], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .next()
        .transpose()?
        .unwrap_or((-1, String::new(), -1));
    let columns = conn
        .prepare("SELECT seqno, cid, name, \"desc\", coll, \"key\" FROM pragma_index_xinfo(?1)")?
        .query_map([index], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok((listed, columns))
}

/// SQL with runs of white space outside quotes made one space (none next to brackets and
/// commas) and lower case outside quotes: formatting never makes two schemas differ.
pub(crate) fn normalize(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut pending_space = false;
    for c in sql.chars() {
        if let Some(q) = quote {
            out.push(c);
            if c == q {
                quote = None;
            }
            continue;
        }
        if c.is_whitespace() {
            pending_space = true;
            continue;
        }
        let tight = |x: char| matches!(x, '(' | ')' | ',' | ';');
        if pending_space && !out.is_empty() && !tight(c) && !out.ends_with(tight) {
            out.push(' ');
        }
        pending_space = false;
        match c {
            '\'' | '"' | '`' => quote = Some(c),
            '[' => quote = Some(']'),
            _ => {}
        }
        out.extend(c.to_lowercase());
    }
    out
}
