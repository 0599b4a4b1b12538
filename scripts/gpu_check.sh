#!/usr/bin/env bash
# The whole CUDA check, run ON the GPU machine (it needs no Rust toolchain): the bundle that
# scripts/build_cuda.sh made here (.cuda-bundle/) is carried there with the repository.
#   scripts/gpu_check.sh [tests] [exp] [compare] [bench] [pixels]   # default: tests exp compare
# Writes logs to $OUT (or /tmp/gpu-check) and prints a summary. Steps:
#   tests    every test binary, built with --features cuda (tests/gpu.rs compares the GPU with
#            the CPU: models, integrators, training, experiments, pixels); `gpu`: that one alone;
#   exp      `hnn exp two_body` and `hnn exp spring` with --device cuda, timed;
#   compare  benches/gpu_compare.py: one training step at batch 1 000 and 65 536 against PyTorch
#            eager and JAX jit on the same GPU;
#   bench    the criterion benches (short measurement times); `primitives`: only the per-op
#            costs at [65 536, 200];
#   pixels   `hnn exp pixels --device cuda`, timed.
set -uo pipefail
cd "$(dirname "$0")/.."
B=.cuda-bundle
# The bundle travels packed (scripts/build_cuda.sh --pack): ~20 MB instead of ~1 GB.
if [ ! -x "$B/hnn" ] && [ -f .cuda-pack/bundle.tar.xz ]; then
    mkdir -p "$B" && tar -xJf .cuda-pack/bundle.tar.xz -C "$B" || exit 1
fi
LOG=${OUT:-/tmp/gpu-check}
mkdir -p "$LOG"
STEPS=("$@")
[ ${#STEPS[@]} -gt 0 ] || STEPS=(tests exp compare)
has() { [[ " ${STEPS[*]} " == *" $1 "* ]]; }

# The CUDA libraries cudarc links (the driver's libcuda.so.1 is found by the loader already).
for lib in libcublas.so.13 libcublasLt.so.13 libcurand.so.10 libnvrtc.so.13; do
    dir=$(find /usr/local/cuda*/ /usr/lib /opt -name "$lib" -printf '%h\n' 2>/dev/null | head -1)
    [ -n "$dir" ] && export LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
done
nvidia-smi -L
if ldd "$B/hnn" | grep "not found"; then
    echo "missing libraries (above); LD_LIBRARY_PATH=$LD_LIBRARY_PATH"; exit 1
fi
# Tests find experiments/ through the path they were compiled in.
SRC=$(cat "$B/SOURCE_ROOT")
if [ ! -e "$SRC/experiments" ]; then mkdir -p "$(dirname "$SRC")" && ln -sfn "$PWD" "$SRC"; fi

status=0
tests=()
has tests && tests=("$B"/tests/*)
has gpu && tests=("$B"/tests/gpu)
if [ ${#tests[@]} -gt 0 ]; then
    for t in "${tests[@]}"; do
        exe=$(realpath "$t")
        if (cd "$SRC" && timeout 300 "$exe" --test-threads 4) > "$LOG/test_$(basename "$t").log" 2>&1; then
            echo "PASS $(basename "$t"): $(grep -h '^test result' "$LOG/test_$(basename "$t").log" | tail -1)"
        else
            echo "FAIL $(basename "$t")"; grep -h -A15 "panicked\|^failures:" "$LOG/test_$(basename "$t").log" | head -60
            status=1
        fi
    done
fi
if has exp; then
    for name in two_body spring; do
        start=$(date +%s.%N)
        timeout 300 "$B/hnn" exp "$name" --device cuda --out /tmp/gpu-runs > "$LOG/exp_$name.log" 2>&1 || status=1
        echo "hnn exp $name --device cuda: $(awk "BEGIN{print $(date +%s.%N) - $start}") s"
        tail -4 "$LOG/exp_$name.log"
    done
fi
if has compare; then
    timeout 500 python3 benches/gpu_compare.py --bench "$B/benches/training" --batches 1000 65536 2>&1 \
        | tee "$LOG/compare.log" || status=1
fi
if has bench; then
    timeout 500 "$B/benches/training" --bench --warm-up-time 1 --measurement-time 2 2>&1 \
        | grep -E "^[a-z_0-9]+/|time:" | tee "$LOG/bench.log" || status=1
fi
if has primitives; then
    timeout 300 "$B/benches/training" --bench --warm-up-time 1 --measurement-time 2 primitives 2>&1 \
        | grep -E "^[a-z_0-9]+/|time:" | tee "$LOG/primitives.log" || status=1
fi
if has pixels; then
    start=$(date +%s.%N)
    timeout 580 "$B/hnn" exp pixels --device cuda --out /tmp/gpu-runs > "$LOG/exp_pixels.log" 2>&1 || status=1
    echo "hnn exp pixels --device cuda: $(awk "BEGIN{print $(date +%s.%N) - $start}") s"
    tail -4 "$LOG/exp_pixels.log"
fi
exit $status
