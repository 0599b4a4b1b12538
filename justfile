# hnn tasks. Install just with `cargo install just` (or use the cargo commands shown).

# Run the whole test suite.
test:
    cargo test --workspace

# Run an experiment end to end (experiments/NAME.toml), e.g. `just exp two_body`.
exp NAME *ARGS:
    cargo run --release -- exp {{NAME}} {{ARGS}}

# Table 1 from every run under runs/.
table:
    cargo run --release -- table runs

# The core tour: integrators on the exact oscillator, then a trained NeuralHamiltonian.
example:
    cargo run --release --example oscillator

# Benchmarks (criterion).
bench:
    cargo bench --workspace

# Lints as CI runs them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Type-check the `cuda` feature without a GPU (nvcc from NVIDIA's PyPI wheels).
check-cuda:
    scripts/check_cuda.sh

# Type-check the `metal` feature for Apple silicon (no Mac needed; never run).
check-metal:
    scripts/check_metal.sh

# Build runnable CUDA binaries and pack them for a GPU machine without Rust (.cuda-pack/).
build-cuda:
    scripts/build_cuda.sh --pack

# On the GPU machine: tests, experiments and the comparison with PyTorch/JAX.
gpu-check *STEPS:
    scripts/gpu_check.sh {{STEPS}}

# Training and rollout speed against JAX and PyTorch on identical work.
compare:
    python3 benches/compare.py --install --torch --rollouts --tasks spring two_body

# The pictures of README and the book (docs/src/figures/), made by the experiments (seed 0).
assets *ARGS:
    scripts/assets.sh {{ARGS}}
