//! `database_backups/backup.log`: one line per backup event, readable by a person,
//! e.g. `2025-09-22 14:30:00 - INFO - Database backup created: backup_20250922_143000.db (12.4 MB, 0.8 s)`.
//! Capped in size: when it passes the cap it is renamed to `backup.log.1` and a new one starts.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

const DEFAULT_CAP_BYTES: u64 = 1024 * 1024;
/// The longest message kept in one log line.
pub const MAX_MESSAGE_CHARS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Level {
    #[serde(rename = "INFO")]
    Info,
    #[serde(rename = "WARNING")]
    Warning,
    #[serde(rename = "ERROR")]
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
        }
    }
}

/// One parsed line of the log.
#[derive(Debug, Clone, Serialize)]
pub struct LogLine {
    pub time: String,
    pub level: Level,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct BackupLog {
    path: PathBuf,
    cap_bytes: u64,
}

impl BackupLog {
    /// The log at `path` ([`crate::config::Paths::backup_log`]).
    pub fn new(path: PathBuf) -> BackupLog {
        BackupLog {
            path,
            cap_bytes: DEFAULT_CAP_BYTES,
        }
    }

    pub fn with_cap(mut self, cap_bytes: u64) -> BackupLog {
        self.cap_bytes = cap_bytes;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn info(&self, message: &str) {
        self.write(Level::Info, message);
    }

    pub fn warning(&self, message: &str) {
        self.write(Level::Warning, message);
    }

    pub fn error(&self, message: &str) {
        self.write(Level::Error, message);
    }

    /// Appends one line. Logging must never make an operation fail, so errors only go to the
    /// console. Each line is one `write` on an append-mode file, so lines from the server and
    /// the CLI do not interleave.
    pub fn write(&self, level: Level, message: &str) {
        // One line, and never a wall of text whatever was typed into a form.
        let one_line: String = crate::text::clip(message, MAX_MESSAGE_CHARS)
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let line = format!(
            "{} - {} - {}\n",
            chrono::Local::now().format("%Y-%m-%d %H:%M:%S"),
            level.as_str(),
            one_line
        );
        match level {
            Level::Info => tracing::info!("{one_line}"),
            Level::Warning => tracing::warn!("{one_line}"),
            Level::Error => tracing::error!("{one_line}"),
        }
        if let Err(e) = self.append(&line) {
            tracing::error!("cannot write {}: {e}", self.path.display());
        }
    }

    fn append(&self, line: &str) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        if let Ok(meta) = std::fs::metadata(&self.path)
            && meta.len() + line.len() as u64 > self.cap_bytes
        {
            let mut rotated = self.path.as_os_str().to_owned();
            rotated.push(".1");
            std::fs::rename(&self.path, PathBuf::from(rotated))?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        file.write_all(line.as_bytes())
    }

    /// The last `n` lines, newest first (reading the rotated file too when needed).
    pub fn tail(&self, n: usize) -> Vec<LogLine> {
        let mut rotated = self.path.as_os_str().to_owned();
        rotated.push(".1");
        let mut lines = read_lines(&PathBuf::from(rotated));
        lines.extend(read_lines(&self.path));
        lines
            .iter()
            .rev()
            .take(n)
            .filter_map(|l| parse_line(l))
            .collect()
    }
}

fn read_lines(path: &Path) -> Vec<String> {
    match std::fs::File::open(path) {
        Ok(f) => BufReader::new(f).lines().map_while(Result::ok).collect(),
        Err(_) => Vec::new(),
    }
}

fn parse_line(line: &str) -> Option<LogLine> {
    let mut parts = line.splitn(3, " - ");
    let time = parts.next()?.to_string();
    let level = match parts.next()? {
        "INFO" => Level::Info,
        "WARNING" => Level::Warning,
        "ERROR" => Level::Error,
        _ => return None,
    };
    let message = parts.next()?.to_string();
    Some(LogLine {
        time,
        level,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_have_the_documented_shape_and_tail_is_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let log = BackupLog::new(dir.path().join("backup.log"));
        log.info("first");
        log.error("second\nwith newline");
        let text = std::fs::read_to_string(log.path()).unwrap();
        let first = text.lines().next().unwrap();
        assert!(first.ends_with(" - INFO - first"), "{first}");
        assert_eq!(first.len(), "2025-09-22 14:30:00 - INFO - first".len());
        let tail = log.tail(10);
        assert_eq!(tail.len(), 2);
        assert_eq!(tail[0].level, Level::Error);
        assert_eq!(tail[0].message, "second with newline");
    }

    #[test]
    fn log_rotates_at_its_cap() {
        let dir = tempfile::tempdir().unwrap();
        let log = BackupLog::new(dir.path().join("backup.log")).with_cap(200);
        for i in 0..20 {
            log.info(&format!("event number {i}"));
        }
        assert!(std::fs::metadata(log.path()).unwrap().len() <= 200);
        assert!(dir.path().join("backup.log.1").exists());
        assert_eq!(log.tail(1)[0].message, "event number 19");
    }
}
