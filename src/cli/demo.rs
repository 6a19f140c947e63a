//! `backroom demo-data`: a shop to try things with.

use anyhow::{Context, bail};

use super::{DemoArgs, open_db};
use crate::backup::{BackupEngine, CreateRequest};

pub(super) fn demo_command(
    data_dir: Option<&std::path::Path>,
    args: &DemoArgs,
) -> anyhow::Result<()> {
    let (paths, db) = open_db(data_dir)?;
    let exists: bool = db.with_conn(|c| {
        c.query_row(
            "SELECT EXISTS (SELECT 1 FROM products WHERE sku LIKE 'DEMO-%')",
            [],
            |r| r.get(0),
        )
        .map_err(crate::db::DbError::from)
    })?;
    if exists {
        bail!("the demo data is already there");
    }
    let owner: Option<i64> = db.with_conn(|c| {
        c.query_row(
            "SELECT min(id) FROM users WHERE role = 'super-admin'",
            [],
            |r| r.get(0),
        )
        .map_err(crate::db::DbError::from)
    })?;
    db.with_conn(|c| crate::business::demo::fill(c, owner, args.products, args.days))?;
    println!(
        "Added {} demo products, their customers and {} days of sales.",
        args.products, args.days
    );
    // Until backed up, the sample data is in no backup.
    let settings = crate::config::Settings::load(&paths.settings)?;
    let engine = BackupEngine::new(
        paths,
        db.clone(),
        std::sync::Arc::new(std::sync::RwLock::new(settings)),
    );
    let request = CreateRequest::manual("after adding the sample data", "command line");
    let made = engine.create_when_free(&request, std::time::Duration::from_secs(120));
    db.close()?;
    let entry = made.context("the sample data was added, but backing it up failed")?;
    println!("Backed it up as {}.", entry.file_name);
    Ok(())
}
