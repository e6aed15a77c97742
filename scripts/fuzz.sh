#!/usr/bin/env bash
# Bounded coverage-guided fuzzing of every cargo-fuzz target in fuzz/ (libFuzzer, AddressSanitizer).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     default: 12 s each, every target
#
# Installs cargo-fuzz into .cache/cargo if missing. Uses the nightly toolchain when rustup has
# one, else the stable one with RUSTC_BOOTSTRAP=1 (cargo-fuzz needs -Z flags). Starts from the
# committed seeds in fuzz/corpus/<target> and writes what it finds to .cache/fuzz-corpus, so a
# run never changes the checkout; a crash leaves its input in fuzz/artifacts/ and fails.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SECS=${1:-12}
shift || true
export PATH="$ROOT/.cache/cargo/bin:$PATH"
if ! command -v cargo-fuzz >/dev/null; then
  cargo install cargo-fuzz --version 0.13.2 --locked --root "$ROOT/.cache/cargo"
fi
toolchain=()
if rustup run nightly rustc --version >/dev/null 2>&1; then
  toolchain=(+nightly)
else
  export RUSTC_BOOTSTRAP=1
fi
cd fuzz
targets=("$@")
[ ${#targets[@]} -eq 0 ] && mapfile -t targets < <(cargo "${toolchain[@]}" fuzz list)
cargo "${toolchain[@]}" fuzz build -O
for t in "${targets[@]}"; do
  work="$ROOT/.cache/fuzz-corpus/$t"
  mkdir -p "$work" "corpus/$t"
  echo "--- fuzz $t (${SECS}s)"
  cargo "${toolchain[@]}" fuzz run -O "$t" "$work" "corpus/$t" -- \
    -max_total_time="$SECS" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 2>&1 |
    grep -E "^(Done|stat::number_of_executed_units|stat::peak_rss_mb|INFO: seed corpus)|DONE|ERROR|panicked|SUMMARY|Test unit written" || true
  # libFuzzer's exit status is lost in the pipe: a crash leaves an artifact behind.
  if ls "artifacts/$t"/crash-* "artifacts/$t"/leak-* "artifacts/$t"/timeout-* "artifacts/$t"/oom-* >/dev/null 2>&1; then
    echo "FAIL: fuzz target $t found a failing input (see fuzz/artifacts/$t)"
    exit 1
  fi
done
echo "fuzz: ${#targets[@]} targets, ${SECS}s each, no failures"
