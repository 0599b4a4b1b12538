//! The `metrics.json` of a run: what was run, and each model's evaluation and timing.

use super::runner::RunOptions;
use crate::device::device_name;
use crate::error::Result;
use crate::eval::ModelMetrics;
use crate::training::TrainReport;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// What one seed's run of an experiment (state-space or pixels) was, for its `metrics.json`.
pub struct RunSetup<'a> {
    /// The experiment's name.
    pub experiment: &'a str,
    /// The seed.
    pub seed: u64,
    /// Where it trained.
    pub device: &'a candle_core::Device,
    /// How it was run.
    pub opts: &'a RunOptions,
    /// Optimizer steps per model.
    pub steps: usize,
    /// Training and test samples.
    pub samples: (usize, usize),
    /// When the run started.
    pub started: std::time::Instant,
}

impl RunMetrics {
    /// The metrics of a finished run, written with its effective config to `dir`
    /// (`metrics.json`, `config.toml`, atomically).
    pub fn write(setup: RunSetup, models: BTreeMap<String, ModelRun>, dir: &Path, config_toml: &str) -> Result<Self> {
        let metrics = RunMetrics {
            experiment: setup.experiment.to_string(),
            seed: setup.seed,
            device: device_name(setup.device).into(),
            dtype: setup.opts.precision.name().into(),
            steps: setup.steps,
            train_samples: setup.samples.0,
            test_samples: setup.samples.1,
            models,
            wall_seconds: setup.started.elapsed().as_secs_f64(),
        };
        let json = serde_json::to_string_pretty(&metrics).expect("metrics serialize");
        hnn_systems::io::atomic_write(&dir.join("metrics.json"), json.as_bytes())?;
        hnn_systems::io::atomic_write(&dir.join("config.toml"), config_toml.as_bytes())?;
        Ok(metrics)
    }
}

/// One model's results in `metrics.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRun {
    /// Evaluation.
    pub metrics: ModelMetrics,
    /// Training wall time, seconds: in an ensemble, that of the whole ensemble.
    pub train_seconds: f64,
    /// How many models trained together in this model's ensemble (1: alone).
    #[serde(default = "one")]
    pub ensemble_models: usize,
    /// Optimizer steps per second.
    pub steps_per_second: f64,
    /// Last training (batch) loss.
    #[serde(with = "crate::json_float")]
    pub final_train_loss: f64,
}

fn one() -> usize {
    1
}

impl ModelRun {
    /// A model's evaluation together with the timing and last loss of its training (alone; see
    /// [`ModelRun::in_ensemble`]).
    pub fn new(metrics: ModelMetrics, report: &TrainReport) -> Self {
        Self {
            metrics,
            train_seconds: report.seconds,
            ensemble_models: 1,
            steps_per_second: report.steps_per_second(),
            final_train_loss: report.train_curve.last().copied().unwrap_or(f64::NAN),
        }
    }

    /// The same, for a model trained in an ensemble of `models` (its `train_seconds` are the
    /// ensemble's).
    pub fn in_ensemble(self, models: usize) -> Self {
        Self { ensemble_models: models, ..self }
    }
}

/// `metrics.json` of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMetrics {
    /// Experiment name.
    pub experiment: String,
    /// Seed.
    pub seed: u64,
    /// `cpu`, `cuda`, `metal`.
    pub device: String,
    /// `f32`, `f64`.
    pub dtype: String,
    /// Optimizer steps per model.
    pub steps: usize,
    /// Training and test sizes.
    pub train_samples: usize,
    /// Test samples.
    pub test_samples: usize,
    /// Per model (by name).
    pub models: BTreeMap<String, ModelRun>,
    /// Total wall time of the run (data, training, evaluation, plots), seconds.
    pub wall_seconds: f64,
}
