//! Experiments: one TOML file each under `experiments/`. Running one generates or loads the
//! data, trains every configured model (HNN and baseline by default) with the same settings,
//! evaluates them on the same rollouts, and writes under `<out>/<name>/<seed>/`: one checkpoint
//! per model (`hnn.safetensors`, `baseline.safetensors`, with optimizer sidecars),
//! `metrics.json`, `config.toml` (the effective configuration) and PNG plots.

//!
//! One job per module: [`config`] (the file and its validation), [`runner`] (the seeds, their
//! ensembles, evaluation and writing), [`metrics`] (`metrics.json`), [`plots`].

pub mod config;
pub mod metrics;
pub mod plots;
pub mod runner;

pub use config::{parse_config, DataConfig, ExperimentConfig, ModelConfig};
pub use metrics::{ModelRun, RunMetrics, RunSetup};
pub use plots::{color, loss_series};
pub use runner::{model_seed, run, RunOptions, ENSEMBLE_DATA_BYTES, ENSEMBLE_SEEDS};
