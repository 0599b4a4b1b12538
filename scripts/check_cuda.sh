#!/usr/bin/env bash
# Type-checks the `cuda` feature on a machine without a GPU or a CUDA toolkit: nvcc and the CUDA
# headers come from NVIDIA's PyPI wheels (CUDA 13.4, ~340 MB, into .venv-cuda/), which is all
# candle's build scripts need for `cargo check` (linking a runnable binary also needs the driver
# libraries: see README, "GPU").
#   scripts/check_cuda.sh            # cargo check --workspace --features cuda
#   CUDA_COMPUTE_CAP=80 scripts/check_cuda.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-cuda
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --no-deps \
    "nvidia-cuda-nvcc==13.4.*" "nvidia-nvvm==13.4.*" "nvidia-cuda-crt==13.4.*" \
    "nvidia-cuda-runtime==13.4.*" nvidia-cuda-cccl
CUDA_ROOT=$("$VENV/bin/python" -c "import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], 'cu13'))")
export PATH="$CUDA_ROOT/bin:$PATH"
export CUDA_HOME="$CUDA_ROOT" CUDA_PATH="$CUDA_ROOT"
export CUDA_COMPUTE_CAP="${CUDA_COMPUTE_CAP:-90}"
nvcc --version | tail -1
cargo check --workspace --all-targets --features cuda
