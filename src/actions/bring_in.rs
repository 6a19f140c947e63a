//! Bringing backups in, shared by the backup page, the first-run page and the JSON API: an
//! uploaded file (a multipart form or a raw body) streamed to disk in the backup folder, never
//! held in memory, then checked and added as `uploaded_…`; a copy fetched from a target.

use std::io::Read;
use std::time::Duration;

use actix_multipart::Multipart;
use actix_web::web::{self, Bytes};
use futures_util::{Stream, StreamExt, TryStreamExt};

use super::{AppError, AppState, blocking};
use crate::auth::permission::SuperAdmin;
use crate::backup::{
    Accounts, BackupEngine, BackupEntry, BackupError, CreateRequest, Incoming, RestoreOptions,
    RestoreReport,
};
use crate::offsite::bring_in::Connected;
use crate::offsite::bring_in::{AGE_MAGIC, looks_sealed};
use crate::offsite::manifest::Manifest;
use crate::offsite::{NewTarget, Offsite};

/// Bytes written to disk at a time (one hop to the blocking pool each).
const WRITE_CHUNK: usize = 1 << 20;
/// The most a kit file or a pasted key may be.
const MAX_KIT_BYTES: usize = 64 * 1024;

/// A file received and on disk, not yet checked.
pub struct Upload {
    pub raw: Incoming,
    pub original: String,
    pub kit: Option<String>,
}

fn cut_off(e: impl std::fmt::Display) -> AppError {
    AppError::BadRequest(format!(
        "The upload was cut off before it was complete ({e}). Nothing was added; try again."
    ))
}

fn paused(idle: Duration) -> AppError {
    AppError::TimedOut(format!(
        "The upload stopped arriving (nothing for {} s). Nothing was added; try again.",
        idle.as_secs()
    ))
}

/// The next piece of a body, or a refusal when it pauses longer than `idle`.
async fn next_piece<S, E>(body: &mut S, idle: Duration) -> Result<Option<Bytes>, AppError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    match tokio::time::timeout(idle, body.next()).await {
        Ok(Some(piece)) => piece.map(Some).map_err(cut_off),
        Ok(None) => Ok(None),
        Err(_) => Err(paused(idle)),
    }
}

/// Streams `body` into a new file in the backup folder, refusing more than the disk can take.
async fn stream_to_disk<S, E>(
    engine: &BackupEngine,
    mut body: S,
    idle: Duration,
) -> Result<Incoming, AppError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let engine = engine.clone();
    let (mut incoming, mut file) = blocking(move || {
        let incoming = engine.incoming()?;
        let file = incoming.create()?;
        Ok::<_, BackupError>((incoming, file))
    })
    .await?;
    let mut buf: Vec<u8> = Vec::with_capacity(WRITE_CHUNK);
    loop {
        let next = next_piece(&mut body, idle).await?;
        let done = next.is_none();
        if let Some(chunk) = next {
            buf.extend_from_slice(&chunk);
        }
        if buf.len() >= WRITE_CHUNK || (done && !buf.is_empty()) {
            let (i, f, mut b) = blocking(move || {
                incoming.append(&mut file, &buf)?;
                Ok::<_, BackupError>((incoming, file, buf))
            })
            .await?;
            b.clear();
            (incoming, file, buf) = (i, f, b);
        }
        if done {
            break;
        }
    }
    blocking(move || {
        crate::platform::flush_file(&file).map_err(|e| BackupError::Io {
            action: "cannot flush the uploaded file".into(),
            source: e,
        })?;
        Ok::<_, BackupError>(incoming)
    })
    .await
}

async fn small_text<S, E>(mut body: S, idle: Duration) -> Result<String, AppError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut text = Vec::new();
    while let Some(chunk) = next_piece(&mut body, idle).await? {
        text.extend_from_slice(&chunk);
        if text.len() > MAX_KIT_BYTES {
            return Err(AppError::BadRequest(
                "That is not an emergency kit: it is far too long.".into(),
            ));
        }
    }
    String::from_utf8(text)
        .map_err(|_| AppError::BadRequest("That is not an emergency kit: it is not text.".into()))
}

