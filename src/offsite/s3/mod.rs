//! An S3-compatible target (AWS S3, Backblaze B2, Cloudflare R2, MinIO, Garage, Wasabi) through
//! `object_store`. Copies go up as multipart uploads in parts of 8 MiB, at most two in flight,
//! each with its SHA-256 checksum checked by the store (Garage 2.5 checks them and keeps a
//! composite checksum); the upload id is reported as soon as it exists, so an upload cut off by
//! a crash can be aborted on the next start. An aborted or unfinished multipart upload is never
//! listed as an object.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, Checksum};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig,
};
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

use super::store::{ObjectInfo, ObjectWriter, SettingsProblem, Store, StoreError};
use crate::error_chain::causes;
use stream::{S3Reader, S3Writer};

mod stream;

/// Parts of 8 MiB: above S3's 5 MiB minimum, equal sizes (R2 needs that), bounded memory.
pub const PART_SIZE: usize = 8 * 1024 * 1024;
const PARTS_IN_FLIGHT: usize = 2;

/// Where a bucket is and how to sign in; the secret never leaves this struct except to sign.
#[derive(Clone)]
pub struct S3Config {
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub prefix: String,
    pub path_style: bool,
    /// Plain `http://` allowed (only when the person said so for this target).
    pub allow_http: bool,
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("path_style", &self.path_style)
            .field("allow_http", &self.allow_http)
            .finish_non_exhaustive()
    }
}

/// One runtime for every S3 target, on threads of its own (never an actix worker), never
/// dropped: off-site work calls into it from plain threads.
fn runtime() -> Result<&'static Runtime, StoreError> {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("offsite-s3")
        .enable_all()
        .build()
        .map_err(StoreError::Runtime)?;
    // TLS through rustls with ring (the only provider compiled in).
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(RUNTIME.get_or_init(|| rt))
}

pub struct S3Store {
    client: Arc<AmazonS3>,
    config: S3Config,
    rt: &'static Runtime,
}

/// True when the failure is the network (refused, timed out), not an answer from the store.
fn is_connection_failure(error: &object_store::Error) -> bool {
    causes(error)
        .find_map(|e| e.downcast_ref::<object_store::client::HttpError>())
        .is_some_and(|http| {
            matches!(
                http.kind(),
                object_store::client::HttpErrorKind::Connect
                    | object_store::client::HttpErrorKind::Timeout
            )
        })
}

/// True when the request failed below HTTP (the other end spoke no HTTP, broke off, sent
/// garbage): there is no answer to read.
fn transport_failure(error: &object_store::Error) -> bool {
    causes(error).any(|e| e.is::<object_store::client::HttpError>())
}

/// What the store answered: the HTTP status and the S3 error code (`<Code>` of the body).
#[derive(Debug, Default, PartialEq, Eq)]
struct Answer {
    status: Option<u16>,
    code: Option<String>,
}

/// object_store 0.14 keeps the status and body of a failed request in private types, and only
/// maps some calls' 401/403/404 to its own variants (a refused list is `Generic`), so the
/// answer is read from the text of the error chain: "Server returned non-2xx status code:
/// 403 Forbidden: <?xml ...><Code>AccessDenied</Code>...".
fn answer_of(error: &object_store::Error) -> Answer {
    causes(error)
        .map(|e| parse_answer(&e.to_string()))
        .find(|answer| *answer != Answer::default())
        .unwrap_or_default()
}

fn parse_answer(text: &str) -> Answer {
    const STATUS: &str = "Server returned non-2xx status code: ";
    let status = text
        .find(STATUS)
        .and_then(|at| text[at + STATUS.len()..].get(..3))
        .and_then(|digits| digits.parse::<u16>().ok());
    let code = text
        .find("<Code>")
        .map(|at| &text[at + "<Code>".len()..])
        .and_then(|rest| {
            rest.find("</Code>")
                .map(|end| rest[..end].trim().to_string())
        })
        .filter(|code| !code.is_empty());
    Answer { status, code }
}

/// S3 error codes that mean the access key or secret is wrong, unknown or not allowed.
const CREDENTIAL_CODES: [&str; 5] = [
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidSecurity",
    "ExpiredToken",
];

