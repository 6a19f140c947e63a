//! `backroom restore NAME | --latest | --file PATH | --offsite TARGET (--latest | COPY)`, for
//! when the server is stopped (or will not start), and for a fresh folder on a new computer.

use std::io::Write;

use anyhow::Context;

use super::RestoreArgs;
use super::bring_in::{Source, bring_in};
use crate::backup::restore::{OfflineTarget, RestoreOptions, restore_offline};
use crate::config::Paths;

pub(super) fn restore_command(
    data_dir: Option<&std::path::Path>,
    args: &RestoreArgs,
) -> anyhow::Result<()> {
    let paths = Paths::resolve(data_dir)?;
    let source = match (&args.file, &args.offsite) {
        (Some(path), _) => Some(Source::File(path)),
        (None, Some(target)) => Some(Source::Offsite {
            target,
            copy: args.name.as_deref().filter(|_| !args.latest),
        }),
        (None, None) => None,
    };
    let from_elsewhere = source.is_some();
    let target = match (source, &args.name) {
        (Some(source), _) => {
            // Refuse early when the server runs: the file would be added but not restored.
            ensure_stopped(&paths)?;
            let entry = bring_in(&paths, source, args.key.as_ref())?;
            println!("Added {} to the backups (checked).", entry.file_name);
            OfflineTarget::Named(entry.file_name)
        }
        (None, Some(name)) => OfflineTarget::Named(name.clone()),
        (None, None) => OfflineTarget::Latest,
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
    if from_elsewhere {
        // What was brought in is not a regular backup: back the data up as one.
        let settings = crate::config::Settings::load(&paths.settings)?;
        let entry =
            crate::backup::restore::backup_after_bringing_in(&paths, settings, "command line")
                .context(
                    "the data is restored, but backing it up failed; run `backroom backup create`",
                )?;
        println!("Backed it up as {}.", entry.file_name);
    }
    let _ = std::io::stdout().flush();
    Ok(())
}

fn ensure_stopped(paths: &Paths) -> anyhow::Result<()> {
    let lock = crate::fsutil::FileLock::try_acquire(&paths.server_lock)?;
    if lock.is_none() {
        return Err(crate::backup::BackupError::ServerRunning.into());
    }
    Ok(())
}
