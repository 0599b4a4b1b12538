#!/usr/bin/env bash
# Two builds of `hnn` side by side, for a change that must not alter results or speed:
#   scripts/compare_builds.sh BEFORE_BIN AFTER_BIN [EXPERIMENT[:EXTRA ARGS] ...]
# e.g. scripts/compare_builds.sh /tmp/hnn_before target/release/hnn spring two_body "oscillator_trajectory:--steps 500"
# 1. Runs each experiment (one seed, no plots) with both binaries under $OUT (default
#    /tmp/compare_builds) and compares every checkpoint byte for byte and metrics.json with the
#    timing fields left out.
# 2. Times `hnn train --model hnn` on spring and two_body and `hnn eval`'s rollout_seconds on the
#    first experiment's HNN checkpoint, REPEATS (default 5) interleaved runs, and prints medians.
# Run from the repository root (experiments/ is read from there), on an otherwise idle machine.
set -u
before=$1 after=$2
shift 2
out=${OUT:-/tmp/compare_builds}
repeats=${REPEATS:-5}
mkdir -p "$out"

metrics_equal() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
skip = {"wall_seconds", "seconds", "train_seconds", "steps_per_second", "rollout_seconds"}
def clean(x):
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items() if k not in skip}
    if isinstance(x, list):
        return [clean(v) for v in x]
    return x
a, b = (clean(json.load(open(p))) for p in sys.argv[1:3])
sys.exit(0 if a == b else 1)
EOF
}

first=""
for spec in "$@"; do
    exp=${spec%%:*}
    extra=""
    [[ "$spec" == *:* ]] && extra=${spec#*:}
    first=${first:-$exp}
    echo "== $exp $extra"
    for side in before after; do
        bin=$before
        [ "$side" = after ] && bin=$after
        # shellcheck disable=SC2086
        "$bin" exp "$exp" --out "$out/$side" --no-plots $extra >/dev/null 2>"$out/$side.$exp.log" ||
            { echo "  $side failed:"; tail -3 "$out/$side.$exp.log"; }
    done
    for f in "$out"/before/"$exp"/0/*.safetensors; do
        name=$(basename "$f")
        if cmp -s "$f" "$out/after/$exp/0/$name"; then echo "  identical $name"; else echo "  DIFFERS $name"; fi
    done
    if metrics_equal "$out/before/$exp/0/metrics.json" "$out/after/$exp/0/metrics.json"; then
        echo "  metrics identical (timings aside)"
    else
        echo "  METRICS DIFFER"
    fi
done

[ -z "$first" ] && exit 0
echo "== timings ($repeats interleaved runs; medians)"
log="$out/timings.txt"
: >"$log"
for _ in $(seq "$repeats"); do
    for side in before after; do
        bin=$before
        [ "$side" = after ] && bin=$after
        for task in spring two_body; do
            s=$("$bin" train --config "experiments/$task.toml" --model hnn --device cpu --out "$out/t_$side.safetensors" 2>/dev/null |
                grep -o "in [0-9.]* s" | head -1 | tr -dc '0-9.')
            echo "train_$task $side $s" >>"$log"
        done
        r=$("$bin" eval "$out/before/$first/0/hnn.safetensors" 2>/dev/null | grep -o '"rollout_seconds": [0-9.e-]*' | head -1 | awk '{print $2}')
        echo "eval_$first $side $r" >>"$log"
    done
done
python3 - "$log" <<'EOF'
import collections, statistics, sys
d = collections.defaultdict(list)
for line in open(sys.argv[1]):
    what, side, value = line.split()
    d[(what, side)].append(float(value))
for what in sorted({w for w, _ in d}):
    b, a = statistics.median(d[(what, "before")]), statistics.median(d[(what, "after")])
    print(f"  {what}: before {b:.4g} s, after {a:.4g} s, after/before {a / b:.3f}")
EOF
