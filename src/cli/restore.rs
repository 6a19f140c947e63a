//! `backroom restore NAME | --latest`, for when the server is stopped (or will not start).

use std::io::Write;

use super::RestoreArgs;
use crate::backup::restore::{OfflineTarget, RestoreOptions, restore_offline};
use crate::config::Paths;

pub(super) fn restore_command(
    data_dir: Option<&std::path::Path>,
    args: &RestoreArgs,
) -> anyhow::Result<()> {
    let paths = Paths::resolve(data_dir)?;
    let target = match (&args.name, args.latest) {
        (Some(name), _) => OfflineTarget::Named(name.clone()),
        (None, _) => OfflineTarget::Latest,
    };
    let report = restore_offline(&paths, &target, "command line", RestoreOptions::default())?;
    for (name, reason) in &report.skipped {
        println!("skipped {name}: {reason}");
    }
    println!("Restored {} into {}", report.restored, paths.db.display());
    println!(
        "The previous database file was kept as {}",
        report.safety_backup
    );
    let _ = std::io::stdout().flush();
    Ok(())
}
