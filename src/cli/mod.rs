//! The command line: `backroom [serve]`, `user ...`, `backup ...`, `restore ...`,
//! `demo-data`. Parsing is clap's; each command calls into the library.

mod alerts;
mod backups;
mod bring_in;
mod demo;
mod offsite;
mod restore;
mod users;

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::backup::BackupEngine;
use crate::config::{Paths, Settings};
use crate::db::{Db, DbOptions};
use crate::server::{self, ServeOptions};

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

    /// Another name browsers use for this computer (with --bind), e.g. shop.lan; repeatable
    #[arg(long, global = true, env = "BACKROOM_HOST_NAME", value_name = "NAME")]
    pub host_name: Vec<String>,

    /// Seconds between automatic backups, overriding the settings (for testing).
    #[arg(
        long,
        global = true,
        env = "BACKROOM_BACKUP_INTERVAL_SECS",
        hide = true
    )]
    pub backup_interval_secs: Option<u64>,

    /// Milliseconds between off-site rounds, overriding the default (for testing).
    #[arg(long, global = true, env = "BACKROOM_OFFSITE_POLL_MS", hide = true)]
    pub offsite_poll_ms: Option<u64>,

    /// Milliseconds before the first retry after an off-site failure (for testing).
    #[arg(long, global = true, env = "BACKROOM_OFFSITE_RETRY_MS", hide = true)]
    pub offsite_retry_ms: Option<u64>,

    /// Windows: run without a console window (the installer's logon task uses this, so no
    /// window is left that closing would stop Backroom).
    #[arg(long, global = true, hide = true)]
    pub no_window: bool,

    /// When business_data.db is missing although backups exist: start over with an empty
    /// shop instead of the page that brings the data back (the backups are kept)
    #[arg(long, global = true)]
    pub new_empty_shop: bool,

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
    /// Encrypted copies of every backup away from this computer (folders, S3-compatible storage)
    #[command(subcommand)]
    Offsite(OffsiteCommand),
    /// Fill the shop with realistic sample data (products, customers, a year of sales)
    DemoData(DemoArgs),
    /// Be told when something is wrong: e-mail, webhooks (ntfy, Gotify, Slack) and heartbeats
    #[command(subcommand)]
    Alerts(AlertsCommand),
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Add a channel: --email with --smtp, or --webhook, or --heartbeat
    #[command(
        after_help = "Examples:\n  backroom alerts add owner --email owner@example.com --smtp smtp.example.com:587 --user shop@example.com\n  backroom alerts add phone --webhook 'https://ntfy.sh/corner-shop-7f3k?tpl=yes&t={{.title}}&m={{.message}}'\n  backroom alerts add watchdog --heartbeat https://hc-ping.com/your-uuid\n\nThe mail server password is read from standard input (or asked for)."
    )]
    Add {
        /// A short name (lower-case letters, digits, - _)
        name: String,
        /// Send e-mail to this address
        #[arg(long, value_name = "ADDRESS", conflicts_with_all = ["webhook", "heartbeat"], requires = "smtp")]
        email: Option<String>,
        /// The mail server, HOST:PORT
        #[arg(long, value_name = "HOST:PORT", requires = "email")]
        smtp: Option<String>,
        /// tls (usually port 465), starttls (usually 587) or none (a relay on your own network)
        #[arg(long, value_parser = ["tls", "starttls", "none"], default_value = "starttls", requires = "email")]
        tls: String,
        /// The mail server's user name (the password is read from standard input)
        #[arg(long, requires = "email")]
        user: Option<String>,
        /// The sender's address [default: the --email address]
        #[arg(long, value_name = "ADDRESS", requires = "email")]
        from: Option<String>,
        /// POST a JSON message to this address (ntfy, Gotify, Slack-style, your own)
        #[arg(long, value_name = "URL", conflicts_with = "heartbeat")]
        webhook: Option<String>,
        /// Call this address after every good backup and off-site round, URL/fail after a failure
        #[arg(long, value_name = "URL")]
        heartbeat: Option<String>,
    },
    /// The channels and whether alerts reach them
    List,
    /// Send a test message now (to one channel, or all)
    Test { name: Option<String> },
    /// Forget a channel (and its secret)
    Remove { name: String },
}

#[derive(Debug, Subcommand)]
pub enum OffsiteCommand {
    /// Add a target (a test file is written, read back and removed first)
    #[command(
        after_help = "Examples:\n  backroom offsite add usb --folder /media/usb/backroom\n  backroom offsite add b2 --s3 --endpoint https://s3.eu-central-003.backblazeb2.com --region eu-central-003 --bucket shop\n\nThe S3 access key id and secret come from BACKROOM_S3_ACCESS_KEY_ID and BACKROOM_S3_SECRET_ACCESS_KEY, or are asked for."
    )]
    Add(AddTarget),
    /// The copies on the target(s), newest first
    List { name: Option<String> },
    /// Send now (default: everything pending); waits until done
    Push {
        /// Only this backup (see `backroom backup list`)
        backup: Option<String>,
    },
    /// Check that every copy on the target(s) is there, whole
    Verify { name: Option<String> },
    /// Restore drill: download the newest copy, decrypt, check it
    Drill { name: Option<String> },
    /// Print the emergency kit (with its AGE-SECRET-KEY-1... line)
    Kit,
    /// Forget a target (nothing on it is deleted)
    Remove { name: String },
}

