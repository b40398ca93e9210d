#!/usr/bin/env bash
# make bench: runs every benchmark executable (bench/<name> -> build/bench/<name>/bench_<name>).
# Benchmarks that measure accuracy on ../shared/data take it from UNMASK_DATA (default ../shared/data).
set -euo pipefail
BUILD_DIR=${1:-build}
export UNMASK_DATA=${UNMASK_DATA:-$(cd "$(dirname "$0")/.." && pwd)/../shared/data}
for bin in "$BUILD_DIR"/bench/*/bench_*; do
  [[ -x "$bin" ]] || continue
  echo "== $(basename "$bin")"
  "$bin" || echo "(benchmark $(basename "$bin") failed with exit $?)"
done
