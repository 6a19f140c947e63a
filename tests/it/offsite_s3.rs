//! Backroom's S3 target (`backroom::offsite::s3::S3Store`) against a real Garage on loopback
//! (started by `garage.rs`): objects round trip, including multipart ones; unfinished uploads
//! leave nothing; the prefix is kept to; the seal pipeline streams in and out; bad settings give
//! clear errors that never hold the secret; a three-node cluster keeps working with a node down.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use backroom::offsite::pipeline;
use backroom::offsite::s3::{PART_SIZE, S3Config, S3Store};
use backroom::offsite::store::{self, Store, StoreError};
use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::multipart::MultipartStore;
use object_store::path::Path as ObjectPath;
use object_store::signer::{Method, Signer};
use object_store::{ObjectStore, ObjectStoreExt};
use sha2::{Digest, Sha256};

use crate::garage::{self, Garage};

/// Prints how long a test took, also when it fails.
struct Timer {
    name: &'static str,
    began: Instant,
}

impl Timer {
    fn start(name: &'static str) -> Timer {
        Timer {
            name,
            began: Instant::now(),
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        eprintln!(
            "[time] offsite_s3::{}: {:.2} s",
            self.name,
            self.began.elapsed().as_secs_f64()
        );
    }
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    rand::fill(&mut bytes[..]);
    bytes
}

fn sha256(bytes: &[u8]) -> String {
    pipeline::hex(&Sha256::digest(bytes))
}

/// Standard base64 with padding (what S3 puts in `x-amz-checksum-*`).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// S3's composite checksum of a multipart object: SHA-256 of the parts' SHA-256 digests,
/// then "-" and the number of parts.
fn composite_sha256(data: &[u8], part_size: usize) -> String {
    let mut outer = Sha256::new();
    let parts = data.chunks(part_size).count();
    for part in data.chunks(part_size) {
        outer.update(Sha256::digest(part));
    }
    format!("{}-{parts}", base64(&outer.finalize()))
}

/// One store call whose error a test looks at.
type Call<'a> = dyn Fn() -> Result<(), StoreError> + 'a;

fn s3(config: S3Config) -> S3Store {
    S3Store::new(config).unwrap()
}

/// How most single-node tests begin: their timer, one Garage node, Backroom's store on it under
/// `prefix`, and a plain S3 client beside it. Bound as a tuple, they drop in reverse, as
/// separate `let`s would: the node stops before the timer prints.
fn one_node(test: &'static str, prefix: &str) -> (Timer, Garage, S3Store, Plain) {
    let timer = Timer::start(test);
    let garage = Garage::single();
    let store = s3(garage.s3_config(0, prefix));
    let plain = Plain::new(&garage, 0);
    (timer, garage, store, plain)
}

/// The answers to listing, writing a copy, writing a manifest and reading one, in that order.
fn four_calls(store: &S3Store) -> [(&'static str, Result<(), StoreError>); 4] {
    [
        ("list", store.list().map(|_| ())),
        ("create", store.create("x.db.zst.age").map(|_| ())),
        ("put_small", store.put_small("x.json", b"{}")),
        ("open", store.open("x.json").map(|_| ())),
    ]
}

fn names(store: &dyn Store) -> Vec<String> {
    let mut names: Vec<String> = store.list().unwrap().into_iter().map(|o| o.name).collect();
    names.sort();
    names
}

/// How long a listing through one node of a cluster may lag a write or delete made through
/// another. Garage promises that it converges, not that a listing sees it at once (most of all
/// right after a node rejoins), so cluster tests poll for it and print how long it took.
const CLUSTER_CONVERGES_IN: Duration = Duration::from_secs(30);

/// Polls the listing through `store` until it is `expected`; fails with the last listing
/// once [`CLUSTER_CONVERGES_IN`] has passed.
fn names_become(store: &dyn Store, expected: &[&str], what: &str) {
    let began = Instant::now();
    let mut seen = names(store);
    while seen != expected {
        assert!(
            began.elapsed() < CLUSTER_CONVERGES_IN,
            "{what}: the listing is still {seen:?} after {CLUSTER_CONVERGES_IN:?}, expected {expected:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
        seen = names(store);
    }
    if began.elapsed() > Duration::from_millis(50) {
        eprintln!(
            "[garage] {what}: the listing caught up after {:.2} s",
            began.elapsed().as_secs_f64()
        );
    }
}

/// Streams `data` into a new object in uneven writes (so they straddle part boundaries).
fn upload(store: &dyn Store, name: &str, data: &[u8]) {
    let mut writer = store.create(name).unwrap();
    for chunk in data.chunks(1_000_003) {
        writer.write_all(chunk).unwrap();
    }
    writer.finish().unwrap();
}

/// Reads an object back as a stream, hashing it on the way.
fn read_sha256(store: &dyn Store, name: &str) -> (String, u64) {
    let mut reader = store.open(name).unwrap();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = reader.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    (pipeline::hex(&hasher.finalize()), size)
}

/// Every message in an error's chain, and its Debug form: what could reach a page or a log.
fn everything_said(error: &StoreError) -> String {
    let mut text = format!("{error:?}\n");
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        text.push_str(&e.to_string());
        text.push('\n');
        source = e.source();
    }
    text
}

/// A plain S3 client on the whole bucket (no prefix, no checksums): "someone else" sharing the
/// bucket, and a way to look at what Backroom left behind.
struct Plain {
    client: AmazonS3,
    rt: tokio::runtime::Runtime,
}

impl Plain {
    fn new(garage: &Garage, node: usize) -> Plain {
        let client = AmazonS3Builder::new()
            .with_endpoint(garage.endpoint(node))
            .with_region(garage.region())
            .with_bucket_name(garage.bucket())
            .with_access_key_id(garage.key_id())
            .with_secret_access_key(garage.secret())
            .with_allow_http(true)
            .with_virtual_hosted_style_request(false)
            .build()
            .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        Plain { client, rt }
    }

    fn put(&self, path: &str, bytes: &[u8]) {
        self.rt
            .block_on(
                self.client
                    .put(&ObjectPath::from(path), bytes.to_vec().into()),
            )
            .unwrap();
    }

    fn get(&self, path: &str) -> Option<Vec<u8>> {
        let path = ObjectPath::from(path);
        match self.rt.block_on(self.client.get(&path)) {
            Ok(result) => Some(self.rt.block_on(result.bytes()).unwrap().to_vec()),
            Err(object_store::Error::NotFound { .. }) => None,
            Err(e) => panic!("{e}"),
        }
    }

    /// Every object in the bucket, at any depth.
    fn all_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .rt
            .block_on(self.client.list(None).try_collect::<Vec<_>>())
            .unwrap()
            .into_iter()
            .map(|meta| meta.location.to_string())
            .collect();
        keys.sort();
        keys
    }

    fn etag(&self, path: &str) -> String {
        let meta = self
            .rt
            .block_on(self.client.head(&ObjectPath::from(path)))
            .unwrap();
        meta.e_tag.unwrap()
    }

    /// Sends a request signed for `path` with extra query parameters and headers (bound to
    /// the signature): what object_store cannot be made to send.
    fn signed(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        headers: &[(&'static str, &str)],
        body: &[u8],
    ) -> reqwest::blocking::Response {
        let mut options = object_store::signer::SignedUrlOptions::new()
            .with_query(query.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        for (name, value) in headers {
            options = options.with_signed_header(
                reqwest::header::HeaderName::from_static(name),
                reqwest::header::HeaderValue::from_str(value).unwrap(),
            );
        }
        let url = self
            .rt
            .block_on(self.client.signed_url_opts(
                method.clone(),
                &ObjectPath::from(path),
                Duration::from_secs(60),
                &options,
            ))
            .unwrap();
        let mut request = crate::support::http_builder()
            .build()
            .unwrap()
            .request(method, url.as_str())
            .body(body.to_vec());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().unwrap()
    }

    /// The SHA-256 checksum the store keeps for an object (`x-amz-checksum-sha256` of a HEAD
    /// with checksum mode on), and its type.
    fn stored_checksum(&self, path: &str) -> (String, String) {
        let res = self.signed(
            Method::HEAD,
            path,
            &[],
            &[("x-amz-checksum-mode", "ENABLED")],
            b"",
        );
        assert!(res.status().is_success(), "HEAD {path}: {}", res.status());
        let header = |name: &str| {
            res.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default()
        };
        (
            header("x-amz-checksum-sha256"),
            header("x-amz-checksum-type"),
        )
    }

    /// The multipart uploads the bucket still holds open (ListMultipartUploads), as upload ids.
    fn open_uploads(&self) -> Vec<String> {
        let res = self.signed(Method::GET, "", &[("uploads", "")], &[], b"");
        assert!(res.status().is_success(), "list uploads: {}", res.status());
        let xml = res.text().unwrap();
        xml.split("<UploadId>")
            .skip(1)
            .filter_map(|rest| rest.split("</UploadId>").next())
            .map(str::to_string)
            .collect()
    }

    /// Adds a part to a multipart upload that some writer began; an error once it is aborted.
    fn put_part(&self, path: &str, upload_id: &str) -> object_store::Result<()> {
        let id = upload_id.to_string();
        self.rt
            .block_on(self.client.put_part(
                &ObjectPath::from(path),
                &id,
                5,
                b"late part".to_vec().into(),
            ))
            .map(|_| ())
    }
}

#[test]
fn single_node_starts_and_every_process_stops() {
    let _t = Timer::start("single_node_starts_and_every_process_stops");
    let garage = Garage::single();
    eprintln!(
        "[garage] a single node took {:.2} s to come up",
        garage.started_in().as_secs_f64()
    );
    let endpoint = garage.endpoint(0);
    let address = endpoint.trim_start_matches("http://").to_string();
    assert!(TcpStream::connect(&address).is_ok(), "S3 port open");
    assert_eq!(
        garage.health(0).unwrap()["status"].as_str(),
        Some("healthy")
    );
    drop(garage);
    // Drop waited for the process: nothing answers any more.
    assert!(
        TcpStream::connect(&address).is_err(),
        "a node outlived its harness"
    );
}

#[test]
fn objects_round_trip_and_multipart_shows_only_when_finished() {
    let (_t, garage, store, plain) = one_node(
        "objects_round_trip_and_multipart_shows_only_when_finished",
        "backroom",
    );
    assert!(store.describe().contains(garage.bucket()));
    assert!(!store.describe().contains(garage.secret()));
    assert_eq!(names(&store), Vec::<String>::new());

    // A small object, put whole.
    let manifest = br#"{"kind":"manual"}"#;
    store.put_small("a.json", manifest).unwrap();
    assert_eq!(store.read_small("a.json", 1024).unwrap(), manifest);
    let head = store.head("a.json").unwrap().unwrap();
    assert_eq!(head.size, manifest.len() as u64);
    assert!(head.modified.is_some());

    // A multipart object of three parts, streamed: invisible until finished.
    let data = random_bytes(2 * PART_SIZE + 4 * 1024 * 1024 + 12_345);
    let mut writer = store.create("big.db.zst.age").unwrap();
    assert!(writer.upload_id().is_some_and(|id| !id.is_empty()));
    for chunk in data.chunks(1_000_003) {
        writer.write_all(chunk).unwrap();
    }
    assert_eq!(names(&store), vec!["a.json"], "unfinished: not listed");
    assert_eq!(store.head("big.db.zst.age").unwrap(), None);
    assert_eq!(plain.open_uploads(), vec![writer.upload_id().unwrap()]);
    let began = Instant::now();
    writer.finish().unwrap();
    eprintln!(
        "[garage] finishing a {} MiB upload took {:.2} s",
        data.len() >> 20,
        began.elapsed().as_secs_f64()
    );
    // Listed at once: Garage's listing follows a completed upload without delay.
    assert_eq!(names(&store), vec!["a.json", "big.db.zst.age"]);
    assert_eq!(plain.open_uploads(), Vec::<String>::new());
    let listed = store.list().unwrap();
    let big = listed.iter().find(|o| o.name == "big.db.zst.age").unwrap();
    assert_eq!(big.size, data.len() as u64);
    assert_eq!(
        store.head("big.db.zst.age").unwrap().unwrap().size,
        data.len() as u64
    );
    assert_eq!(
        read_sha256(&store, "big.db.zst.age"),
        (sha256(&data), data.len() as u64)
    );

    // What the engine's ETag check will see: MD5 for a whole put, MD5-of-MD5s and "-parts" for
    // a multipart one (as on AWS), and a SHA-256 per part that the store checked.
    let small_etag = plain.etag("backroom/a.json");
    let big_etag = plain.etag("backroom/big.db.zst.age");
    eprintln!("[garage] ETags: whole put {small_etag}, multipart {big_etag}");
    let hex_part = |tag: &str| tag.trim_matches('"').split('-').next().unwrap().len();
    assert_eq!(hex_part(&small_etag), 32);
    assert!(!small_etag.contains('-'));
    assert!(big_etag.trim_matches('"').ends_with("-3"), "{big_etag}");
    assert_eq!(hex_part(&big_etag), 32);
    let (checksum, kind) = plain.stored_checksum("backroom/big.db.zst.age");
    eprintln!("[garage] stored checksum: {checksum} ({kind})");
    assert_eq!(kind, "COMPOSITE");
    assert_eq!(checksum, composite_sha256(&data, PART_SIZE));
    let (checksum, _) = plain.stored_checksum("backroom/a.json");
    assert_eq!(checksum, base64(&Sha256::digest(manifest)));

    // Delete, and deleting what is gone is fine.
    store.delete("big.db.zst.age").unwrap();
    store.delete("a.json").unwrap();
    store.delete("a.json").unwrap();
    assert_eq!(names(&store), Vec::<String>::new());
    assert_eq!(store.head("a.json").unwrap(), None);
    assert!(matches!(
        store.open("a.json").err().unwrap(),
        StoreError::NotFound { name } if name == "a.json"
    ));
    assert_eq!(plain.all_keys(), Vec::<String>::new());
}

#[test]
fn the_store_refuses_a_part_whose_sha256_differs() {
    let (_t, _garage, store, plain) =
        one_node("the_store_refuses_a_part_whose_sha256_differs", "backroom");
    assert_eq!(base64(b"Man"), "TWFu");
    assert_eq!(base64(b"Ma"), "TWE=");
    assert_eq!(base64(b"M"), "TQ==");
    // An upload as Backroom begins it (SHA-256 announced), then parts sent by hand.
    let mut writer = store.create("checked.db.zst.age").unwrap();
    writer.write_all(b"first part").unwrap();
    let upload_id = writer.upload_id().unwrap();
    let path = "backroom/checked.db.zst.age";
    let part = |body: &[u8], claimed: &[u8]| {
        plain
            .signed(
                Method::PUT,
                path,
                &[("partNumber", "2"), ("uploadId", &upload_id)],
                &[("x-amz-checksum-sha256", &base64(&Sha256::digest(claimed)))],
                body,
            )
            .status()
            .as_u16()
    };
    assert_eq!(part(b"these bytes", b"these bytes"), 200, "a true checksum");
    let refused = part(b"these bytes", b"other bytes");
    assert_eq!(refused, 400, "a part with a wrong SHA-256 is refused");
    writer.abort();
    assert_eq!(plain.all_keys(), Vec::<String>::new());
}

#[test]
fn aborted_dropped_and_crashed_uploads_leave_no_object() {
    let (_t, _garage, store, plain) = one_node(
        "aborted_dropped_and_crashed_uploads_leave_no_object",
        "backroom",
    );
    // More than a part, so a part is on the store when the writer goes.
    let data = random_bytes(PART_SIZE + 100_000);

    let mut aborted = store.create("aborted.db.zst.age").unwrap();
    aborted.write_all(&data).unwrap();
    let aborted_id = aborted.upload_id().unwrap();
    assert_eq!(plain.open_uploads(), vec![aborted_id.clone()]);
    aborted.abort();

    let mut dropped = store.create("dropped.db.zst.age").unwrap();
    dropped.write_all(&data).unwrap();
    let dropped_id = dropped.upload_id().unwrap();
    drop(dropped);

    // A crash mid-upload: the writer never finishes, aborts or drops; only its id survives
    // (the engine records it when the upload begins).
    let mut crashed = store.create("crashed.db.zst.age").unwrap();
    crashed.write_all(&data).unwrap();
    let upload_id = crashed.upload_id().unwrap();
    std::mem::forget(crashed);

    assert_eq!(names(&store), Vec::<String>::new());
    assert_eq!(plain.all_keys(), Vec::<String>::new());
    for name in [
        "aborted.db.zst.age",
        "dropped.db.zst.age",
        "crashed.db.zst.age",
    ] {
        assert_eq!(store.head(name).unwrap(), None, "{name}");
    }
    // Abort and drop really ended their uploads on the store; the crashed one is still open.
    assert_eq!(plain.open_uploads(), vec![upload_id.clone()]);
    for (path, id) in [
        ("backroom/aborted.db.zst.age", &aborted_id),
        ("backroom/dropped.db.zst.age", &dropped_id),
    ] {
        assert!(plain.put_part(path, id).is_err(), "{path} still open");
    }
    // The crashed upload is still open on the store...
    plain
        .put_part("backroom/crashed.db.zst.age", &upload_id)
        .unwrap();
    // ...until the recorded id aborts it; aborting it again is fine.
    store
        .abort_upload("crashed.db.zst.age", &upload_id)
        .unwrap();
    assert!(
        plain
            .put_part("backroom/crashed.db.zst.age", &upload_id)
            .is_err(),
        "the upload was aborted"
    );
    store
        .abort_upload("crashed.db.zst.age", &upload_id)
        .unwrap();
    assert_eq!(plain.open_uploads(), Vec::<String>::new());
    assert_eq!(names(&store), Vec::<String>::new());
    assert_eq!(plain.all_keys(), Vec::<String>::new());
}

#[test]
fn only_objects_under_the_prefix_are_listed_or_touched() {
    let (_t, _garage, store, plain) = one_node(
        "only_objects_under_the_prefix_are_listed_or_touched",
        "/shop/backroom/",
    );
    // Someone else's files: the same name under another prefix, a prefix that merely starts
    // the same, the bucket root, and a deeper folder under ours.
    let theirs = [
        "other/copy.db.zst.age",
        "shop/backroom-old/copy.db.zst.age",
        "shop/copy.db.zst.age",
        "copy.db.zst.age",
        "shop/backroom/deeper/copy.db.zst.age",
    ];
    for path in theirs {
        plain.put(path, path.as_bytes());
    }
    assert_eq!(names(&store), Vec::<String>::new());

    store.put_small("copy.db.zst.age", b"ours").unwrap();
    assert_eq!(names(&store), vec!["copy.db.zst.age"]);
    assert_eq!(
        plain.get("shop/backroom/copy.db.zst.age").unwrap(),
        b"ours",
        "stored under the prefix"
    );
    store.delete("copy.db.zst.age").unwrap();
    assert_eq!(names(&store), Vec::<String>::new());
    // Deleting names that exist elsewhere touches nothing there.
    store.delete("copy.db.zst.age").unwrap();
    for path in theirs {
        assert_eq!(
            plain.get(path).unwrap(),
            path.as_bytes(),
            "{path} untouched"
        );
    }
    let mut left = theirs.map(str::to_string).to_vec();
    left.sort();
    assert_eq!(plain.all_keys(), left);

    // Names are plain names: no way out of the prefix.
    for bad in ["../copy.db.zst.age", "deeper/copy.db.zst.age", "..", ""] {
        assert!(
            matches!(store.create(bad), Err(StoreError::Settings(_))),
            "{bad:?} accepted"
        );
        assert!(matches!(store.delete(bad), Err(StoreError::Settings(_))));
    }
    assert_eq!(plain.all_keys(), left);
}

#[test]
fn a_sealed_copy_streams_to_garage_and_opens_back() {
    let _t = Timer::start("a_sealed_copy_streams_to_garage_and_opens_back");
    let garage = Garage::single();
    let store = s3(garage.s3_config(0, "backroom"));
    let key = age::x25519::Identity::generate();
    // Half noise, half text: compresses to more than one part.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("business_data.db");
    let mut plain = random_bytes(12 * 1024 * 1024);
    plain.extend(
        (0..12 * 1024 * 1024 / 16)
            .flat_map(|i: u32| format!("row {i:>10} ok\n").into_bytes())
            .take(12 * 1024 * 1024),
    );
    std::fs::write(&file, &plain).unwrap();

    let writer = store.create("copy.db.zst.age").unwrap();
    let input = std::fs::File::open(&file).unwrap();
    let (sealed, writer) = pipeline::seal(input, &key.to_public(), writer).unwrap();
    writer.finish().unwrap();
    assert_eq!(sealed.plain_size, plain.len() as u64);
    assert_eq!(sealed.plain_sha256, sha256(&plain));
    assert!(
        sealed.object_size > PART_SIZE as u64,
        "multipart: {}",
        sealed.object_size
    );
    assert!(sealed.object_size < plain.len() as u64, "compressed");
    assert_eq!(
        store.head("copy.db.zst.age").unwrap().unwrap().size,
        sealed.object_size
    );

    let mut restored = Vec::new();
    let (opened, _) = pipeline::open(
        store.open("copy.db.zst.age").unwrap(),
        std::slice::from_ref(&key),
        &mut restored,
        plain.len() as u64,
    )
    .unwrap();
    assert_eq!(opened, sealed);
    assert_eq!(sha256(&restored), sha256(&plain));
    assert!(restored == plain);
}

#[test]
fn bad_settings_give_clear_errors_without_the_secret() {
    let _t = Timer::start("bad_settings_give_clear_errors_without_the_secret");
    let garage = Garage::single();
    let secret = garage.secret().to_string();
    let check = |what: &str, error: &StoreError| {
        let said = everything_said(error);
        eprintln!("[errors] {what}: {error}");
        assert!(!said.contains(&secret), "{what} shows the secret: {said}");
    };

    // No scheme: refused before any connection.
    let mut config = garage.s3_config(0, "backroom");
    config.endpoint = config.endpoint.trim_start_matches("http://").to_string();
    let error = S3Store::new(config).err().unwrap();
    assert!(matches!(error, StoreError::Settings(_)), "{error:?}");
    assert!(error.to_string().contains("https://"), "{error}");
    check("no scheme", &error);

    // Nothing listening: unreachable, and quickly.
    let mut config = garage.s3_config(0, "backroom");
    config.endpoint = format!("http://127.0.0.1:{}", garage::closed_port());
    let endpoint = config.endpoint.clone();
    let store = s3(config);
    let calls: [(&str, &Call); 4] = [
        ("list", &|| store.list().map(|_| ())),
        ("create", &|| store.create("x.db.zst.age").map(|_| ())),
        ("put_small", &|| store.put_small("x.json", b"{}")),
        ("open", &|| store.open("x.db.zst.age").map(|_| ())),
    ];
    for (what, call) in calls {
        let began = Instant::now();
        let error = call().err().unwrap();
        let took = began.elapsed();
        eprintln!(
            "[errors] {what} on a closed port failed in {:.2} s",
            took.as_secs_f64()
        );
        assert!(
            matches!(&error, StoreError::Unreachable { endpoint: e, .. } if *e == endpoint),
            "{what}: {error:?}"
        );
        assert!(error.to_string().contains("cannot be reached"), "{error}");
        assert!(took < Duration::from_secs(30), "{what} took {took:?}");
        check(what, &error);
    }

    // A wrong secret, and an unknown key id.
    let mut config = garage.s3_config(0, "backroom");
    config.secret_access_key = "0".repeat(64);
    let store = s3(config);
    for (what, result) in four_calls(&store) {
        let error = result.err().unwrap();
        assert!(
            matches!(error, StoreError::Credentials { .. }),
            "{what}: {error:?}"
        );
        assert!(error.to_string().contains("access key or secret"));
        check(what, &error);
        assert!(!everything_said(&error).contains(&"0".repeat(64)));
    }
    let mut config = garage.s3_config(0, "backroom");
    config.access_key_id = "GK0000000000000000000000".into();
    let error = s3(config).list().err().unwrap();
    assert!(matches!(error, StoreError::Credentials { .. }), "{error:?}");
    check("unknown key id", &error);

    // A bucket that does not exist.
    let mut config = garage.s3_config(0, "backroom");
    config.bucket = "no-such-bucket".into();
    let store = s3(config);
    for (what, result) in four_calls(&store)
        .into_iter()
        .chain([("delete", store.delete("x.json"))])
    {
        let error = result.err().unwrap();
        assert!(
            matches!(&error, StoreError::NoBucket { bucket, .. } if bucket == "no-such-bucket"),
            "{what}: {error:?}"
        );
        assert!(error.to_string().contains("no-such-bucket"), "{error}");
        check(what, &error);
    }
    // Nothing was written anywhere by all this.
    assert_eq!(Plain::new(&garage, 0).all_keys(), Vec::<String>::new());
}

#[test]
fn probe_writes_reads_and_cleans_up() {
    let _t = Timer::start("probe_writes_reads_and_cleans_up");
    let garage = Garage::single();
    let store = s3(garage.s3_config(0, "backroom"));
    store::probe(&store, chrono::Utc::now()).unwrap();
    assert_eq!(
        names(&store),
        Vec::<String>::new(),
        "the probe file is gone"
    );
    assert_eq!(Plain::new(&garage, 0).all_keys(), Vec::<String>::new());
    let mut config = garage.s3_config(0, "backroom");
    config.secret_access_key = "wrong".into();
    assert!(matches!(
        store::probe(&s3(config), chrono::Utc::now()),
        Err(StoreError::Credentials { .. })
    ));
}

#[test]
fn a_three_node_cluster_works_with_one_node_down() {
    let _t = Timer::start("a_three_node_cluster_works_with_one_node_down");
    let mut garage = Garage::cluster(3);
    eprintln!(
        "[garage] three nodes took {:.2} s to come up",
        garage.started_in().as_secs_f64()
    );
    assert_eq!(garage.node_count(), 3);
    assert_eq!(garage.endpoints().len(), 3);
    let health = garage.health(0).unwrap();
    assert_eq!(health["storageNodesUp"].as_u64(), Some(3), "{health}");

    // Just killed: the live nodes have not noticed yet and still try it.
    garage.stop_node(2);
    assert!(!garage.is_running(2));
    let first = s3(garage.s3_config(0, "backroom"));
    let second = s3(garage.s3_config(1, "backroom"));
    let data = random_bytes(2 * PART_SIZE + 54_321);
    let began = Instant::now();
    upload(&first, "big.db.zst.age", &data);
    eprintln!(
        "[garage] {} MiB multipart upload just after a node died: {:.2} s",
        data.len() >> 20,
        began.elapsed().as_secs_f64()
    );
    second.put_small("big.json", b"{}").unwrap();
    names_become(
        &second,
        &["big.db.zst.age", "big.json"],
        "two writes through two nodes",
    );

    // Known to be down: the cluster runs degraded.
    let noticed = garage.wait_seen_down(2);
    eprintln!(
        "[garage] the live nodes saw node 2 go after {:.2} s more",
        noticed.as_secs_f64()
    );
    let health = garage.health(0).unwrap();
    eprintln!("[garage] with node 2 down: {health}");
    assert_eq!(health["status"].as_str(), Some("degraded"), "{health}");
    assert_eq!(health["storageNodesUp"].as_u64(), Some(2), "{health}");
    assert_eq!(
        read_sha256(&second, "big.db.zst.age"),
        (sha256(&data), data.len() as u64)
    );
    store::probe(&second, chrono::Utc::now()).unwrap();
    // Retention's part: deleting through either live node.
    let kept = random_bytes(PART_SIZE + 1);
    let began = Instant::now();
    upload(&second, "kept.db.zst.age", &kept);
    eprintln!(
        "[garage] {} MiB multipart upload with a node known down: {:.2} s",
        kept.len() >> 20,
        began.elapsed().as_secs_f64()
    );
    first.delete("big.json").unwrap();
    second.delete("big.db.zst.age").unwrap();
    names_become(&first, &["kept.db.zst.age"], "deletes through two nodes");

    // Back up: the node that missed all of it serves it.
    let (answered, healthy) = garage.start_node(2);
    assert!(garage.is_running(2));
    eprintln!(
        "[garage] node 2 restarted: answers after {:.2} s, cluster healthy after {:.2} s",
        answered.as_secs_f64(),
        healthy.as_secs_f64()
    );
    assert_eq!(
        garage.health(2).unwrap()["status"].as_str(),
        Some("healthy")
    );
    let third = s3(garage.s3_config(2, "backroom"));
    names_become(&third, &["kept.db.zst.age"], "the rejoined node");
    assert_eq!(
        read_sha256(&third, "kept.db.zst.age"),
        (sha256(&kept), kept.len() as u64)
    );
    third.delete("kept.db.zst.age").unwrap();
    // A delete through the rejoined node reaches the others' listings within the deadline.
    names_become(
        &first,
        &[],
        "a delete through the rejoined node, listed by another",
    );
    // Deleting what is already gone is no error (retention may meet a stale listing).
    first.delete("kept.db.zst.age").unwrap();
    assert_eq!(third.head("kept.db.zst.age").unwrap(), None);
}
