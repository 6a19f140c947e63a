//! Load: 32 clients browse pages and record sales, first with no backup running, then while
//! manual and automatic backups run back to back. Prints requests/s and p50/p99 latency for
//! both phases; fails on any 5xx or any acknowledged sale missing afterwards. Latency targets
//! are reported, not asserted (timings vary by machine). `BACKROOM_LOAD_SECS` sets the length
//! of each phase (8 s by default; `scripts/stress.sh` runs longer).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backroom::auth::Role;
use rand::RngExt;

use crate::support::*;

const CLIENTS: usize = 32;

fn phase_secs() -> u64 {
    std::env::var("BACKROOM_LOAD_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8)
}

#[derive(Default)]
struct Phase {
    pages: Vec<Duration>,
    sales: Vec<Duration>,
    server_errors: usize,
    sale_ids: Vec<i64>,
    elapsed: Duration,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn run_phase(url: &str, clients: &[Arc<Client>], product_ids: &[i64], secs: u64) -> Phase {
    let result = Arc::new(Mutex::new(Phase::default()));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let handles: Vec<_> = clients
        .iter()
        .cloned()
        .map(|client| {
            let result = result.clone();
            let products = product_ids.to_vec();
            let url = url.to_string();
            std::thread::spawn(move || {
                let mut local = Phase::default();
                let mut rng = rand::rng();
                let pages = ["/", "/products", "/customers", "/sales", "/backup/status"];
                while Instant::now() < deadline {
                    let t = Instant::now();
                    if rng.random_range(0..4) == 0 {
                        let pid = products[rng.random_range(0..products.len())].to_string();
                        let res = client.post_form(
                            "/sales",
                            &[
                                ("customer_id", ""),
                                ("product_id", &pid),
                                ("quantity", "1"),
                                ("unit_price", ""),
                            ],
                        );
                        local.sales.push(t.elapsed());
                        if res.status >= 500 {
                            local.server_errors += 1;
                        } else if res.status == 303 {
                            let id = res.location().rsplit('/').next().unwrap().parse().unwrap();
                            local.sale_ids.push(id);
                        }
                    } else {
                        let mut page = pages[rng.random_range(0..pages.len())].to_string();
                        if page == "/products" {
                            page = format!("/products?page={}", rng.random_range(1..13));
                        }
                        let res = client.get(&page);
                        local.pages.push(t.elapsed());
                        if res.status >= 500 {
                            local.server_errors += 1;
                            eprintln!("{url}{page}: {}", res.status);
                        }
                    }
                }
                let mut all = result.lock().unwrap();
                all.pages.extend(local.pages);
                all.sales.extend(local.sales);
                all.server_errors += local.server_errors;
                all.sale_ids.extend(local.sale_ids);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let mut phase = std::mem::take(&mut *result.lock().unwrap());
    phase.elapsed = start.elapsed();
    phase.pages.sort();
    phase.sales.sort();
    phase
}

fn report(name: &str, p: &Phase) {
    let total = p.pages.len() + p.sales.len();
    println!(
        "load [{name}]: {total} requests in {:.1} s = {:.0} req/s; pages p50 {:.1} ms p99 {:.1} ms; sales p50 {:.1} ms p99 {:.1} ms; {} sales saved; 5xx: {}",
        p.elapsed.as_secs_f64(),
        total as f64 / p.elapsed.as_secs_f64(),
        ms(percentile(&p.pages, 0.5)),
        ms(percentile(&p.pages, 0.99)),
        ms(percentile(&p.sales, 0.5)),
        ms(percentile(&p.sales, 0.99)),
        p.sale_ids.len(),
        p.server_errors
    );
}

#[test]
#[ignore = "heavy: bash .ci/run runs it (cargo test -- --ignored faults:: load::)"]
fn thirty_two_clients_while_backups_run_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("business_data.db");
    // Real shop data, plus 120 MB of attachments-like rows so each backup takes a while.
    let out = run_cli(
        dir.path(),
        &["demo-data", "--products", "300", "--days", "365"],
        None,
    );
    assert!(out.status.success());
    make_big_database(&db, 120);
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("UPDATE products SET stock = 1000000;")
            .unwrap();
    }
    add_user_to(&db, "boss", Role::SuperAdmin);
    std::fs::write(
        dir.path().join("backroom.toml"),
        "interval_hours = 6\nmax_backups = 3\n",
    )
    .unwrap();
    let product_ids: Vec<i64> = {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let mut stmt = conn.prepare("SELECT id FROM products").unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let sales_before = {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.query_row("SELECT count(*) FROM sales", [], |r| r.get::<_, i64>(0))
            .unwrap()
    };

    // Quiet phase: no backup runs (automatic ones are hours apart).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let start_server = |extra_env: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new(binary());
        cmd.arg("--data-dir")
            .arg(dir.path())
            .args(["--port", &port.to_string()])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let server = ServerProcess::from_command(cmd);
        let boss = Client::new(&server.url);
        assert_eq!(boss.login("boss", PASSWORD).status, 303);
        let deadline = Instant::now() + Duration::from_secs(120);
        while !boss.get("/api/backups/status").json()["operation"].is_null() {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    };
    let mut server = start_server(&[]);
    let url = server.url.clone();
    let clients: Vec<Arc<Client>> = (0..CLIENTS)
        .map(|_| {
            let c = Client::new(&url);
            assert_eq!(c.login("boss", PASSWORD).status, 303);
            Arc::new(c)
        })
        .collect();
    let secs = phase_secs();
    let quiet = run_phase(&url, &clients, &product_ids, secs);
    server.signal(libc::SIGTERM);
    assert!(
        server
            .wait_exit(Duration::from_secs(60))
            .is_some_and(|s| s.success())
    );

    // Busy phase: the same clients (their sessions survive the restart), automatic backups
    // every 3 s and manual ones back to back.
    let server = start_server(&[("BACKROOM_BACKUP_INTERVAL_SECS", "3")]);
    let stop = Arc::new(AtomicBool::new(false));
    let backups_made = Arc::new(Mutex::new(0usize));
    let backup_thread = {
        let (stop, made) = (stop.clone(), backups_made.clone());
        let url = url.clone();
        std::thread::spawn(move || {
            let c = Client::new(&url);
            assert_eq!(c.login("boss", PASSWORD).status, 303);
            while !stop.load(Ordering::Relaxed) {
                let res = c.api_post(
                    "/api/backups",
                    serde_json::json!({"description": "under load"}),
                );
                assert!(
                    res.status == 201 || res.status == 409,
                    "backup under load: {} {}",
                    res.status,
                    res.body
                );
                if res.status == 201 {
                    *made.lock().unwrap() += 1;
                }
                // A short gap lets the scheduler's automatic backups in as well.
                std::thread::sleep(Duration::from_millis(300));
            }
        })
    };
    // The load starts once backups are being asked for.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while *backups_made.lock().unwrap() == 0 {
        assert!(std::time::Instant::now() < deadline, "no backup was made");
        std::thread::sleep(Duration::from_millis(10));
    }
    let busy = run_phase(&url, &clients, &product_ids, secs);
    stop.store(true, Ordering::Relaxed);
    backup_thread.join().unwrap();
    let automatic = std::fs::read_to_string(dir.path().join("database_backups/backup.log"))
        .unwrap()
        .matches("by scheduler)")
        .count();
    drop(clients);
    drop(server);

    report("no backup", &quiet);
    report("backups running", &busy);
    let made = *backups_made.lock().unwrap();
    let ratio = percentile(&busy.pages, 0.99).as_secs_f64()
        / percentile(&quiet.pages, 0.99).as_secs_f64().max(1e-9);
    println!(
        "load: {made} manual and {automatic} automatic backups completed during the busy phase; page p99 busy/quiet = {ratio:.2} (target <= 2.0)"
    );
    assert!(made >= 1, "no backup completed during the busy phase");
    assert_eq!(quiet.server_errors + busy.server_errors, 0, "5xx responses");

    // Nothing acknowledged was lost.
    assert!(integrity_ok(&db));
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut acknowledged: Vec<i64> = quiet
        .sale_ids
        .iter()
        .chain(&busy.sale_ids)
        .copied()
        .collect();
    acknowledged.sort_unstable();
    let mut missing = 0;
    for id in &acknowledged {
        let found: i64 = conn
            .query_row("SELECT count(*) FROM sales WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .unwrap();
        if found != 1 {
            missing += 1;
        }
    }
    let total: i64 = conn
        .query_row("SELECT count(*) FROM sales", [], |r| r.get(0))
        .unwrap();
    assert_eq!(missing, 0, "acknowledged sales missing from the database");
    assert_eq!(
        total - sales_before,
        i64::try_from(acknowledged.len()).unwrap()
    );
    println!(
        "load: {} acknowledged sales, all {} in the database",
        acknowledged.len(),
        acknowledged.len()
    );
}
