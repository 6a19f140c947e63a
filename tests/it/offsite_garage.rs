//! Off-site copies to a real Garage, through the real app: set up from the page, copies
//! verified and drilled, the secret nowhere but its own file, bad settings refused plainly, a
//! target offline when a copy is due, a three-node cluster with a node down, and `kill -9`
//! in the middle of an upload (folder and S3).

use std::path::Path;
use std::time::{Duration, Instant};

use backroom::auth::Role;

use crate::garage::{self, Garage};
use crate::support::*;

fn add_s3(client: &Client, name: &str, g: &Garage, node: usize, prefix: &str) -> Resp {
    let endpoint = g.endpoint(node);
    add_s3_with(
        client,
        name,
        &endpoint,
        g.bucket(),
        prefix,
        g.key_id(),
        g.secret(),
    )
}

fn add_s3_with(
    client: &Client,
    name: &str,
    endpoint: &str,
    bucket: &str,
    prefix: &str,
    key_id: &str,
    secret: &str,
) -> Resp {
    client.post_form(
        "/backup/offsite/targets",
        &[
            ("kind", "s3"),
            ("name", name),
            ("endpoint", endpoint),
            ("region", garage::REGION),
            ("bucket", bucket),
            ("prefix", prefix),
            ("path_style", "1"),
            ("allow_http", "1"),
            ("access_key_id", key_id),
            ("secret_access_key", secret),
        ],
    )
}

/// The copies the target lists (empty while it cannot be read; see `listed`).
fn copies(client: &Client, target: &str) -> Vec<String> {
    listed(client, target).unwrap_or_default()
}

