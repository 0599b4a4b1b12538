//! The `[train]` table: the objective, the optimizer's settings, the schedule and the
//! bookkeeping cadence, with one `validate` naming the wrong key.

use crate::error::{Error, Result};
use crate::optim::OptimizerKind;
use hnn_core::IntegratorKind;
use serde::{Deserialize, Serialize};

/// What the loss compares.
///
/// Variants without settings are written `Gradient {}`: an empty struct variant, so that
/// `deny_unknown_fields` refuses extra keys in its table (serde lets a unit variant take any).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum Objective {
    /// Gradient matching: mean ‖ż − f(z)‖² over samples and components.
    Gradient {},
    /// Trajectory matching: from each observed z(t_{k−1}), integrate `substeps` steps of
    /// `integrator` across the sampling interval and fit z(t_k); gradients flow through every step.
    Trajectory {
        /// The integrator (by name in configs: `leapfrog`, `rk4`, `implicit_midpoint`, ...).
        integrator: IntegratorKind,
        /// Integrator steps per sampling interval.
        substeps: usize,
        /// How gradients flow back through the steps.
        #[serde(default)]
        backprop: Backprop,
    },
}

/// How trajectory matching backpropagates through its integrator steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum Backprop {
    /// Through the stored graph of every step (any integrator; memory grows with the steps).
    #[default]
    Stored,
    /// By running a time-reversible integrator (leapfrog, yoshida4, yoshida6, yoshida8) backwards, one step's graph
    /// at a time: memory flat in the number of steps (`hnn_core::integrators::reversible`).
    Reversible,
}

/// Learning-rate schedule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Schedule {
    /// Constant learning rate (the reference). An empty struct variant, as `Objective::Gradient`.
    Constant {},
    /// Cosine decay from the learning rate to `final_fraction` of it at the last step.
    Cosine { final_fraction: f64 },
}

impl Default for Objective {
    fn default() -> Self {
        Objective::Gradient {}
    }
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule::Constant {}
    }
}

impl Schedule {
    /// The learning rate at `step` (1-based) of `total`.
    pub fn rate(&self, base: f64, step: usize, total: usize) -> f64 {
        match *self {
            Schedule::Constant {} => base,
            Schedule::Cosine { final_fraction } => {
                let progress = (step.saturating_sub(1)) as f64 / (total.max(2) - 1) as f64;
                let cos = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
                base * (final_fraction + (1.0 - final_fraction) * cos)
            }
        }
    }
}

fn default_lr() -> f64 {
    1e-3
}
fn default_eval_every() -> usize {
    100
}

/// The most integrator steps trajectory matching takes across one sampling interval.
pub const MAX_SUBSTEPS: usize = 10_000;

/// Training settings (the `[train]` table of an experiment).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Gradient or trajectory matching.
    #[serde(default)]
    pub objective: Objective,
    /// Optimizer steps.
    pub steps: usize,
    /// Samples per step; 0 = the full training set every step.
    #[serde(default)]
    pub batch_size: usize,
    /// Adam (coupled L2, the reference) or AdamW.
    #[serde(default)]
    pub optimizer: OptimizerKind,
    /// Learning rate.
    #[serde(default = "default_lr")]
    pub learning_rate: f64,
    /// Weight decay.
    #[serde(default)]
    pub weight_decay: f64,
    /// Learning-rate schedule.
    #[serde(default)]
    pub schedule: Schedule,
    /// Clip the global gradient norm to this value.
    #[serde(default)]
    pub grad_clip: Option<f64>,
    /// Std of Gaussian noise added to the input states each step.
    #[serde(default)]
    pub input_noise: f64,
    /// Evaluate the test loss every this many steps (and at the end).
    #[serde(default = "default_eval_every")]
    pub eval_every: usize,
    /// Write a checkpoint every this many steps (0: only at the end).
    #[serde(default)]
    pub checkpoint_every: usize,
}

impl Default for TrainConfig {
    /// The paper's settings: gradient matching, 2000 steps of Adam at 1e-3 on the whole
    /// training set, the test loss every 100 steps, no checkpoint until the end.
    fn default() -> Self {
        Self {
            objective: Objective::Gradient {},
            steps: 2000,
            batch_size: 0,
            optimizer: OptimizerKind::default(),
            learning_rate: default_lr(),
            weight_decay: 0.0,
            schedule: Schedule::Constant {},
            grad_clip: None,
            input_noise: 0.0,
            eval_every: default_eval_every(),
            checkpoint_every: 0,
        }
    }
}

impl TrainConfig {
    /// Trajectory matching: from each observed state, `substeps` steps of `integrator` across
    /// the sampling interval, fitted to the next observed state (the other settings default).
    pub fn trajectory(integrator: IntegratorKind, substeps: usize) -> Self {
        Self {
            objective: Objective::Trajectory { integrator, substeps, backprop: Backprop::Stored },
            ..Self::default()
        }
    }

    /// Trajectory matching through a time-reversible integrator (leapfrog, yoshida4, yoshida6, yoshida8) with
    /// reversible backpropagation: memory flat in `substeps` (see [`Backprop::Reversible`]).
    pub fn reversible(integrator: IntegratorKind, substeps: usize) -> Self {
        Self {
            objective: Objective::Trajectory { integrator, substeps, backprop: Backprop::Reversible },
            ..Self::default()
        }
    }

    /// Checks every field, naming the wrong one.
    pub fn validate(&self) -> Result<()> {
        let fail = |m: String| Err(Error::Config(m));
        if self.steps == 0 {
            return fail("train.steps must be at least 1".into());
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return fail(format!("train.learning_rate must be positive, got {}", self.learning_rate));
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return fail(format!("train.weight_decay must be ≥ 0, got {}", self.weight_decay));
        }
        if let Some(c) = self.grad_clip {
            if !(c > 0.0 && c.is_finite()) {
                return fail(format!("train.grad_clip must be positive, got {c}"));
            }
        }
        if !(self.input_noise >= 0.0 && self.input_noise.is_finite()) {
            return fail(format!("train.input_noise must be ≥ 0, got {}", self.input_noise));
        }
        if self.eval_every == 0 {
            return fail("train.eval_every must be at least 1".into());
        }
        if let Schedule::Cosine { final_fraction } = self.schedule {
            if !(0.0..=1.0).contains(&final_fraction) {
                return fail(format!("train.schedule.final_fraction must be in [0, 1], got {final_fraction}"));
            }
        }
        if let Objective::Trajectory { substeps, integrator, backprop } = &self.objective {
            if *backprop == Backprop::Reversible && !integrator.build().is_time_reversible() {
                let reversible: Vec<_> = IntegratorKind::ALL
                    .iter()
                    .filter(|(k, _)| k.build().is_time_reversible())
                    .map(|(k, _)| k.name())
                    .collect();
                return fail(format!(
                    "train.objective.backprop = \"reversible\" needs a time-reversible integrator ({}), not {}",
                    reversible.join(", "),
                    integrator.name()
                ));
            }
            if *substeps == 0 || *substeps > MAX_SUBSTEPS {
                return fail(format!(
                    "train.objective.substeps must be in 1..={MAX_SUBSTEPS} integrator steps per sampling interval, \
                     got {substeps}"
                ));
            }
        }
        Ok(())
    }
}
