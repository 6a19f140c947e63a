#!/usr/bin/env bash
# The heavier fault and load runs (CI runs the same tests with smaller counts):
# 25 kill -9 iterations during backups and during restores on a ~200 MB database, and
# 30-second load phases. Override with BACKROOM_FAULT_ITERATIONS / BACKROOM_LOAD_SECS.
set -euo pipefail
cd "$(dirname "$0")/.."
export BACKROOM_FAULT_ITERATIONS="${BACKROOM_FAULT_ITERATIONS:-25}"
export BACKROOM_LOAD_SECS="${BACKROOM_LOAD_SECS:-30}"
cargo test --test it -- --nocapture --test-threads 1 faults:: load::