/// Reads a multipart form: `file` (streamed to disk), and `kit` (a kit file) or `key` (a
/// pasted kit or key line). Other fields are ignored. The caller has checked who may send
/// it; the upload's place is taken here, before any of the body is read.
pub async fn receive_multipart(
    state: &web::Data<AppState>,
    mut form: Multipart,
) -> Result<Upload, AppError> {
    let _place = state.uploads.enter()?;
    let idle = state.uploads.idle();
    let mut raw = None;
    let mut original = String::new();
    let mut kit = None;
    while let Some(field) = next_field(&mut form, idle).await? {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "file" if raw.is_none() => {
                original = field
                    .content_disposition()
                    .and_then(|d| d.get_filename())
                    .unwrap_or_default()
                    .to_string();
                raw = Some(stream_to_disk(&state.engine, field, idle).await?);
            }
            "kit" | "key" => {
                let text = small_text(field, idle).await?;
                if !text.trim().is_empty() {
                    kit = Some(text);
                }
            }
            _ => {
                // Drained, not stored.
                let _ = small_text(field, idle).await;
            }
        }
    }
    let raw = raw.ok_or_else(|| AppError::BadRequest("Choose a backup file to upload.".into()))?;
    Ok(Upload { raw, original, kit })
}

/// Reads a raw body (the API): the file's name comes from `?name=`, a key from the
/// `X-Backroom-Key` header.
pub async fn receive_raw(
    state: &web::Data<AppState>,
    payload: web::Payload,
    original: String,
    kit: Option<String>,
) -> Result<Upload, AppError> {
    let _place = state.uploads.enter()?;
    let raw = stream_to_disk(&state.engine, payload, state.uploads.idle()).await?;
    Ok(Upload { raw, original, kit })
}

/// The next part of a multipart form, with the same pause limit as its bodies.
async fn next_field(
    form: &mut Multipart,
    idle: Duration,
) -> Result<Option<actix_multipart::Field>, AppError> {
    match tokio::time::timeout(idle, form.try_next()).await {
        Ok(field) => field.map_err(cut_off),
        Err(_) => Err(paused(idle)),
    }
}

/// Whether the file on disk is an age-encrypted copy.
fn is_sealed(incoming: &Incoming) -> Result<bool, BackupError> {
    let mut head = vec![0u8; AGE_MAGIC.len()];
    let mut file = std::fs::File::open(incoming.path()).map_err(|e| BackupError::Io {
        action: "cannot read the uploaded file".into(),
        source: e,
    })?;
    let n = file.read(&mut head).map_err(|e| BackupError::Io {
        action: "cannot read the uploaded file".into(),
        source: e,
    })?;
    Ok(looks_sealed(&head[..n]))
}

/// Checks the upload and adds it to the backups (an encrypted copy is unpacked first, with
/// this computer's key or the kit that came with it).
pub fn add(offsite: &Offsite, upload: Upload, by: &str) -> Result<BackupEntry, AppError> {
    if is_sealed(&upload.raw)? {
        let mut sealed = std::fs::File::open(upload.raw.path()).map_err(|e| BackupError::Io {
            action: "cannot read the uploaded file".into(),
            source: e,
        })?;
        let entry =
            offsite.bring_in_sealed(&mut sealed, &upload.original, upload.kit.as_deref(), by)?;
        // The encrypted upload is removed here (it was only the way in).
        drop(upload.raw);
        Ok(entry)
    } else {
        Ok(offsite.backups().import(upload.raw, &upload.original, by)?)
    }
}

/// [`add`] on the blocking pool.
pub async fn add_upload(
    state: &web::Data<AppState>,
    boss: &SuperAdmin,
    upload: Upload,
) -> Result<BackupEntry, AppError> {
    let (offsite, by) = (state.offsite.clone(), boss.username().to_string());
    blocking(move || add(&offsite, upload, &by)).await
}

/// Fetches a copy from a configured target into the backups.
pub async fn bring_in_copy(
    state: &web::Data<AppState>,
    boss: &SuperAdmin,
    target: String,
    copy: String,
) -> Result<BackupEntry, AppError> {
    let (offsite, by) = (state.offsite.clone(), boss.username().to_string());
    blocking(move || {
        offsite
            .bring_in_copy(&target, Some(&copy), None, &by)
            .map_err(AppError::from)
    })
    .await
}

/// A target connected to on the first-run page: kept on the server (its secret never goes
/// back to the browser) under a one-time token until a copy is chosen.
#[derive(Default)]
pub struct PendingLink(std::sync::Mutex<Option<(String, NewTarget)>>);

impl PendingLink {
    fn put(&self, new: NewTarget) -> String {
        let token = crate::fsutil::random_hex(16);
        *crate::offsite::lock(&self.0) = Some((token.clone(), new));
        token
    }

