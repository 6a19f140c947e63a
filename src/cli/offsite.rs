//! `backroom offsite ...`: set up targets, list their copies, send now, verify, drill, print
//! the emergency kit, remove a target. Works while the server runs (they take turns).

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};

use super::{AddTarget, OffsiteCommand};
use crate::backup::BackupFolder;
use crate::config::{Paths, Settings};
use crate::offsite::pass::{PassReport, Which};
use crate::offsite::settings::{Keep, Location, S3Credentials, Target};
use crate::offsite::{KeyOutcome, NewTarget, Offsite, OffsiteOptions};
use crate::{fsutil, timefmt};

pub(super) fn engine(paths: &Paths) -> anyhow::Result<Offsite> {
    let settings = Settings::load(&paths.settings)?;
    let backups = BackupFolder::new(paths.clone(), Arc::new(std::sync::RwLock::new(settings)));
    Ok(Offsite::new(
        paths.clone(),
        backups,
        crate::clock::system(),
        OffsiteOptions::default(),
    ))
}

/// A value from the environment, else asked for (without echo for secrets).
fn from_env_or_ask(var: &str, prompt: &str, secret: bool) -> anyhow::Result<String> {
    if let Ok(v) = std::env::var(var)
        && !v.trim().is_empty()
    {
        return Ok(v);
    }
    if !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let line = line.trim().to_string();
        if line.is_empty() {
            bail!("set {var} (or type it when asked)");
        }
        return Ok(line);
    }
    if secret {
        Ok(rpassword::prompt_password(prompt)?)
    } else {
        eprint!("{prompt}");
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim().to_string())
    }
}

fn print_report(report: &PassReport) {
    for (target, m) in &report.sent {
        println!(
            "sent    {target}: {} ({})",
            m.copy,
            fsutil::human_size(m.object_size)
        );
    }
    for (target, copy) in &report.removed {
        println!("removed {target}: {copy} (retention)");
    }
    for (target, d) in &report.drills {
        println!(
            "drill   {target}: {} with {}: {}",
            if d.ok { "passed" } else { "FAILED" },
            d.copy,
            d.message
        );
    }
    for (target, why) in &report.skipped {
        println!("skipped {target}: {why}");
    }
    for (target, e) in &report.failed {
        println!("FAILED  {target}: {e}");
    }
}

