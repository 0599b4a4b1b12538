//! # hnn-train
//!
//! Training, evaluation, checkpoints and experiments (the `hnn` command lives in the root package).
//!
//! Features, all off by default so that a library user compiles no command-line code: `cli`
//! (clap's value parsing for [`device`]'s enums), `progress` (an indicatif progress bar while
//! training), `plots` (PNG plots of experiments, with plotters and the DejaVu font). The `hnn`
//! command turns all three on.
//!
//! - [`hnn_model`]: [`HnnModel`], the model API for your own data: fit, predict, roll out,
//!   evaluate, save and load, in a few lines.
//! - [`model`]: the models hnn trains: the [`LearnedModel`](model::LearnedModel) trait, kinds of
//!   model registered by name ([`model::ModelKind`]), the built-in kinds, and a model
//!   with its variables ([`model::ModelState`]).
//! - [`optim`]: Adam (PyTorch semantics) and AdamW with checkpointable state.
//! - [`training`]: gradient and trajectory matching, the training loop, for one model or an
//!   ensemble of many stepping together (each bit for bit its own run).
//! - [`checkpoint`]: safetensors checkpoints with JSON metadata and a checksum, atomic, verified
//!   and validated on load.
//! - [`metrics`]: the metrics as plain functions on trajectories (energy MSE, trajectory MSE,
//!   drift, valid time, decay and damping rates), one definition each.
//! - [`eval`]: an experiment's evaluation: derivative losses, and rollouts scored by [`metrics`].
//! - [`paper`]: Table 1 as the paper measured it: the analysis notebooks' energy-MSE protocol.
//! - [`plots`]: PNG plots (drawn with the `plots` feature).
//! - [`progress`]: the training progress bar (shown with the `progress` feature).
//! - [`thermostat`]: a learned H under BAOAB Langevin dynamics, scored against the exact
//!   Boltzmann marginal and the true H's barrier-crossing rate.
//! - [`experiment`]: experiment configs (TOML) and the runner.
//! - [`table`]: the paper's Table 1 from run directories.
//! - [`device`]: device and precision selection.

pub mod checkpoint;
pub mod device;
pub mod error;
pub mod eval;
pub mod experiment;
pub mod hnn_model;
mod json_float;
pub mod metrics;
pub mod model;
pub mod optim;
pub mod paper;
pub mod plots;
pub mod progress;
pub mod table;
pub mod thermostat;
pub mod training;

pub use error::{Error, Result};
pub use experiment::{ExperimentConfig, RunOptions};
pub use hnn_model::{Evaluation, FitOptions, HnnModel, ModelConfig};
pub use model::{Model, ModelKind, ModelSpec, ModelState};
pub use training::{train, TrainConfig, TrainData};