    fn take(&self, token: &str) -> Option<NewTarget> {
        let mut slot = crate::offsite::lock(&self.0);
        match slot.as_ref() {
            Some((t, _)) if super::security::tokens_match(t, token) => slot.take().map(|(_, n)| n),
            _ => None,
        }
    }
}

/// The first-run checks that come before any of an upload's body is read.
pub async fn first_run_may_upload(state: &web::Data<AppState>) -> Result<(), AppError> {
    let st = state.clone();
    blocking(move || ensure_no_users(&st)).await
}

/// Refuses first-run work once anyone has an account (the page is gone for good then).
fn ensure_no_users(state: &AppState) -> Result<(), AppError> {
    let count = state
        .db
        .with_conn(|c| crate::auth::users::count(c))
        .map_err(AppError::from)?;
    if count > 0 {
        return Err(AppError::Conflict(
            "Backroom already has accounts, so data can only be brought back by a super-admin on Database Backup.".into(),
        ));
    }
    Ok(())
}

/// The restore at the end of a first run: the accounts come from the data brought back, and
/// a backup is made at once so off-site copies continue from this computer.
fn restore_first(state: &AppState, entry: &BackupEntry) -> Result<RestoreReport, AppError> {
    ensure_no_users(state)?;
    let options = RestoreOptions {
        accounts: Accounts::AsInBackup,
    };
    let report = state
        .engine
        .restore(&entry.file_name, "first run", options)?;
    let request = CreateRequest::manual("brought back on this computer", "first run");
    if let Err(e) = state
        .engine
        .create_when_free(&request, std::time::Duration::from_secs(60))
    {
        tracing::warn!("the backup after bringing the data back failed: {e}");
    }
    Ok(report)
}

/// First run, from a file: check it and add it (the person confirms from its numbers next);
/// keep the kit's key for later targets.
pub async fn first_run_add_upload(
    state: &web::Data<AppState>,
    upload: Upload,
) -> Result<BackupEntry, AppError> {
    let st = state.clone();
    blocking(move || {
        ensure_no_users(&st)?;
        let kit = upload.kit.clone();
        let entry = add(&st.offsite, upload, "first run")?;
        if let Some(kit) = kit
            && let Err(e) = st.offsite.adopt_kit(&kit)
        {
            tracing::warn!("the emergency kit's key could not be kept: {e}");
        }
        Ok::<_, AppError>(entry)
    })
    .await
}

/// First run, confirmed: restores the uploaded backup named `name` (only a file brought in).
pub async fn first_run_restore_upload(
    state: &web::Data<AppState>,
    name: String,
) -> Result<RestoreReport, AppError> {
    let st = state.clone();
    blocking(move || {
        let entry = st.engine.find(&name)?;
        if entry.kind() != crate::backup::BackupKind::Uploaded {
            return Err(AppError::BadRequest(
                "Only a file brought in on this page can be restored here.".into(),
            ));
        }
        restore_first(&st, &entry)
    })
    .await
}

/// First run, connecting to a target: its copies (newest first) and the token to pick one.
pub async fn first_run_connect(
    state: &web::Data<AppState>,
    new: NewTarget,
) -> Result<(String, Vec<Manifest>), AppError> {
    let st = state.clone();
    blocking(move || {
        ensure_no_users(&st)?;
        let copies = st.offsite.connect(&new)?.copies()?;
        let token = st.first_run_link.put(new);
        Ok::<_, AppError>((token, copies))
    })
    .await
}

/// First run, the copy chosen: fetch, check, add, restore; then the target is saved so
/// copies continue from this computer.
pub async fn first_run_from_target(
    state: &web::Data<AppState>,
    token: String,
    copy: String,
) -> Result<RestoreReport, AppError> {
    let st = state.clone();
    blocking(move || {
        ensure_no_users(&st)?;
        let new = st.first_run_link.take(&token).ok_or_else(|| {
            AppError::BadRequest(
                "The connection to the target has expired; connect again and pick the copy.".into(),
            )
        })?;
        let connected: Connected = st.offsite.connect(&new)?;
        let entry = st
            .offsite
            .bring_in_connected(&connected, &copy, "first run")?;
        let report = restore_first(&st, &entry)?;
        let described = new.target.describe();
        if let Err(e) = st.offsite.add_target(new, "first run") {
            // The data is back; only the target must be added again on Database Backup.
            st.engine.log().warning(&format!(
                "The data was brought back from {described}, but the target could not be kept: {e}"
            ));
        }
        Ok::<_, AppError>(report)
    })
    .await
}