/// A store error in words, telling apart "cannot reach", "wrong key", "no bucket".
/// `missing_is_bucket`: a bare 404 (no S3 code) means the bucket, not an object, is missing.
fn classify(source: object_store::Error, config: &S3Config, missing_is_bucket: bool) -> StoreError {
    let answer = answer_of(&source);
    // Nothing that speaks HTTP answered: a closed port, a port of another kind of server and
    // a dead address read the same, so the form cannot be used to map local ports.
    let no_answer = answer == Answer::default() && transport_failure(&source);
    if is_connection_failure(&source) || no_answer {
        return StoreError::Unreachable {
            endpoint: config.endpoint.clone(),
            source,
        };
    }
    let code = answer.code.as_deref();
    if code == Some("NoSuchBucket")
        || (missing_is_bucket && code.is_none() && answer.status == Some(404))
    {
        return StoreError::NoBucket {
            bucket: config.bucket.clone(),
            source,
        };
    }
    let refused = matches!(answer.status, Some(401 | 403))
        || code.is_some_and(|code| CREDENTIAL_CODES.contains(&code));
    match source {
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => StoreError::Credentials { source },
        source if refused => StoreError::Credentials { source },
        object_store::Error::NotFound { .. } if missing_is_bucket && code.is_none() => {
            StoreError::NoBucket {
                bucket: config.bucket.clone(),
                source,
            }
        }
        source => StoreError::Remote { source },
    }
}

/// True for a 404 about the object itself (not about the bucket).
fn is_missing_object(error: &object_store::Error) -> bool {
    matches!(error, object_store::Error::NotFound { .. })
        && answer_of(error).code.as_deref() != Some("NoSuchBucket")
}

impl S3Store {
    pub fn new(config: S3Config) -> Result<S3Store, StoreError> {
        for (what, value) in [
            ("endpoint", &config.endpoint),
            ("bucket", &config.bucket),
            ("access key id", &config.access_key_id),
            ("secret", &config.secret_access_key),
        ] {
            if value.trim().is_empty() {
                return Err(StoreError::settings(format!("the {what} is missing")));
            }
        }
        let plain = config.endpoint.starts_with("http://");
        if !plain && !config.endpoint.starts_with("https://") {
            return Err(StoreError::settings(
                "the endpoint must start with https:// (or http:// for a store on your own network)",
            ));
        }
        if plain && !config.allow_http {
            return Err(StoreError::settings(
                "plain http:// is not allowed for this target (allow it only for a store on your own network)",
            ));
        }
        let rt = runtime()?;
        let options = ClientOptions::new()
            .with_allow_http(plain)
            .with_connect_timeout(Duration::from_secs(10))
            .with_timeout(Duration::from_secs(600));
        // A few quick retries per request; the off-site queue retries whole copies later.
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(200),
                max_backoff: Duration::from_secs(5),
                base: 2.0,
            },
            max_retries: 3,
            retry_timeout: Duration::from_secs(60),
        };
        let region = if config.region.trim().is_empty() {
            "us-east-1".to_string()
        } else {
            config.region.clone()
        };
        let client = AmazonS3Builder::new()
            .with_endpoint(config.endpoint.trim_end_matches('/'))
            .with_region(region)
            .with_bucket_name(&config.bucket)
            .with_access_key_id(&config.access_key_id)
            .with_secret_access_key(&config.secret_access_key)
            .with_virtual_hosted_style_request(!config.path_style)
            .with_checksum_algorithm(Checksum::SHA256)
            .with_client_options(options)
            .with_retry(retry)
            .build()
            .map_err(client_refused)?;
        Ok(S3Store {
            client: Arc::new(client),
            config,
            rt,
        })
    }

    fn path(&self, name: &str) -> Result<ObjectPath, StoreError> {
        if name.is_empty() || name.contains('/') {
            return Err(StoreError::settings(format!(
                "{name:?} is not an object name"
            )));
        }
        let prefix = self.config.prefix.trim_matches('/');
        let full = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}/{name}")
        };
        ObjectPath::parse(full).map_err(|e| StoreError::Settings(e.into()))
    }

    fn classify(&self, source: object_store::Error, missing_is_bucket: bool) -> StoreError {
        classify(source, &self.config, missing_is_bucket)
    }

    /// Aborts a multipart upload an interrupted run left (its id was recorded when it began).
    pub fn abort_upload(&self, name: &str, upload_id: &str) -> Result<(), StoreError> {
        let path = self.path(name)?;
        let id = upload_id.to_string();
        self.rt
            .block_on(self.client.abort_multipart(&path, &id))
            .or_else(|e| {
                // Already completed or aborted (NoSuchUpload); a missing bucket still counts.
                if is_missing_object(&e) {
                    Ok(())
                } else {
                    Err(self.classify(e, false))
                }
            })
    }
}

/// The builder's complaint, without echoing any credential: its generic error may quote the
/// address as given, so it is named in our words and not kept as a cause.
fn client_refused(error: object_store::Error) -> StoreError {
    match error {
        object_store::Error::Generic { .. } => {
            StoreError::settings("the endpoint, region or bucket name is not valid")
        }
        other => StoreError::Settings(SettingsProblem::Client(other)),
    }
}

