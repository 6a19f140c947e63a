//! `backroom alerts ...`: add, list, test and remove the channels alerts go to. The SMTP
//! password comes from standard input (or is asked for without echo), never from the command
//! line, where other people on the computer could see it.

use std::io::{BufRead, IsTerminal};
use std::path::Path;

use anyhow::bail;

use super::AlertsCommand;
use crate::alerts::settings::ChannelForm;
use crate::config::Paths;

/// The password: asked for without echo on a terminal, else the first line of stdin.
fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        Ok(rpassword::prompt_password("Mail server password: ")?)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}

pub(super) fn alerts_command(data_dir: Option<&Path>, cmd: AlertsCommand) -> anyhow::Result<()> {
    let paths = Paths::resolve(data_dir)?;
    match cmd {
        AlertsCommand::Add {
            name,
            email,
            smtp,
            tls,
            user,
            from,
            webhook,
            heartbeat,
        } => {
            let mut form = ChannelForm {
                name,
                ..ChannelForm::default()
            };
            if let Some(to) = email {
                form.kind = "email".into();
                form.to = to;
                form.smtp = smtp.unwrap_or_default();
                form.tls = tls;
                form.from = from.unwrap_or_default();
                if let Some(user) = user {
                    form.password = read_password()?;
                    form.user = user;
                }
            } else if let Some(url) = webhook {
                form.kind = "webhook".into();
                form.url = url;
            } else if let Some(url) = heartbeat {
                form.kind = "heartbeat".into();
                form.url = url;
            }
            match crate::alerts::add_channel(&paths, &form)? {
                Ok(channel) => {
                    println!(
                        "Alert channel {}: {} added. Try it with `backroom alerts test {}`.",
                        channel.name,
                        channel.describe(),
                        channel.name
                    );
                    Ok(())
                }
                Err(errors) => bail!("{}", errors.joined()),
            }
        }
        AlertsCommand::List => {
            let status = crate::alerts::status(&paths)?;
            if status.channels.is_empty() {
                println!("No alert channel yet. Add one with `backroom alerts add`.");
            }
            for c in &status.channels {
                let last = match &c.last {
                    None => "nothing sent yet".to_string(),
                    Some(d) if d.ok => format!("last sent {}", crate::timefmt::local(d.at)),
                    Some(d) => {
                        format!("FAILING since {}: {}", crate::timefmt::local(d.at), d.error)
                    }
                };
                println!("{:<16} {:<10} {}  ({last})", c.name, c.kind, c.target);
            }
            if let Some(problem) = status.cannot_send() {
                println!("{problem}");
            }
            Ok(())
        }
        AlertsCommand::Test { name } => {
            let results = crate::alerts::test_now(&paths, name.as_deref(), chrono::Utc::now())?;
            let mut failed = 0;
            for (channel, result) in results {
                match result {
                    Ok(()) => println!("{channel}: test message sent"),
                    Err(e) => {
                        failed += 1;
                        println!("{channel}: FAILED: {}", crate::error_chain::chain(&e));
                    }
                }
            }
            if failed > 0 {
                bail!("{failed} channel(s) could not be reached");
            }
            Ok(())
        }
        AlertsCommand::Remove { name } => {
            crate::alerts::remove_channel(&paths, &name)?;
            println!("Alert channel {name} removed.");
            Ok(())
        }
    }
}
