#!/usr/bin/env bash
# The Python package's tests, as CI runs them: a fresh virtual environment (.venv-py), maturin,
# numpy, pytest and scikit-learn from PyPI, the package built in place (`maturin develop`, the
# dev profile, which reuses what `cargo test --workspace` compiled), then pytest. The tests that
# compare with the `hnn` command use target/debug/hnn (or $HNN_BIN). torch is not installed:
# the PyTorch interop test runs where it is.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$PWD/.venv-py"
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "maturin>=1.9.4,<2" numpy pytest scikit-learn
VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" maturin develop --quiet -m crates/hnn-py/Cargo.toml
cargo build --quiet --bin hnn
HNN_BIN="${HNN_BIN:-$PWD/target/debug/hnn}" "$venv/bin/python" -m pytest -q crates/hnn-py/tests "$@"
