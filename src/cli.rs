//! The command line: `backroom [serve]`, `user ...`, `backup ...`, `restore ...`,
//! `demo-data`. Parsing is clap's; each command calls into the library.

use std::io::{BufRead, IsTerminal, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use crate::auth::store::AuthStore;
use crate::auth::{Role, login, throttle, users};
use crate::backup::restore::{OfflineTarget, RestoreOptions, restore_offline};
use crate::backup::{BackupEngine, BackupState, CreateRequest};
use crate::config::{Paths, Settings};
use crate::db::{Db, DbOptions};
use crate::server::{self, ServeOptions};
use crate::{fsutil, timefmt};

#[derive(Debug, Parser)]
#[command(
    name = "backroom",
    version = crate::VERSION_LINE,
    about = "Backroom: a back-office dashboard for small businesses, with backups you can trust.",
    long_about = "Backroom serves a back-office dashboard on http://localhost:5000 and keeps the data in \
business_data.db next to the program, with verified backups in database_backups/.\n\n\
Run it without a command to start the server.",
    after_help = "Examples:\n  backroom                         start the server on http://localhost:5000\n  backroom --port 5001             start it on another port\n  backroom backup create -d \"before stock-take\"\n  backroom restore --latest        (with the server stopped) put back the newest good backup"
)]
pub struct Cli {
    /// Folder holding business_data.db and database_backups/ [default: the folder of the program]
    #[arg(long, global = true, env = "BACKROOM_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Port to listen on
    #[arg(long, global = true, env = "BACKROOM_PORT", default_value_t = 5000)]
    pub port: u16,

    /// Address to listen on (anything but 127.0.0.1 makes Backroom reachable from the network)
    #[arg(
        long,
        global = true,
        env = "BACKROOM_BIND",
        default_value = "127.0.0.1"
    )]
    pub bind: IpAddr,

    /// Seconds between automatic backups, overriding the settings (for testing).
    #[arg(
        long,
        global = true,
        env = "BACKROOM_BACKUP_INTERVAL_SECS",
        hide = true
    )]
    pub backup_interval_secs: Option<u64>,

    /// Windows: run without a console window (the installer's logon task uses this, so no
    /// window is left that closing would stop Backroom).
    #[arg(long, global = true, hide = true)]
    pub no_window: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the server (the default when no command is given)
    Serve,
    /// Manage the people who can log in
    #[command(subcommand)]
    User(UserCommand),
    /// Make, list and check backups (works while the server runs, too)
    #[command(subcommand)]
    Backup(BackupCommand),
    /// Put a backup back in place (only while the server is stopped)
    Restore(RestoreArgs),
    /// Fill the shop with realistic sample data (products, customers, a year of sales)
    DemoData(DemoArgs),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is read from standard input (or asked for without echo)
    Add {
        /// User name (letters, digits, . _ - @)
        name: String,
        /// What the user may do
        #[arg(long, value_parser = ["staff", "admin", "super-admin"], default_value = "staff")]
        role: String,
    },
    /// List users and their roles
    List,
    /// Set a new password for a user (read from standard input or asked for); their sessions
    /// end and failed-login delays are cleared
    Passwd {
        /// User name
        name: String,
    },
    /// Clear the failed-login delays of a user (from every address)
    Unlock {
        /// User name
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Make a verified backup now
    Create {
        /// A few words saying why (kept in the backup's record; part of the file name)
        #[arg(long, short = 'd', default_value = "")]
        description: String,
    },
    /// List backups, newest first
    List,
    /// Check backups: SHA-256 against the record and SQLite's quick_check
    Verify {
        /// The backup to check (see `backroom backup list`)
        #[arg(conflicts_with = "all", required_unless_present = "all")]
        name: Option<String>,
        /// Check every backup
        #[arg(long)]
        all: bool,
        /// Run the full integrity_check instead of quick_check (slower)
        #[arg(long)]
        full: bool,
    },
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup to restore (see `backroom backup list`)
    #[arg(conflicts_with = "latest", required_unless_present = "latest")]
    pub name: Option<String>,
    /// Restore the newest backup that passes verification
    #[arg(long)]
    pub latest: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How many products to create
    #[arg(long, default_value_t = 300)]
    pub products: usize,
    /// How many days of sales, ending today
    #[arg(long, default_value_t = 365)]
    pub days: u32,
}

