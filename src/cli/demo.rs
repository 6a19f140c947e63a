//! `backroom demo-data`: a shop to try things with.

use anyhow::bail;

use super::{DemoArgs, open_db};

pub(super) fn demo_command(
    data_dir: Option<&std::path::Path>,
    args: &DemoArgs,
) -> anyhow::Result<()> {
    let (_paths, db) = open_db(data_dir)?;
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
    db.close()?;
    println!(
        "Added {} demo products, their customers and {} days of sales.",
        args.products, args.days
    );
    Ok(())
}
