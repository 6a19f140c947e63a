//! Bringing a backup in from elsewhere for `backup upload` and `restore --file/--offsite`: a
//! plain `.db` file, a `.db.zst.age` copy (with this computer's key or an emergency kit), or
//! a copy on a configured target. It is checked and added to the backups as `uploaded_…`.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::offsite::{engine as offsite_engine, with_progress};
use crate::backup::BackupEntry;
use crate::config::Paths;
use crate::offsite::bring_in::{AGE_MAGIC, looks_sealed};

/// Where the backup comes from.
pub(super) enum Source<'a> {
    File(&'a Path),
    Offsite {
        target: &'a str,
        copy: Option<&'a str>,
    },
}

fn read_kit(key: Option<&PathBuf>) -> anyhow::Result<Option<String>> {
    key.map(|path| {
        std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the emergency kit {}", path.display()))
    })
    .transpose()
}

/// Adds the backup to `database_backups/` (checked) and returns its entry.
pub(super) fn bring_in(
    paths: &Paths,
    source: Source<'_>,
    key: Option<&PathBuf>,
) -> anyhow::Result<BackupEntry> {
    let kit = read_kit(key)?;
    let offsite = offsite_engine(paths)?;
    let by = "command line";
    match source {
        Source::Offsite { target, copy } => Ok(with_progress(&offsite, || {
            offsite.target(target)?.bring_in(copy, kit.as_deref(), by)
        })?),
        Source::File(path) => {
            let original = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut file = std::fs::File::open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            let mut head = vec![0u8; AGE_MAGIC.len()];
            let n = file.read(&mut head)?;
            head.truncate(n);
            let mut whole = std::io::Cursor::new(head.clone()).chain(file);
            if looks_sealed(&head) {
                Ok(offsite.bring_in_sealed(&mut whole, &original, kit.as_deref(), by)?)
            } else {
                let engine = offsite.backups();
                let mut incoming = engine.incoming()?;
                incoming.fill_from(&mut whole)?;
                Ok(engine.import(incoming, &original, by)?)
            }
        }
    }
}
