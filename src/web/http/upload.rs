//! Receiving a file over HTTP: a multipart form or a raw body streamed to disk in the backup
//! folder, never held in memory, with the server's limit on files arriving at once and on
//! pauses. What arrived is checked and added by `actions::bring_in`.

use std::time::Duration;

use actix_multipart::Multipart;
use actix_web::web::{self, Bytes};
use futures_util::{Stream, StreamExt, TryStreamExt};

use super::{AppError, blocking};
use crate::actions::bring_in::Upload;
use crate::backup::{BackupEngine, BackupError, Incoming};
use crate::web::http::state::AppState;

/// Bytes written to disk at a time (one hop to the blocking pool each).
const WRITE_CHUNK: usize = 1 << 20;
/// The most a kit file or a pasted key may be.
const MAX_KIT_BYTES: usize = 64 * 1024;

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