// `offsite add`: what the target is and where it is.
#[derive(Debug, Args)]
pub struct AddTarget {
    /// A short name (lower-case letters, digits, - _)
    pub name: String,
    /// A folder: USB drive, network share, synced Dropbox/OneDrive folder
    #[arg(long, conflicts_with = "s3", value_name = "PATH")]
    pub folder: Option<PathBuf>,
    /// S3-compatible storage (AWS S3, B2, R2, MinIO, Garage, Wasabi)
    #[arg(long)]
    pub s3: bool,
    #[arg(long, value_name = "URL", requires = "s3")]
    pub endpoint: Option<String>,
    #[arg(long, requires = "s3")]
    pub region: Option<String>,
    #[arg(long, requires = "s3")]
    pub bucket: Option<String>,
    /// A folder inside the bucket
    #[arg(long, requires = "s3")]
    pub prefix: Option<String>,
    /// Path-style addresses (MinIO, Garage, most self-hosted stores)
    #[arg(long, requires = "s3")]
    pub path_style: bool,
    /// Allow a plain http:// endpoint (only for a store on your own network)
    #[arg(long, requires = "s3")]
    pub allow_http: bool,
    /// Keep using the key of an existing emergency kit instead of making a new one
    #[arg(long, value_name = "KITFILE")]
    pub key: Option<PathBuf>,
    /// Make the --folder when it does not exist (otherwise refused: is the stick plugged in?)
    #[arg(long, requires = "folder")]
    pub create_folder: bool,
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
    /// Add a backup file from elsewhere (a .db backup, or an off-site .db.zst.age copy) to
    /// the backups as uploaded_…; it is checked first and can then be restored
    Upload {
        /// The file
        path: PathBuf,
        /// The emergency kit, for a .db.zst.age copy made with another computer's key
        #[arg(long, value_name = "KITFILE")]
        key: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  backroom restore --latest\n  backroom restore manual_20260301_120000.db\n  backroom restore --file /media/usb/shop.db\n  backroom restore --file copy.db.zst.age --key backroom-emergency-kit.txt\n  backroom restore --offsite usb --latest\n\nOn a fresh folder on a new computer, add the target first:\n  backroom offsite add usb --folder /media/usb/backroom --key backroom-emergency-kit.txt"
)]
pub struct RestoreArgs {
    /// The backup to restore (see `backroom backup list`); with --offsite, the copy
    /// (see `backroom offsite list`)
    #[arg(conflicts_with_all = ["latest", "file"], required_unless_present_any = ["latest", "file"])]
    pub name: Option<String>,
    /// Restore the newest backup that passes verification (with --offsite: the newest copy)
    #[arg(long)]
    pub latest: bool,
    /// Restore a backup file from elsewhere: a .db backup or a .db.zst.age copy
    #[arg(long, value_name = "PATH", conflicts_with_all = ["latest", "offsite"])]
    pub file: Option<PathBuf>,
    /// Restore a copy from this off-site target
    #[arg(long, value_name = "TARGET")]
    pub offsite: Option<String>,
    /// The emergency kit, for a copy made with another computer's key
    #[arg(long, value_name = "KITFILE")]
    pub key: Option<PathBuf>,
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
    crate::error_chain::chain(error.as_ref())
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
    // Backups, copies and logs the commands write are their owner's only.
    crate::platform::private_new_files();
    let command = cli.command.unwrap_or(Command::Serve);
    match command {
        Command::Serve => {
            if cli.no_window {
                crate::platform::detach_console();
            }
            let mut opts = ServeOptions::new(cli.data_dir, cli.bind, cli.port);
            opts.interval_override = cli.backup_interval_secs.map(Duration::from_secs);
            opts.new_empty_shop = cli.new_empty_shop;
            opts.host_names = cli.host_name;
            if let Some(ms) = cli.offsite_poll_ms {
                opts.offsite.poll = Duration::from_millis(ms);
            }
            if let Some(ms) = cli.offsite_retry_ms {
                opts.offsite.retry_base = Duration::from_millis(ms);
            }
            server::run(opts)?;
            Ok(())
        }
        Command::User(cmd) => users::user_command(cli.data_dir.as_deref(), cmd),
        Command::Backup(cmd) => backups::backup_command(cli.data_dir.as_deref(), cmd),
        Command::Restore(args) => restore::restore_command(cli.data_dir.as_deref(), &args),
        Command::Offsite(cmd) => offsite::offsite_command(cli.data_dir.as_deref(), cli.port, cmd),
        Command::DemoData(args) => demo::demo_command(cli.data_dir.as_deref(), &args),
        Command::Alerts(cmd) => alerts::alerts_command(cli.data_dir.as_deref(), cmd),
    }
}

/// Opens the database for a command that needs the current schema: a database from an
/// older version is backed up first, then migrated.
pub(crate) fn open_db(data_dir: Option<&std::path::Path>) -> anyhow::Result<(Paths, Db)> {
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
pub(crate) fn open_db_as_is(data_dir: Option<&std::path::Path>) -> anyhow::Result<(Paths, Db)> {
    let paths = Paths::resolve(data_dir)?;
    // Opening would make an empty database in place of the missing one.
    if crate::server::missing::data_missing(&paths)?.is_some() {
        anyhow::bail!(
            "the data file {} is missing, but there are backups of it; nothing was changed. With the server stopped, run `{}`, or start Backroom and choose on its page",
            paths.db.display(),
            crate::platform::RESTORE_LATEST_COMMAND
        );
    }
    let db = Db::open_unmigrated(&paths.db, DbOptions::CLI).with_context(|| {
        format!(
            "cannot open the database; with the server stopped, `{}` or {} can recover it",
            crate::platform::RESTORE_LATEST_COMMAND,
            paths.recovery_note().display()
        )
    })?;
    Ok((paths, db))
}
