//! The pixel experiment's configuration (`experiments/pixels.toml`): data, model, training and
//! evaluation settings, validated with errors that name the field.

use crate::data::PixelTask;
use crate::model::{LatentStep, LossWeights};
use hnn_core::IntegratorKind;
use hnn_train::experiment::parse_config;
use hnn_train::training::TrainConfig;
use hnn_train::{Error, ModelKind, ModelSpec, Result};
use serde::{Deserialize, Serialize};

pub(super) fn default_kinds() -> Vec<ModelKind> {
    vec![ModelKind::BASELINE, ModelKind::HNN]
}
pub(super) fn default_canonical_weight() -> f64 {
    1.0
}
pub(super) fn default_weight() -> f64 {
    0.1
}

/// The `[model]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PixelModelConfig {
    /// Autoencoder width (the paper: 200).
    pub autoencoder_hidden: usize,
    /// Hidden widths of the latent dynamics MLP (the paper: [200, 200]).
    pub dynamics_hidden: Vec<usize>,
    /// Activation of the latent dynamics (the autoencoder uses ReLU).
    pub activation: hnn_core::Activation,
    /// Latent dynamics models to train.
    #[serde(default = "default_kinds")]
    pub kinds: Vec<ModelKind>,
    /// Weight of the latent dynamics loss (the paper: 0.1).
    #[serde(default = "default_weight")]
    pub dynamics_weight: f64,
    /// Weight of the canonical-coordinates loss ‖z_p,t − (z_q,t+1 − z_q,t)‖² (the paper: 1).
    #[serde(default = "default_canonical_weight")]
    pub canonical_weight: f64,
    /// Integrator of the latent dynamics loss across its horizon (the reference: `euler`).
    #[serde(default = "default_latent_integrator")]
    pub latent_integrator: IntegratorKind,
    /// Its steps across the horizon.
    #[serde(default = "default_latent_substeps")]
    pub latent_substeps: usize,
    /// Frames from z_t to the dynamics loss's target z_{t+horizon} (the reference: 1).
    #[serde(default = "default_latent_horizon")]
    pub latent_horizon: usize,
}

pub(super) fn default_latent_integrator() -> IntegratorKind {
    IntegratorKind::Euler
}
pub(super) fn default_latent_substeps() -> usize {
    1
}
pub(super) fn default_latent_horizon() -> usize {
    1
}

impl PixelModelConfig {
    /// The weights of the latent losses.
    pub fn loss_weights(&self) -> LossWeights {
        LossWeights { dynamics: self.dynamics_weight, canonical: self.canonical_weight }
    }

    /// The latent step of the dynamics loss.
    pub fn latent_step(&self) -> Result<LatentStep> {
        let integrator = self.latent_integrator;
        if self.latent_substeps == 0 {
            return Err(Error::Config("model.latent_substeps must be positive".into()));
        }
        if self.latent_horizon == 0 {
            return Err(Error::Config("model.latent_horizon must be at least 1 frame".into()));
        }
        Ok(LatentStep { integrator, substeps: self.latent_substeps, horizon: self.latent_horizon })
    }
}

/// The `[eval]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PixelEvalConfig {
    /// Held-out trajectories rolled out (fresh draws of the same task).
    pub trajectories: usize,
    /// Frames rolled out.
    pub rollout_steps: usize,
    /// Integrator in latent time (one frame = one time unit, as in training).
    pub method: IntegratorKind,
    /// Its step.
    pub dt: f64,
    /// Show every this many frames in the strip.
    pub strip_every: usize,
    /// A second energy measured along the mapped rollouts (`energy_mse_analysis`), in the same
    /// (θ, p) coordinates: the reference analysis measured 1.9(1 − cos θ) + (θ̇/4)², one eighth
    /// of the physical energy, which is the pendulum m = 8, g = 0.2375, l = 1.
    #[serde(default)]
    pub analysis_energy: Option<hnn_systems::System>,
}