fn listed(client: &Client, target: &str) -> Option<Vec<String>> {
    let res = client.get(&format!("/api/offsite/{target}"));
    if res.status != 200 {
        eprintln!("listing {target}: {} {}", res.status, res.body);
        return None;
    }
    Some(
        res.json()["copies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["copy"].as_str().unwrap().to_string())
            .collect(),
    )
}

fn target_status(client: &Client, i: usize) -> serde_json::Value {
    client.get("/api/offsite").json()["offsite"]["targets"][i].clone()
}

/// A manual backup, by the name its off-site copy gets (no `.db`).
fn make_copy(client: &Client, description: &str) -> String {
    let name = make_backup(client, description);
    name.strip_suffix(".db").unwrap().to_string()
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in walk(dir) {
        if let Ok(bytes) = std::fs::read(&entry)
            && bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        {
            found.push(entry.display().to_string());
        }
    }
    found
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_garage_target_set_up_from_the_page_gets_verified_copies_and_the_secret_stays_in_its_file() {
    let g = Garage::single();
    let (app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    let res = add_s3(&boss, "garage", &g, 0, "shop-one");
    assert_eq!(res.status, 303, "{}", res.body);
    let started = Instant::now();
    wait_until("a copy on Garage", Duration::from_secs(60), || {
        !copies(&boss, "garage").is_empty()
    });
    println!(
        "first copy on Garage {:.1} s after setup",
        started.elapsed().as_secs_f64()
    );
    let manual = make_copy(&boss, "after setup");
    wait_until("the new copy", Duration::from_secs(60), || {
        copies(&boss, "garage").contains(&manual)
    });
    wait_until("the drill", Duration::from_secs(60), || {
        target_status(&boss, 0)["last_drill"]["ok"] == true
    });
    assert_eq!(
        boss.post_form("/backup/offsite/kit/confirm", &[]).status,
        303
    );
    let health = boss.get("/api/offsite").json()["health"].clone();
    assert_eq!(health["level"], "green", "{health}");
    assert!(boss.get("/backup/offsite/garage").body.contains(&manual));
    // The secret: in its owner-only file, nowhere else (pages, API, log, records, settings).
    let secret = g.secret().to_string();
    let secrets_file = app.data_dir().join("offsite-secrets.toml");
    assert!(
        std::fs::read_to_string(&secrets_file)
            .unwrap()
            .contains(&secret)
    );
    assert!(backroom::platform::is_owner_only(&secrets_file).unwrap());
    let mut leaks = files_containing(app.data_dir(), &secret);
    leaks.retain(|f| !f.ends_with("offsite-secrets.toml"));
    assert!(leaks.is_empty(), "the secret leaked into {leaks:?}");
    for page in [
        "/backup/status",
        "/api/offsite",
        "/api/offsite/garage",
        "/backup/offsite/kit",
        "/backup/offsite/kit/download",
    ] {
        assert!(
            !boss.get(page).body.contains(&secret),
            "{page} shows the secret"
        );
    }
}

#[test]
fn bad_s3_settings_are_refused_with_plain_words_and_nothing_is_saved() {
    let g = Garage::single();
    let app = spawn_app();
    let boss = app.login_as(Role::SuperAdmin);
    let closed = format!("http://127.0.0.1:{}", garage::closed_port());
    let cases = [
        (
            closed.as_str(),
            g.bucket(),
            g.key_id(),
            g.secret(),
            "cannot be reached",
        ),
        (
            &g.endpoint(0)[..],
            g.bucket(),
            g.key_id(),
            "wrong-secret-0000",
            "refused the access key",
        ),
        (
            &g.endpoint(0)[..],
            "no-such-bucket",
            g.key_id(),
            g.secret(),
            "does not exist",
        ),
    ];
    for (endpoint, bucket, key, secret, says) in cases {
        let res = add_s3_with(&boss, "cloud", endpoint, bucket, "", key, secret);
        assert_eq!(res.status, 400, "{says}: {}", res.body);
        assert!(res.body.contains(says), "expected {says:?}: {}", res.body);
        assert!(!res.body.contains(secret), "the secret is never shown back");
    }
    assert!(!app.data_dir().join("offsite-secrets.toml").exists());
    assert!(!app.data_dir().join("offsite.key").exists());
    let log = std::fs::read_to_string(app.backups_dir().join("backup.log")).unwrap_or_default();
    assert!(!log.contains(g.secret()) && !log.contains("wrong-secret-0000"));
}

#[test]
fn a_garage_target_offline_when_a_copy_is_due_gets_it_once_back() {
    let mut g = Garage::single();
    let (_app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    assert_eq!(add_s3(&boss, "garage", &g, 0, "").status, 303);
    wait_until("the first copy", Duration::from_secs(60), || {
        !copies(&boss, "garage").is_empty()
    });
    g.stop_node(0);
    let queued = make_copy(&boss, "while garage is down");
    wait_until("the failure", Duration::from_secs(60), || {
        target_status(&boss, 0)["unreachable"] == true
    });
    let health = boss.get("/api/offsite").json()["health"].clone();
    assert_eq!(health["level"], "red", "{health}");
    assert!(
        health["message"]
            .as_str()
            .unwrap()
            .contains("cannot be reached"),
        "{health}"
    );
    g.start_node(0);
    boss.api_post("/api/offsite/garage/push", serde_json::json!({}));
    wait_until("the queued copy", Duration::from_secs(60), || {
        copies(&boss, "garage").contains(&queued)
    });
    wait_until("the failure to clear", Duration::from_secs(30), || {
        target_status(&boss, 0)["failing_since"].is_null()
    });
}

#[test]
fn a_three_node_cluster_with_one_node_down_takes_lists_thins_and_drills() {
    let mut g = Garage::cluster(3);
    let (app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    assert_eq!(add_s3(&boss, "cluster", &g, 0, "backroom").status, 303);
    wait_until("the first copy", Duration::from_secs(60), || {
        !copies(&boss, "cluster").is_empty()
    });
    // Keep only the newest two (and one a day: same day here).
    let settings = app.data_dir().join("backroom.toml");
    let text = std::fs::read_to_string(&settings)
        .unwrap()
        .replace("keep_last = 10", "keep_last = 2")
        .replace("keep_daily = 14", "keep_daily = 0")
        .replace("keep_weekly = 8", "keep_weekly = 0")
        .replace("keep_monthly = 12", "keep_monthly = 0");
    std::fs::write(&settings, text).unwrap();
    g.stop_node(2);
    let admin = app.login_as(Role::Admin);
    let mut made = Vec::new();
    for i in 0..3 {
        let copy = make_copy(&admin, &format!("node down {i}"));
        wait_until("the copy", Duration::from_secs(90), || {
            copies(&boss, "cluster").contains(&copy)
        });
        made.push(copy);
    }
    wait_until("retention", Duration::from_secs(60), || {
        listed(&boss, "cluster").is_some_and(|c| c.len() <= 2)
    });
    let kept = listed(&boss, "cluster").unwrap();
    assert!(kept.contains(made.last().unwrap()), "{kept:?}");
    let drill = boss
        .api_post("/api/offsite/cluster/drill", serde_json::json!({}))
        .json();
    assert_eq!(drill["ok"], true, "{drill}");
    g.start_node(2);
}

/// A server process on a big database with a quick off-site worker.
fn big_server(dir: &Path) -> ServerProcess {
    ServerProcess::start(
        &binary(),
        Some(dir),
        dir,
        &[
            ("BACKROOM_OFFSITE_POLL_MS", "100"),
            ("BACKROOM_OFFSITE_RETRY_MS", "500"),
            ("BACKROOM_LOG", "info"),
        ],
    )
}

fn offsite_state(dir: &Path) -> serde_json::Value {
    std::fs::read(dir.join("offsite-state.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null)
}

#[test]
#[ignore = "heavy: bash .ci/run runs it (cargo test --test it -- --ignored faults:: load:: offsite_garage::kill)"]
fn kill_9_during_uploads_leaves_no_complete_looking_copy_and_the_next_start_finishes_it() {
    let g = Garage::single();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("business_data.db");
    make_big_database(&db, 120);
    add_user_to(&db, "boss", Role::SuperAdmin);
    let folder = tempfile::tempdir().unwrap();
    {
        let server = big_server(dir.path());
        let boss = Client::new(&server.url);
        assert_eq!(boss.login("boss", PASSWORD).status, 303);
        assert_eq!(add_s3(&boss, "garage", &g, 0, "kill").status, 303);
        let res = boss.post_form(
            "/backup/offsite/targets",
            &[
                ("kind", "folder"),
                ("name", "usb"),
                ("path", folder.path().to_str().unwrap()),
            ],
        );
        assert_eq!(res.status, 303);
        let mut server = server;
        // Kill while the S3 upload is recorded as in flight (its multipart upload begun).
        wait_until("an upload in flight", Duration::from_secs(120), || {
            offsite_state(dir.path())["targets"]["garage"]["in_flight"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
        });
        server.kill9();
    }
    let state = offsite_state(dir.path());
    let in_flight = state["targets"]["garage"]["in_flight"][0]["object"]
        .as_str()
        .unwrap()
        .to_string();
    let copy = in_flight.strip_suffix(".db.zst.age").unwrap().to_string();
    // Nothing under that copy's name looks complete: no manifest anywhere.
    let store = backroom::offsite::s3::S3Store::new(g.s3_config(0, "kill")).unwrap();
    use backroom::offsite::store::Store;
    let listed: Vec<String> = store.list().unwrap().into_iter().map(|o| o.name).collect();
    assert!(
        !listed.contains(&format!("{copy}.json")) && !listed.contains(&in_flight),
        "{listed:?}"
    );
    // The next start aborts the cut-off upload and sends the copy whole.
    let server = big_server(dir.path());
    let boss = Client::new(&server.url);
    assert_eq!(boss.login("boss", PASSWORD).status, 303);
    wait_until(
        "the copy sent after the restart",
        Duration::from_secs(180),
        || copies(&boss, "garage").contains(&copy),
    );
    let log = std::fs::read_to_string(dir.path().join("database_backups/backup.log")).unwrap();
    assert!(
        log.contains(&format!("aborted the unfinished upload of {in_flight}")),
        "{log}"
    );
    wait_until("the folder copy", Duration::from_secs(180), || {
        std::fs::read_dir(folder.path())
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().ends_with(".json"))
    });
    let partials: Vec<String> = std::fs::read_dir(folder.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".backroom-partial-"))
        .collect();
    assert!(partials.is_empty(), "{partials:?}");
    let drill = boss
        .api_post("/api/offsite/garage/drill", serde_json::json!({}))
        .json();
    assert_eq!(drill["ok"], true, "{drill}");
}

/// Issue 14's disaster drill on Garage: install A protected on a bucket; A's whole folder is
/// deleted; a fresh install B connects to the bucket on its first-run page with the kit,
/// brings the newest copy back, and A's user signs in on B with exactly A's data; B's own
/// copies then continue on the same bucket.
#[test]
fn disaster_drill_on_garage_from_the_first_run_page() {
    let g = Garage::single();
    let a_dir = tempfile::tempdir().unwrap();
    let (mut a, boss) = TestApp::in_dir(a_dir.path()).ready_as(Role::SuperAdmin);
    assert_eq!(add_s3(&boss, "usb", &g, 0, "shop").status, 303);
    assert_eq!(
        boss.post_form("/backup/offsite/kit/confirm", &[]).status,
        303
    );
    a.execute(
        "INSERT INTO products (sku, name, price_cents, stock, created_at, updated_at)
             VALUES ('G-1', 'Garage tea', 450, 7, 'x', 'x');",
    );
    let made = boss.api_post("/api/backups", serde_json::json!({"description": "last"}));
    assert_eq!(made.status, 201, "{}", made.body);
    let manual = made.json()["backup"]["name"].as_str().unwrap().to_string();
    let a_dump = canonical_dump_sha(&a.backups_dir().join(&manual));
    let copy = manual.strip_suffix(".db").unwrap().to_string();
    wait_until("A's copy on Garage", Duration::from_secs(60), || {
        listed(&boss, "usb").is_some_and(|l| l.contains(&copy))
    });
    let kit = boss.get("/backup/offsite/kit/download").body;
    a.stop();
    drop(a);
    std::fs::remove_dir_all(a_dir.path()).unwrap();

    let b = spawn_app().ready();
    let endpoint = g.endpoint(0);
    let picked = crate::bring_in::first_run_from_target(
        &b,
        &[
            ("kind", "s3"),
            ("name", "usb"),
            ("endpoint", &endpoint),
            ("region", garage::REGION),
            ("bucket", g.bucket()),
            ("prefix", "shop"),
            ("path_style", "1"),
            ("allow_http", "1"),
            ("access_key_id", g.key_id()),
            ("secret_access_key", g.secret()),
        ],
        &kit,
    );
    assert_eq!(picked, copy, "the newest copy is listed first");
    let watcher = b.client();
    crate::bring_in::check_b_has_a(&b, &a_dump, || {
        if watcher.get("/account").status != 200 {
            assert_eq!(watcher.login("super-admin-user", PASSWORD).status, 303);
        }
        listed(&watcher, "usb").is_some_and(|l| {
            l.iter()
                .any(|c| c.contains("brought_back_on_this_computer"))
        })
    });
    // B keeps the secret where A did: its own owner-only file, not the page.
    assert!(
        std::fs::read_to_string(b.data_dir().join("offsite-secrets.toml"))
            .unwrap()
            .contains(g.secret())
    );
}
