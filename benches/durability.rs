//! What "saved means on disk" costs (not a test). Run with `scripts/bench.sh durability`.
//!
//! Saves sales through the library's own sale use-case on a live database opened like the
//! server opens it (WAL), once with `synchronous=NORMAL` (commits reach the disk only at a
//! checkpoint) and once with `synchronous=FULL` (what Backroom uses: each commit is flushed
//! before it returns), alternating in rounds, and prints p50/p99 per sale and the ratios.
//! Measured, never asserted: it depends on the disk.
//!
//! Environment: BENCH_SALES (400 per side and round), BENCH_ROUNDS (3), BENCH_DIR
//! (target/bench-data).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use backroom::business::sales::{self, LineInput, NewSale};
use backroom::db::{Db, DbError, DbOptions};

#[path = "common/mod.rs"]
mod common;
use common::{Result, env_or, ms, percentile};

const MODES: [&str; 2] = ["NORMAL", "FULL"];

fn main() -> Result<()> {
    let sales_per_round: usize = env_or("BENCH_SALES", 400);
    let rounds: usize = env_or("BENCH_ROUNDS", 3);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let work = std::env::var_os("BENCH_DIR")
        .map_or_else(|| root.join("target/bench-data"), PathBuf::from)
        .join("durability");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let db = Db::open(&work.join("business_data.db"), DbOptions::SERVER)?;
    let (user, product) = db.with_conn(|c| {
        backroom::auth::users::create(c, "bench", "not-a-hash", backroom::auth::Role::Staff)?;
        c.execute_batch(
            "INSERT INTO products (sku, name, price_cents, stock, created_at, updated_at)
             VALUES ('BENCH-1', 'Bench tea', 350, 100000000, 'x', 'x');",
        )?;
        let user: i64 = c.query_row("SELECT id FROM users", [], |r| r.get(0))?;
        let product: i64 = c.query_row("SELECT id FROM products", [], |r| r.get(0))?;
        Ok::<_, Box<dyn std::error::Error>>((user, product))
    })?;
    let sale = NewSale {
        customer_id: None,
        lines: vec![LineInput {
            product_id: product,
            quantity: 1,
            unit_price_cents: None,
        }],
    };
    let mut samples: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        // Alternate which side goes first, so neither always meets a warmer disk.
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for side in order {
            for _ in 0..sales_per_round {
                let took = db.with_conn(|c| {
                    c.execute_batch(&format!("PRAGMA synchronous={}", MODES[side]))?;
                    let start = Instant::now();
                    sales::create(c, &sale, user).map_err(|e| e.to_string())?;
                    Ok::<_, Box<dyn std::error::Error>>(start.elapsed())
                })?;
                samples[side].push(took);
            }
            // A checkpoint between sides, so each starts from a short -wal.
            db.with_conn(|c| {
                c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                    .map_err(DbError::from)
            })?;
        }
    }
    for s in &mut samples {
        s.sort();
    }
    println!(
        "== Cost per sale: synchronous NORMAL vs FULL ({rounds} rounds x {sales_per_round} sales per side, WAL, {}) ==",
        work.display()
    );
    for (side, mode) in MODES.iter().enumerate() {
        println!(
            "  {mode:<7} p50 {:>7.3} ms  p99 {:>7.3} ms  max {:>7.3} ms",
            ms(percentile(&samples[side], 0.5)),
            ms(percentile(&samples[side], 0.99)),
            ms(*samples[side].last().unwrap_or(&Duration::ZERO)),
        );
    }
    let ratio = |p: f64| ms(percentile(&samples[1], p)) / ms(percentile(&samples[0], p)).max(1e-9);
    println!(
        "  FULL/NORMAL: p50 {:.2}x, p99 {:.2}x (Backroom uses FULL: a sale the page calls saved is on disk)",
        ratio(0.5),
        ratio(0.99)
    );
    db.close()?;
    Ok(())
}
