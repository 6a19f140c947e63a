#!/usr/bin/env bash
# Benchmarks: builds the release binary, installs the standard tools they compare against when
# missing, and runs benches/backup.rs (backup and restore against sqlite3, openssl, cp) and
# benches/offsite.rs (off-site copies against zstd | age, to a folder and to a local Garage
# through the AWS CLI), and benches/durability.rs (the cost per sale of synchronous=FULL
# against NORMAL), and benches/scrub.rs (the scrub against sha256sum, and page latency while it
# runs). Not part of the test run.
#   scripts/bench.sh           all four
#   scripts/bench.sh backup    or: scripts/bench.sh offsite, durability, scrub
# Environment: BENCH_DB_MB (1024), BENCH_ROUNDS (3), BENCH_DIR (target/bench-data),
# BENCH_AFTER_SECS (60), BENCH_WRITER_PAUSE_US (1000), BENCH_IDLE_SECS (10).
set -euo pipefail
cd "$(dirname "$0")/.."
which=("${@:-backup offsite durability scrub}")
read -r -a which <<<"${which[*]}"

need=()
command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v age >/dev/null 2>&1 || need+=(age)
command -v zstd >/dev/null 2>&1 || need+=(zstd)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [[ " ${which[*]} " == *" offsite "* ]]; then
  # The standard S3 client (from PyPI) and Garage (built once; about 20 minutes).
  command -v aws >/dev/null 2>&1 || python3 -m pip install --quiet --user awscli
  export PATH="$HOME/.local/bin:$HOME/.cargo/bin:$PATH"
  command -v garage >/dev/null 2>&1 || cargo install --locked garage
fi

cargo build --release
for bench in "${which[@]}"; do
  cargo bench --bench "$bench"
done
