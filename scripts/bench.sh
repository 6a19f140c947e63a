#!/usr/bin/env bash
# Backup and restore benchmark: builds the release binary, installs the standard tools it
# compares against (sqlite3, openssl, GNU time) when missing, and runs benches/backup.rs.
# Not part of the test run. Environment: BENCH_DB_MB (1024), BENCH_ROUNDS (3),
# BENCH_DIR (target/bench-data), BENCH_AFTER_SECS (60), BENCH_WRITER_PAUSE_US (1000).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi

cargo build --release
cargo bench --bench backup
