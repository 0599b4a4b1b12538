#!/usr/bin/env bash
# Reproduces the paper's Table 1 (state-space tasks) on the CPU: every task, HNN and baseline,
# SEEDS seeds (default 3), then prints the Markdown table. Outputs under OUT (default runs/table1).
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${SEEDS:-3}
OUT=${OUT:-runs/table1}
cargo build --release
for task in spring pendulum real_pendulum two_body three_body; do
    /usr/bin/time -f "$task: %e s wall" ./target/release/hnn exp "$task" --seeds "$SEEDS" --device cpu --out "$OUT" --no-plots > /dev/null
done
./target/release/hnn table "$OUT"
