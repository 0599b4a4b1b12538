#!/usr/bin/env bash
# Whole-command medians: `hnn exp NAME --seeds N` as one ensemble against the same seeds one
# model after another (`--sequential`), alternating, REPEATS times each; then checks that the
# two left the same checkpoints byte for byte.
#
#   scripts/ensemble_bench.sh two_body 8 3      (needs target/release/hnn: cargo build --release)
set -euo pipefail
name=${1:?experiment name}
seeds=${2:-8}
repeats=${3:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
hnn="$root/target/release/hnn"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
declare -a ens seq
for r in $(seq 1 "$repeats"); do
  for mode in ensemble sequential; do
    flag=""; [ "$mode" = sequential ] && flag="--sequential"
    start=$(date +%s.%N)
    (cd "$root" && "$hnn" exp "$name" --seeds "$seeds" --no-plots --out "$out/$mode" $flag >/dev/null 2>&1)
    t=$(echo "$(date +%s.%N) - $start" | bc)
    echo "$mode run $r: $t s"
    if [ "$mode" = ensemble ]; then ens+=("$t"); else seq+=("$t"); fi
  done
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
me=$(median "${ens[@]}"); ms=$(median "${seq[@]}")
echo "$name --seeds $seeds: ensemble median $me s, sequential median $ms s, ratio $(echo "scale=3; $ms / $me" | bc)"
same=0; total=0
for f in "$out"/ensemble/"$name"/*/*.safetensors; do
  total=$((total + 1))
  cmp -s "$f" "$out/sequential/${f#"$out"/ensemble/}" && same=$((same + 1))
done
echo "checkpoints identical: $same of $total"
