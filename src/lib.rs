//! # hnn: Hamiltonian Neural Networks on candle
//!
//! This facade re-exports the workspace's crates:
//! - [`core`] (`hnn-core`): the `Hamiltonian`/`VectorField` traits, `NeuralHamiltonian`,
//!   `SeparableHamiltonian`, `Baseline`, and the integrators.
//! - [`systems`] (`hnn-systems`): analytic systems, data generators and datasets.
//! - [`pixels`] (`hnn-pixels`): the pixel pendulum.
//! - [`train`] (`hnn-train`): training, evaluation, checkpoints, experiments.
//! - [`cli`]: the `hnn` command line.

pub mod cli;

pub use hnn_core as core;
pub use hnn_pixels as pixels;
pub use hnn_systems as systems;
pub use hnn_train as train;

/// Tunes mimalloc (the global allocator of the `hnn` binary and the benchmarks) for training
/// loops: keep freed memory instead of returning it to the OS after 10 ms. Each training step
/// frees and reallocates the same large temporaries; with purging on, the kernel zeroes those
/// pages again every step (measured: 15 900 → 2 100 page faults, 5.7 → 3.7 s on a 100-step
/// spring run). Call at the start of `main`.
pub fn keep_freed_memory() {
    // mi_option_purge_delay: index 15 in mimalloc v2 and v3 (mimalloc.h); -1 = never purge.
    const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: sets a process-wide allocator option; mimalloc reads options atomically.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}
