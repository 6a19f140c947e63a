//! Changing the backup policy (how often, how many to keep) from the page: checked, saved in
//! `backroom.toml` (outside the database, so a restore never changes it), applied at once and
//! logged. The caller reschedules the scheduler.

use super::BackupFolder;
use crate::config::{ConfigError, Settings};
use crate::fields::FieldErrors;

/// The settings form as typed.
pub struct SettingsForm<'a> {
    pub interval_hours: &'a str,
    pub max_backups: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error("the settings could not be saved: {0}")]
    Save(#[source] ConfigError),
}

fn whole_number(text: &str, field: &'static str, label: &str, errors: &mut FieldErrors) -> u32 {
    text.trim().parse::<u32>().unwrap_or_else(|_| {
        errors.add(field, format!("{label} must be a whole number."));
        0
    })
}

impl BackupFolder {
    /// Validates and saves new settings and makes them the ones in force.
    pub(crate) fn apply_settings(
        &self,
        form: &SettingsForm<'_>,
        user: &str,
    ) -> Result<Settings, SettingsError> {
        let old = self.settings();
        let mut errors = FieldErrors::default();
        let mut new = old.clone();
        new.interval_hours = whole_number(
            form.interval_hours,
            "interval_hours",
            "The automatic interval",
            &mut errors,
        );
        new.max_backups = whole_number(
            form.max_backups,
            "max_backups",
            "The number of backups to keep",
            &mut errors,
        );
        if errors.is_empty()
            && let Err(e) = new.validate()
        {
            errors.add("settings", e.to_string());
        }
        errors.into_result(()).map_err(SettingsError::Invalid)?;
        // Read-modify-write: the off-site part of the file may have changed meanwhile (the
        // command line), and must not be overwritten with what this process remembers.
        let new = Settings::update_file(&self.paths().settings, |file| {
            file.interval_hours = new.interval_hours;
            file.max_backups = new.max_backups;
        })
        .map_err(SettingsError::Save)?;
        *self
            .inner
            .settings
            .write()
            .unwrap_or_else(|e| e.into_inner()) = new.clone();
        self.invalidate_health();
        self.log().info(&format!(
            "Backup settings changed by {user}: automatic interval {} h -> {} h, keep {} -> {} backups",
            old.interval_hours, new.interval_hours, old.max_backups, new.max_backups
        ));
        Ok(new)
    }
}
