#!/usr/bin/env bash
# Builds runnable CUDA binaries here (no GPU, no CUDA toolkit needed: scripts/cuda_toolchain.sh)
# and bundles them, stripped, into .cuda-bundle/ (gitignored) for a GPU machine without a Rust
# toolchain: the `hnn` command, every test binary and the criterion benches, all with
# `--features cuda`, release profile. scripts/gpu_check.sh runs the bundle there.
#   scripts/build_cuda.sh            # bundle in .cuda-bundle/
#   scripts/build_cuda.sh --pack     # and packed into .cuda-pack/bundle.tar.xz (~20 MB, to carry)
#   CUDA_COMPUTE_CAP=80 CUDA_VERSION=13.0 scripts/build_cuda.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/cuda_toolchain.sh
LINK=$(cuda_link_dir)
export CARGO_TARGET_DIR=target/cuda
export RUSTFLAGS="${RUSTFLAGS:-} -L native=$LINK"
BUNDLE=.cuda-bundle
rm -rf "$BUNDLE" && mkdir -p "$BUNDLE/tests" "$BUNDLE/benches"
cargo build --release --features cuda --bin hnn
cp "$CARGO_TARGET_DIR/release/hnn" "$BUNDLE/hnn"
# Test and bench executables, named after their targets (cargo's JSON messages list them).
list_executables() {
    cargo "$@" --features cuda --no-run --message-format=json \
        | "$VENV/bin/python" -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and "example" not in m["target"]["kind"]:
        print(m["target"]["name"], m["executable"])'
}
list_executables test --release --workspace | while read -r name exe; do
    cp "$exe" "$BUNDLE/tests/$name"
done
list_executables bench --bench training | while read -r name exe; do
    cp "$exe" "$BUNDLE/benches/$name"
done
strip "$BUNDLE/hnn" "$BUNDLE"/tests/* "$BUNDLE"/benches/*
pwd > "$BUNDLE/SOURCE_ROOT"
du -sh "$BUNDLE"; ls "$BUNDLE"/tests
# --pack: one solid xz archive for the trip (the binaries share their ~40 MB of embedded PTX,
# which a dictionary larger than one binary stores once): ~1 GB → ~20 MB.
if [ "${1:-}" = "--pack" ]; then
    mkdir -p .cuda-pack
    tar -cf - -C "$BUNDLE" . | xz -T1 --lzma2=preset=3,dict=192MiB > .cuda-pack/bundle.tar.xz.tmp
    mv .cuda-pack/bundle.tar.xz.tmp .cuda-pack/bundle.tar.xz
    du -sh .cuda-pack/bundle.tar.xz
fi