/// An error and its causes on one line, leaving out causes already quoted by the message
/// above them (thiserror messages often include their source).
pub fn describe_error(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// After an error, a console window that only this program uses (Windows, started by a
/// double-click) would close at once with the message: wait for Enter first.
pub fn keep_window_open() {
    if crate::platform::owns_console_window() {
        eprintln!("\nPress Enter to close this window.");
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let command = cli.command.unwrap_or(Command::Serve);
    match command {
        Command::Serve => {
            if cli.no_window {
                crate::platform::detach_console();
            }
            let mut opts = ServeOptions::new(cli.data_dir, cli.bind, cli.port);
            opts.interval_override = cli.backup_interval_secs.map(Duration::from_secs);
            server::run(opts)?;
            Ok(())
        }
        Command::User(cmd) => user_command(cli.data_dir.as_deref(), cmd),
        Command::Backup(cmd) => backup_command(cli.data_dir.as_deref(), cmd),
        Command::Restore(args) => restore_command(cli.data_dir.as_deref(), &args),
        Command::DemoData(args) => demo_command(cli.data_dir.as_deref(), &args),
    }
}

/// Opens the database for a command that needs the current schema: a database from an
/// older version is backed up first, then migrated.
fn open_db(data_dir: Option<&std::path::Path>) -> anyhow::Result<(Paths, Db)> {
    let (paths, db) = open_db_as_is(data_dir)?;
    let found = db.schema_version()?;
    if found > 0 && found < crate::db::SCHEMA_VERSION {
        let settings = Settings::load(&paths.settings)?;
        let engine = BackupEngine::new(
            paths.clone(),
            db.clone(),
            std::sync::Arc::new(std::sync::RwLock::new(settings)),
        );
        server::backup_before_upgrade(&engine, found)
            .context("backing up before upgrading the data")?;
    }
    db.migrate()?;
    Ok((paths, db))
}

/// Opens the database without changing it (for making a backup).
fn open_db_as_is(data_dir: Option<&std::path::Path>) -> anyhow::Result<(Paths, Db)> {
    let paths = Paths::resolve(data_dir)?;
    let db = Db::open_unmigrated(&paths.db, DbOptions::CLI).with_context(|| {
        format!(
            "cannot open the database; with the server stopped, `{}` or {} can recover it",
            crate::platform::RESTORE_LATEST_COMMAND,
            paths
                .backups
                .join(crate::backup::recovery::RECOVERY_FILE)
                .display()
        )
    })?;
    Ok((paths, db))
}

/// Reads a new password: twice without echo on a terminal, else the first line of stdin.
fn read_new_password() -> anyhow::Result<String> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Password again: ")?;
        if first != second {
            bail!("the two passwords are different");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    crate::auth::validate_password(&password)?;
    Ok(password)
}

fn find_user(db: &Db, name: &str) -> anyhow::Result<crate::auth::User> {
    db.with_conn(|c| users::find_by_name(c, name))?
        .with_context(|| format!("no user is named {name:?}"))
}

fn user_command(data_dir: Option<&std::path::Path>, cmd: UserCommand) -> anyhow::Result<()> {
    let (paths, db) = open_db(data_dir)?;
    // Sessions and login counters live beside the data, outside the business database.
    let store = AuthStore::open(&paths.data_dir)?;
    match cmd {
        UserCommand::Add { name, role } => {
            crate::auth::validate_username(&name)?;
            let role = Role::parse(&role).context("unknown role")?;
            let password_text = read_new_password()?;
            let user = login::add_user(&db, &name, &password_text, role)?;
            println!("Added {} ({}).", user.username, user.role);
        }
        UserCommand::List => {
            let list = db.with_conn(|c| users::list(c))?;
            if list.is_empty() {
                println!(
                    "No users yet. Start the server and open it in a browser to create the first one."
                );
            }
            for u in list {
                println!(
                    "{:<24} {:<12} {}",
                    u.username,
                    u.role.as_str(),
                    if u.active { "active" } else { "disabled" }
                );
            }
        }
        UserCommand::Passwd { name } => {
            let user = find_user(&db, &name)?;
            let password_text = read_new_password()?;
            login::set_password(&db, &store, user.id, &password_text)?;
            println!(
                "Password changed for {}; their sessions ended and failed-login delays were cleared.",
                user.username
            );
        }
        UserCommand::Unlock { name } => {
            let user = find_user(&db, &name)?;
            let cleared = throttle::unlock(&store, &user.username)?;
            println!(
                "Failed-login delays cleared for {} ({cleared} address(es)).",
                user.username
            );
        }
    }
    // Dropped, not closed with a checkpoint: the server may be running and using the file.
    drop(db);
    Ok(())
}

fn backup_command(data_dir: Option<&std::path::Path>, cmd: BackupCommand) -> anyhow::Result<()> {
    let paths = Paths::resolve(data_dir)?;
    let settings = std::sync::Arc::new(std::sync::RwLock::new(Settings::load(&paths.settings)?));
    if let BackupCommand::Create { description } = &cmd {
        let (paths, db) = open_db_as_is(data_dir)?;
        let engine = BackupEngine::new(paths, db.clone(), settings);
        let result = create_with_progress(&engine, description);
        db.close()?;
        return result;
    }
    // Listing and checking only read the backup folder: the live database stays closed.
    let engine = BackupEngine::folder_only(paths, settings);
    match cmd {
        BackupCommand::Create { .. } => Ok(()),
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

fn restore_command(data_dir: Option<&std::path::Path>, args: &RestoreArgs) -> anyhow::Result<()> {
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

fn demo_command(data_dir: Option<&std::path::Path>, args: &DemoArgs) -> anyhow::Result<()> {
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