/// A pixel experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PixelExperiment {
    /// Name (output folder, table row).
    pub name: String,
    /// Must be "pixels".
    pub kind: String,
    /// What it reproduces.
    #[serde(default)]
    pub description: String,
    /// The data.
    pub data: PixelTask,
    /// The models.
    pub model: PixelModelConfig,
    /// Training (hnn-train's settings).
    pub train: TrainConfig,
    /// Evaluation.
    pub eval: PixelEvalConfig,
}

impl PixelExperiment {
    /// Parses and validates TOML, naming the wrong field.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self> {
        parse_config(text, origin, Self::validate)
    }

    /// The same experiment shrunk to a smoke run of `steps` steps (tests, CI): 10 trajectories
    /// of 20 steps, an autoencoder of width 32, a 16-16 dynamics network, batches of 50, two
    /// evaluation rollouts of 30 steps.
    pub fn smoke(mut self, steps: usize) -> Result<Self> {
        self.data.trajectories = 10;
        self.data.steps = 20;
        self.model.autoencoder_hidden = 32;
        self.model.dynamics_hidden = vec![16, 16];
        self.train.steps = steps;
        self.train.batch_size = 50;
        self.train.eval_every = (steps / 2).max(1);
        self.eval.trajectories = 2;
        self.eval.rollout_steps = 30;
        self.validate()?;
        Ok(self)
    }

    /// Checks every section.
    pub fn validate(&self) -> Result<()> {
        let fail = |m: String| Err(Error::Config(m));
        if self.kind != "pixels" {
            return fail(format!("kind must be \"pixels\", got `{}`", self.kind));
        }
        hnn_train::experiment::config::plain_file_name("name", &self.name)?;
        self.data.validate().map_err(|e| Error::Config(format!("data: {e}")))?;
        if self.model.autoencoder_hidden == 0 || self.model.kinds.is_empty() {
            return fail("model.autoencoder_hidden must be positive and model.kinds non-empty".into());
        }
        for (name, w) in
            [("dynamics_weight", self.model.dynamics_weight), ("canonical_weight", self.model.canonical_weight)]
        {
            if !(w >= 0.0 && w.is_finite()) {
                return fail(format!("model.{name} must be a finite number ≥ 0, got {w}"));
            }
        }
        for kind in &self.model.kinds {
            self.spec(*kind).validate()?;
        }
        let horizon = self.model.latent_step()?.horizon;
        if horizon > self.data.steps {
            return fail(format!(
                "model.latent_horizon ({horizon} frames) must not exceed data.steps ({}): no window would fit in a \
                 trajectory",
                self.data.steps
            ));
        }
        self.train.validate()?;
        if !matches!(self.train.objective, hnn_train::training::Objective::Gradient {}) || self.train.input_noise != 0.0
        {
            return fail(
                "train: the pixel model trains on its own losses; leave `objective` and `input_noise` unset".into(),
            );
        }
        let e = &self.eval;
        if e.trajectories == 0 || e.rollout_steps == 0 || e.strip_every == 0 {
            return fail("eval.trajectories, eval.rollout_steps and eval.strip_every must be positive".into());
        }
        if !(e.dt > 0.0 && e.dt <= 1.0) {
            return fail(format!("eval.dt must be in (0, 1] (frames are one time unit apart), got {}", e.dt));
        }
        if let Some(system) = &e.analysis_energy {
            system.validate().map_err(|err| Error::Config(format!("eval.analysis_energy: {err}")))?;
            if system.dof() != 1 {
                return fail("eval.analysis_energy must be a one-degree-of-freedom system".into());
            }
        }
        Ok(())
    }

    /// The latent dynamics' specification.
    pub fn spec(&self, kind: ModelKind) -> ModelSpec {
        ModelSpec { kind, dof: 1, hidden: self.model.dynamics_hidden.clone(), activation: self.model.activation }
    }
}
