#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60), starting from the seeds in
# corpus/ and keeping what it finds in work/ (not committed). A crash stops the run and
# leaves its input in artifacts/TARGET/, with the command to replay it.
#
# Needs the nightly toolchain and cargo-fuzz:
#   rustup toolchain install nightly && cargo install cargo-fuzz --locked
set -euo pipefail
secs=${1:-60}
cd "$(dirname "$0")"
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz (with the nightly toolchain) is missing:" >&2
    echo "  rustup toolchain install nightly && cargo install cargo-fuzz --locked" >&2
    exit 1
fi
for target in $(cargo +nightly fuzz list); do
    mkdir -p "work/$target"
    echo "== $target: $secs s"
    if cargo +nightly fuzz run "$target" "work/$target" "corpus/$target" -- \
        -max_total_time="$secs" -max_len=16384 -timeout=10 -print_final_stats=1 \
        >"work/$target.log" 2>&1; then
        grep -E "^stat::(number_of_executed_units|peak_rss_mb)" "work/$target.log" || true
    else
        tail -40 "work/$target.log"
        echo "$target failed: its input is under artifacts/$target/ (log: work/$target.log)" >&2
        exit 1
    fi
done
echo "every target ran $secs s without a failure"