/// Runs `work` on a thread while showing what it does (bar on a terminal, lines otherwise).
pub(super) fn with_progress<T: Send>(offsite: &Offsite, work: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        let worker = scope.spawn(work);
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(100);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{msg:40} [{bar:30}] {pos:>3}%")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar
        });
        let mut last = None;
        while !worker.is_finished() {
            if let Some((activity, percent)) = offsite.activity() {
                let line = format!("{}: {}", activity.target, activity.what);
                match &bar {
                    Some(bar) => {
                        bar.set_message(line);
                        bar.set_position(u64::from(percent));
                    }
                    None if last.as_ref() != Some(&line) => {
                        eprintln!("{line}");
                        last = Some(line);
                    }
                    None => {}
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if let Some(bar) = &bar {
            bar.finish_and_clear();
        }
        match worker.join() {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// `port`: the one the server is started with, for the kit's "open http://localhost:PORT/".
pub(super) fn offsite_command(
    data_dir: Option<&std::path::Path>,
    port: u16,
    cmd: OffsiteCommand,
) -> anyhow::Result<()> {
    let paths = Paths::resolve(data_dir)?;
    let offsite = engine(&paths)?;
    match cmd {
        OffsiteCommand::Add(add) => add_target(&offsite, add)?,
        OffsiteCommand::List { name } => {
            let settings = offsite.settings()?;
            if settings.targets.is_empty() {
                println!("No off-site target yet: `backroom offsite add NAME --folder PATH`.");
            }
            for target in settings
                .targets
                .iter()
                .filter(|t| name.as_deref().is_none_or(|n| n == t.name))
            {
                println!(
                    "{} ({}){}",
                    target.name,
                    target.describe(),
                    if target.enabled { "" } else { " [off]" }
                );
                match offsite.target(&target.name).and_then(|t| t.copies()) {
                    Ok(copies) if copies.is_empty() => println!("  no copies yet"),
                    Ok(copies) => {
                        let several = copies.iter().any(|m| m.sender() != copies[0].sender());
                        for m in copies.iter() {
                            println!(
                                "  {:<48} {:<10} {:<17} {:>9}{}",
                                m.copy,
                                m.kind.label(),
                                timefmt::local(m.created_at),
                                fsutil::human_size(m.object_size),
                                if several {
                                    format!("  from {}", m.sender())
                                } else {
                                    String::new()
                                }
                            );
                        }
                    }
                    Err(e) => println!("  cannot list: {}", crate::error_chain::chain(&e)),
                }
            }
            if let Some(name) = name
                && settings.target(&name).is_none()
            {
                bail!("no off-site target is named {name:?}");
            }
        }
        OffsiteCommand::Push { backup } => {
            let report = with_progress(&offsite, || match &backup {
                Some(name) => offsite.push_backup(name),
                None => offsite.run_pass(Which::All, true),
            })?;
            print_report(&report);
            if report.sent.is_empty() && report.failed.is_empty() && report.skipped.is_empty() {
                println!("Nothing to send: every target has every backup.");
            }
            if !report.failed.is_empty() {
                bail!("{} target(s) failed", report.failed.len());
            }
        }
        OffsiteCommand::Verify { name } => {
            let mut bad = 0;
            for target in targets_named(&offsite, name.as_deref())? {
                for (copy, result) in offsite.target(&target)?.verify()? {
                    match result {
                        Ok(()) => println!("ok      {target}: {copy}"),
                        Err(e) => {
                            bad += 1;
                            println!("FAILED  {target}: {copy}: {e}");
                        }
                    }
                }
            }
            if bad > 0 {
                bail!("{bad} copies failed");
            }
        }
        OffsiteCommand::Drill { name } => {
            let mut failed = 0;
            for target in targets_named(&offsite, name.as_deref())? {
                let drill = with_progress(&offsite, || offsite.target(&target)?.drill_now())?;
                println!(
                    "{} {target}: {} ({}): {}",
                    if drill.ok { "passed" } else { "FAILED" },
                    drill.copy,
                    timefmt::span(i64::try_from(drill.duration_ms / 1000).unwrap_or(0)),
                    drill.message
                );
                failed += usize::from(!drill.ok);
            }
            if failed > 0 {
                bail!("{failed} drill(s) failed");
            }
        }
        OffsiteCommand::Kit => print!(
            "{}",
            offsite.kit_text(&crate::offsite::kit::default_address(port))?
        ),
        OffsiteCommand::Remove { name } => {
            offsite.target(&name)?.remove("command line")?;
            println!("Removed {name}. The copies on it were left as they are.");
        }
    }
    Ok(())
}

/// `offsite add`: checks the target (a test file written, read back, removed) and saves it.
fn add_target(offsite: &Offsite, add: AddTarget) -> anyhow::Result<()> {
    let AddTarget {
        name,
        folder,
        s3,
        key,
        create_folder,
        ..
    } = add;
    let (location, credentials) = match (folder, s3) {
        (Some(path), false) => (Location::Folder { path }, None),
        (None, true) => {
            let endpoint = add.endpoint.context("--endpoint URL is needed for --s3")?;
            let bucket = add.bucket.context("--bucket is needed for --s3")?;
            let access_key_id =
                from_env_or_ask("BACKROOM_S3_ACCESS_KEY_ID", "Access key id: ", false)?;
            let secret_access_key =
                from_env_or_ask("BACKROOM_S3_SECRET_ACCESS_KEY", "Secret access key: ", true)?;
            (
                Location::S3 {
                    endpoint,
                    region: add.region.unwrap_or_default(),
                    bucket,
                    prefix: add.prefix.unwrap_or_default(),
                    path_style: add.path_style,
                    allow_http: add.allow_http,
                },
                Some(S3Credentials {
                    access_key_id,
                    secret_access_key,
                }),
            )
        }
        _ => bail!("give either --folder PATH or --s3 (with --endpoint and --bucket)"),
    };
    let kit = key
        .map(|path: PathBuf| {
            std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read the kit {}", path.display()))
        })
        .transpose()?;
    let target = Target {
        name: name.clone(),
        location,
        enabled: true,
        keep: Keep::default(),
    };
    let described = target.describe();
    let outcome = offsite.add_target(
        NewTarget {
            target,
            credentials,
            kit,
            create_folder,
        },
        "command line",
    )?;
    println!("Added {name}: {described} (a test file was written, read back and removed).");
    match outcome {
        KeyOutcome::Generated => println!(
            "A new off-site key was made. Save the emergency kit now: `backroom offsite kit > kit.txt`, and keep it away from this computer."
        ),
        KeyOutcome::Imported => println!("The key from the emergency kit is used."),
        KeyOutcome::Existing => println!("The existing off-site key is used."),
    }
    println!("Copies are sent by the server (or now: `backroom offsite push`).");
    Ok(())
}

fn targets_named(offsite: &Offsite, name: Option<&str>) -> anyhow::Result<Vec<String>> {
    let settings = offsite.settings()?;
    match name {
        Some(n) if settings.target(n).is_none() => bail!("no off-site target is named {n:?}"),
        Some(n) => Ok(vec![n.to_string()]),
        None => Ok(settings
            .targets
            .iter()
            .filter(|t| t.enabled)
            .map(|t| t.name.clone())
            .collect()),
    }
}
