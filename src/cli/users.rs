//! `backroom user ...`: add, list, set a password, clear failed-login delays.

use std::io::{BufRead, IsTerminal};

use anyhow::{Context, bail};

use super::{UserCommand, open_db};
use crate::auth::store::AuthStore;
use crate::auth::{Role, login, throttle, users};
use crate::db::Db;

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

pub(super) fn user_command(
    data_dir: Option<&std::path::Path>,
    cmd: UserCommand,
) -> anyhow::Result<()> {
    let (paths, db) = open_db(data_dir)?;
    // Sessions and login counters live beside the data, outside the business database.
    let store = AuthStore::open(&paths.sessions())?;
    match cmd {
        UserCommand::Add { name, role } => {
            crate::auth::validate_username(&name)?;
            let role = Role::parse(&role).context("unknown role")?;
            let password_text = read_new_password()?;
            let user = login::add_user(&db, &name, &password_text, role, false)?;
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
            login::set_password(&db, &store, user.id, &password_text, false)?;
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
