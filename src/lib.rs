//! # hnn: Hamiltonian Neural Networks on candle
//!
//! This facade re-exports the workspace's crates:
//! - [`core`] (`hnn-core`): the `Hamiltonian`/`VectorField` traits, `NeuralHamiltonian`,
//!   `SeparableHamiltonian`, `Baseline`, and the integrators.
//! - [`systems`] (`hnn-systems`): analytic systems, data generators and datasets.
//! - [`pixels`] (`hnn-pixels`): the pixel pendulum.
//! - [`train`] (`hnn-train`): training, evaluation, experiments and the command line.

pub use hnn_core as core;
pub use hnn_pixels as pixels;
pub use hnn_systems as systems;
pub use hnn_train as train;
