//! Looking inside a backup and bringing back single records (issue 15), without rolling back
//! the day: a backup's products, customers and sales read from the file itself (opened
//! read-only and immutable; a backup of an older schema is migrated in a temp copy, never in
//! place), compared with the live data record by record, and chosen records put back as a
//! normal change to the live data. No web types here.

mod bring_back;
mod diff;
mod recheck;
mod snapshot;

pub use bring_back::{BringBack, Brought, StockChoice, bring_back};
pub use diff::{Changed, Diff, Record, diff, fields_of, lost_sales};
pub use snapshot::Snapshot;

use crate::backup::BackupError;
use crate::business::BusinessError;
use crate::db::DbError;

/// The tables a person can look at inside a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    Products,
    Customers,
    Sales,
}

impl Table {
    pub fn parse(text: &str) -> Option<Table> {
        match text {
            "products" => Some(Table::Products),
            "customers" => Some(Table::Customers),
            "sales" => Some(Table::Sales),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Table::Products => "products",
            Table::Customers => "customers",
            Table::Sales => "sales",
        }
    }

    /// "product", "customer", "sale": one record of it, in words.
    pub fn one(self) -> &'static str {
        match self {
            Table::Products => "product",
            Table::Customers => "customer",
            Table::Sales => "sale",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    #[error(transparent)]
    Backup(#[from] BackupError),
    #[error(
        "the backup {0} failed its last check, so its records are not shown; verify it on its page"
    )]
    Unfit(String),
    #[error("cannot read the backup {name}: {source}")]
    Open {
        name: String,
        #[source]
        source: DbError,
    },
    #[error("the backup {name} is not a Backroom backup, so its records are not shown: {source}")]
    Foreign {
        name: String,
        #[source]
        source: crate::backup::SchemaError,
    },
    #[error("cannot make a working copy of the backup {name}: {}", crate::fsutil::plain_io(.source))]
    Copy {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Business(#[from] BusinessError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("SQLite error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("sales cannot be brought back one by one; restore the backup to get them back")]
    SalesStayInTheBackup,
    #[error("nothing was chosen to bring back")]
    NothingChosen,
    #[error(
        "{table} #{id} is the same in the backup and now (or not in the backup): nothing to bring back"
    )]
    NotDifferent { table: &'static str, id: i64 },
    #[error(
        "the SKU {sku} of product #{id} in the backup is now used by product #{other} ({other_name}); change one of them first. Nothing was brought back."
    )]
    SkuTaken {
        sku: String,
        id: i64,
        other: i64,
        other_name: String,
    },
    #[error(
        "{table} #{id} was changed since you looked: you saw {seen}; it is now {now}. Nothing was brought back; look at it again and choose."
    )]
    ChangedMeanwhile {
        table: &'static str,
        id: i64,
        seen: String,
        now: String,
    },
    #[error(
        "product #{id} from the backup does not pass today's rules: {problem}. Nothing was brought back."
    )]
    Invalid { id: i64, problem: String },
}
