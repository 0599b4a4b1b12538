#!/usr/bin/env bash
# The same training through the library (examples/train_library.rs: HnnModel::fit, nothing set
# up) and through `hnn train`, alternating, ROUNDS times each; prints each time and the medians.
#   scripts/library_vs_cli.sh CONFIG STEPS [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
config=$1; steps=$2; rounds=${3:-5}
cargo build --release --quiet --bin hnn --example train_library
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
lib=(); cli=()
seconds() { sed -n 's/.* in \([0-9.]*\) s .*/\1/p'; }
for _ in $(seq "$rounds"); do
  l=$(target/release/examples/train_library "$config" "$steps" | seconds)
  c=$(target/release/hnn train --config "$config" --model hnn --steps "$steps" --out "$tmp/hnn.safetensors" 2>/dev/null | seconds)
  echo "library $l s   hnn train $c s"
  lib+=("$l"); cli+=("$c")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ml=$(median "${lib[@]}"); mc=$(median "${cli[@]}")
echo "median: library $ml s, hnn train $mc s, library/cli = $(awk -v a="$ml" -v b="$mc" 'BEGIN {printf "%.3f", a/b}')"
