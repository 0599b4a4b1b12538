# hnn tasks. Install just with `cargo install just` (or use the cargo commands shown).

# Run the whole test suite.
test:
    cargo test --workspace

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
