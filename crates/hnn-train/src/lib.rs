//! # hnn-train
//!
//! Training, evaluation, checkpoints and experiments (the `hnn` command lives in the root package).
//!
//! - [`model`]: the trainable models behind one enum ([`Model`](model::Model)) and their
//!   stored specification.
//! - [`optim`]: Adam (PyTorch semantics) and AdamW with checkpointable state.
//! - [`train`]: gradient and trajectory matching, the training loop.
//! - [`checkpoint`]: safetensors checkpoints with JSON metadata, atomic, validated on load.
//! - [`eval`]: derivative losses, energy MSE and other rollout metrics.
//! - [`plots`]: PNG plots.
//! - [`experiment`]: experiment configs (TOML) and the runner.
//! - [`table`]: the paper's Table 1 from run directories.
//! - [`device`]: device and precision selection; [`threads`]: CPU thread budget by work size.

pub mod checkpoint;
pub mod device;
pub mod error;
pub mod eval;
pub mod experiment;
mod json_float;
pub mod model;
pub mod optim;
pub mod plots;
pub mod table;
pub mod threads;
pub mod train;

pub use error::{Error, Result};
pub use experiment::{ExperimentConfig, RunOptions};
pub use model::{Model, ModelKind, ModelSpec, ModelState};
pub use train::{train, TrainConfig, TrainData};
