#!/usr/bin/env bash
# Type-checks the `metal` feature of the library crates for Apple silicon (aarch64-apple-darwin)
# on any machine, warnings as errors: what is verified for Metal until a Mac runs it. The `hnn`
# binary is left out (mimalloc's C build needs an Apple SDK).
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add aarch64-apple-darwin >/dev/null
RUSTFLAGS="-D warnings" cargo check --target aarch64-apple-darwin --features metal \
    -p hnn-core -p hnn-systems -p hnn-train -p hnn-pixels --all-targets --target-dir target/metal-check
