#!/usr/bin/env bash
# Type-checks the `cuda` feature on a machine without a GPU or a CUDA toolkit (toolchain from
# PyPI wheels: see scripts/cuda_toolchain.sh). To build runnable CUDA binaries for a GPU machine,
# use scripts/build_cuda.sh.
#   scripts/check_cuda.sh            # cargo clippy --workspace --all-targets --features cuda
#   CUDA_COMPUTE_CAP=80 scripts/check_cuda.sh
# CI runs it (.ci/run): the CUDA code is type-checked and linted on every change.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/cuda_toolchain.sh
nvcc --version | tail -1
CARGO_TARGET_DIR=target/cuda-check cargo clippy --workspace --all-targets --features cuda -- -D warnings
