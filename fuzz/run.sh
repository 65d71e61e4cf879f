#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60), starting from the seeds in
# corpus/ and keeping what it finds in work/ (not committed). A crash, an input that
# takes longer than 2 s or one that needs more than 512 MB stops the run and leaves its
# input in artifacts/TARGET/, with the command to replay it: one person's worst input
# must cost milliseconds and kilobytes.
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`) and a nightly toolchain; on a
# machine with only stable, RUSTC_BOOTSTRAP=1 lets stable build what cargo-fuzz needs.
set -euo pipefail
secs=${1:-60}
cd "$(dirname "$0")"
if cargo +nightly fuzz --version >/dev/null 2>&1; then
    fuzz=(cargo +nightly fuzz)
elif cargo fuzz --version >/dev/null 2>&1; then
    export RUSTC_BOOTSTRAP=1
    fuzz=(cargo fuzz)
else
    echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
    exit 1
fi
for target in $("${fuzz[@]}" list); do
    mkdir -p "work/$target" "corpus/$target"
    echo "== $target: $secs s"
    if "${fuzz[@]}" run "$target" "work/$target" "corpus/$target" -- \
        -max_total_time="$secs" -max_len=65536 -timeout=2 -rss_limit_mb=512 -print_final_stats=1 \
        >"work/$target.log" 2>&1; then
        grep -E "^stat::(number_of_executed_units|peak_rss_mb)" "work/$target.log" || true
    else
        tail -40 "work/$target.log"
        echo "$target failed: its input is under artifacts/$target/ (log: work/$target.log)" >&2
        exit 1
    fi
done
echo "every target ran $secs s without a failure"