/// "bucket shop (under backroom/) at https://…": what a person sees, no secrets.
fn describe(config: &S3Config) -> String {
    let prefix = config.prefix.trim_matches('/');
    if prefix.is_empty() {
        format!("bucket {} at {}", config.bucket, config.endpoint)
    } else {
        format!(
            "bucket {} (under {prefix}/) at {}",
            config.bucket, config.endpoint
        )
    }
}

impl Store for S3Store {
    fn describe(&self) -> String {
        describe(&self.config)
    }

    fn create(&self, name: &str) -> Result<Box<dyn ObjectWriter>, StoreError> {
        let path = self.path(name)?;
        let upload_id = self
            .rt
            .block_on(self.client.create_multipart(&path))
            .map_err(|e| self.classify(e, true))?;
        Ok(Box::new(S3Writer {
            client: self.client.clone(),
            rt: self.rt,
            path,
            upload_id,
            buffer: Vec::with_capacity(PART_SIZE),
            in_flight: VecDeque::new(),
            parts: Vec::new(),
            failed: false,
            done: false,
            config: self.config.clone(),
        }))
    }

    fn put_small(&self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.path(name)?;
        let payload = PutPayload::from(Bytes::copy_from_slice(bytes));
        self.rt
            .block_on(self.client.put(&path, payload))
            .map(|_| ())
            .map_err(|e| self.classify(e, true))
    }

    fn open(&self, name: &str) -> Result<Box<dyn Read + Send>, StoreError> {
        let path = self.path(name)?;
        let result = self.rt.block_on(self.client.get(&path)).map_err(|e| {
            if is_missing_object(&e) {
                StoreError::NotFound {
                    name: name.to_string(),
                }
            } else {
                self.classify(e, false)
            }
        })?;
        Ok(Box::new(S3Reader {
            rt: self.rt,
            stream: result.into_stream(),
            current: Bytes::new(),
        }))
    }

    fn list(&self) -> Result<Vec<ObjectInfo>, StoreError> {
        let prefix = self.config.prefix.trim_matches('/');
        let prefix_path = (!prefix.is_empty()).then(|| ObjectPath::from(prefix));
        let listed = self
            .rt
            .block_on(self.client.list_with_delimiter(prefix_path.as_ref()))
            .map_err(|e| self.classify(e, true))?;
        Ok(listed
            .objects
            .into_iter()
            .filter_map(|meta| {
                let name = meta.location.filename()?.to_string();
                Some(ObjectInfo {
                    name,
                    size: meta.size,
                    modified: Some(meta.last_modified),
                })
            })
            .collect())
    }

    fn head(&self, name: &str) -> Result<Option<ObjectInfo>, StoreError> {
        let path = self.path(name)?;
        // A HEAD answer has no body: a missing bucket looks like a missing object here.
        match self.rt.block_on(self.client.head(&path)) {
            Ok(meta) => Ok(Some(ObjectInfo {
                name: name.to_string(),
                size: meta.size,
                modified: Some(meta.last_modified),
            })),
            Err(e) if is_missing_object(&e) => Ok(None),
            Err(e) => Err(self.classify(e, false)),
        }
    }

    fn delete(&self, name: &str) -> Result<(), StoreError> {
        let path = self.path(name)?;
        match self.rt.block_on(self.client.delete(&path)) {
            Ok(()) => Ok(()),
            Err(e) if is_missing_object(&e) => Ok(()),
            Err(e) => Err(self.classify(e, false)),
        }
    }

    fn clean_unfinished(&self) -> Result<Vec<String>, StoreError> {
        // Unfinished multipart uploads are found by the ids recorded when they began (see
        // `abort_upload`); they are never listed as objects either way.
        Ok(Vec::new())
    }

    fn abort_upload(&self, name: &str, upload_id: &str) -> Result<(), StoreError> {
        S3Store::abort_upload(self, name, upload_id)
    }

    fn nested(&self, folder: &str) -> Result<Box<dyn Store>, StoreError> {
        let folder = super::store::nested_parts(folder)?.join("/");
        let prefix = self.config.prefix.trim_matches('/');
        let prefix = if prefix.is_empty() {
            folder
        } else {
            format!("{prefix}/{folder}")
        };
        Ok(Box::new(S3Store {
            client: self.client.clone(),
            config: S3Config {
                prefix,
                ..self.config.clone()
            },
            rt: self.rt,
        }))
    }
}

#[cfg(test)]
mod tests;
