//! `backroom backup ...`: create (with a progress bar), list, verify.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::bail;

use super::{BackupCommand, open_db_as_is};
use crate::backup::{BackupEngine, BackupFolder, BackupState, CreateRequest};
use crate::config::{Paths, Settings};
use crate::{fsutil, timefmt};

pub(super) fn backup_command(
    data_dir: Option<&std::path::Path>,
    cmd: BackupCommand,
) -> anyhow::Result<()> {
    let paths = Paths::resolve(data_dir)?;
    let settings = std::sync::Arc::new(std::sync::RwLock::new(Settings::load(&paths.settings)?));
    if let BackupCommand::Create { description } = &cmd {
        let (paths, db) = open_db_as_is(data_dir)?;
        let engine = BackupEngine::new(paths, db.clone(), settings);
        let result = create_with_progress(&engine, description);
        db.close()?;
        return result;
    }
    if let BackupCommand::Upload { path, key } = &cmd {
        let entry =
            super::bring_in::bring_in(&paths, super::bring_in::Source::File(path), key.as_ref())?;
        println!(
            "Added {} ({}): checked, and counted like a manual backup. Restore it with `backroom restore {}` (with the server stopped) or from the Database Backup page.",
            entry.file_name,
            fsutil::human_size(entry.size),
            entry.file_name
        );
        return Ok(());
    }
    // Listing and checking only read the backup folder: the live database stays closed.
    let engine = BackupFolder::new(paths, settings);
    match cmd {
        BackupCommand::Create { .. } | BackupCommand::Upload { .. } => Ok(()),
        BackupCommand::List => {
            let entries = engine.list()?;
            if entries.is_empty() {
                println!("No backups yet in {}", engine.backups_dir().display());
            } else {
                println!(
                    "{:<52} {:<11} {:<17} {:>9}  CHECK",
                    "NAME", "KIND", "MADE", "SIZE"
                );
            }
            for e in entries {
                println!(
                    "{:<52} {:<11} {:<17} {:>9}  {}",
                    e.file_name,
                    e.kind().label(),
                    timefmt::local(e.created_at()),
                    fsutil::human_size(e.size),
                    e.state().label()
                );
            }
            Ok(())
        }
        BackupCommand::Verify { name, all, full } => {
            let results = if all {
                engine.verify_all(full, "command line")?
            } else {
                let name = name.unwrap_or_default();
                let entry = engine.verify(&name, full, "command line")?;
                vec![(entry.file_name.clone(), entry.state())]
            };
            let mut failed = 0;
            for (name, state) in &results {
                match state {
                    BackupState::Verified => println!("ok      {name}"),
                    other => {
                        failed += 1;
                        println!("FAILED  {name}: {}", other.reason());
                    }
                }
            }
            if failed > 0 {
                bail!("{failed} of {} backups failed verification", results.len());
            }
            Ok(())
        }
    }
}

fn create_with_progress(engine: &BackupEngine, description: &str) -> anyhow::Result<()> {
    let request = CreateRequest::manual(description, "command line");
    let worker_engine = engine.clone();
    let worker = std::thread::spawn(move || worker_engine.create(&request));
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(100);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg:10} [{bar:40}] {pos:>3}%")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar
    });
    if bar.is_none() {
        eprintln!("Backing up {} ...", engine.paths().db.display());
    }
    let mut last_line = None;
    while !worker.is_finished() {
        if let Some(p) = engine.progress() {
            match &bar {
                Some(bar) => {
                    bar.set_position(u64::from(p.percent));
                    bar.set_message(p.phase.as_str());
                }
                None if last_line != Some((p.phase, p.percent / 10)) => {
                    last_line = Some((p.phase, p.percent / 10));
                    eprintln!("{} {}%", p.phase, p.percent);
                }
                None => {}
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let entry = worker
        .join()
        .map_err(|_| anyhow::anyhow!("the backup thread panicked"))??;
    println!(
        "Backup created and verified: {} ({})",
        engine.backups_dir().join(&entry.file_name).display(),
        fsutil::human_size(entry.size)
    );
    Ok(())
}
