//! The `[eval]` table: rollout starts, times, method and tolerances, the analysis quantities,
//! with one `validate` naming the wrong key.

use crate::device::Precision;
use crate::error::{Error, Result};
use hnn_core::{RolloutMethod, Solver};
use hnn_systems::System;
use serde::{Deserialize, Serialize};

/// Where rollout starts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum StartFrom {
    /// Fresh draws from the data task's initial-state sampler (generated data).
    #[default]
    Sampler,
    /// Random states of the test split (measured data).
    TestData,
}

fn default_rtol() -> f64 {
    1e-9
}
fn default_atol() -> f64 {
    1e-9
}
fn default_threshold() -> f64 {
    0.1
}

/// Evaluation settings (the `[eval]` table of an experiment).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalConfig {
    /// Number of rollout starts.
    pub starts: usize,
    /// Rollouts span [0, t_end]...
    pub t_end: f64,
    /// ...sampled at this many points.
    pub points: usize,
    /// `dopri5` (adaptive 5(4), as the reference's RK45), `dop853` (adaptive 8(5,3), as scipy's
    /// DOP853: fewer field evaluations at tight tolerances) or a fixed-step integrator name.
    #[serde(default)]
    pub method: RolloutMethod,
    /// Adaptive tolerances.
    #[serde(default = "default_rtol")]
    pub rtol: f64,
    /// Adaptive tolerances.
    #[serde(default = "default_atol")]
    pub atol: f64,
    /// Step of a fixed-step method.
    #[serde(default)]
    pub dt: Option<f64>,
    /// The true system (default: the data task's).
    #[serde(default)]
    pub truth: Option<System>,
    /// A second energy to report, as the reference analysis measured it.
    #[serde(default)]
    pub analysis_energy: Option<System>,
    /// The reference spring analysis's time protocol for `energy_mse_analysis`
    /// (analyze-spring.ipynb, "rescale time to compensate for noise effects"): after each start
    /// it multiplies its time grid in place by g = 1 + r and never resets it, so start i
    /// (0-based) compares the model at times·g^(i+1) with the truth at times·g^i. The paper's
    /// spring column was measured so (r = 0.9 × noise σ = 0.09). None: the same times for both.
    #[serde(default)]
    pub analysis_time_rescale: Option<f64>,
    /// Where the starts come from.
    #[serde(default)]
    pub start_from: StartFrom,
    /// Relative state error at which a prediction stops being valid.
    #[serde(default = "default_threshold")]
    pub valid_threshold: f64,
    /// The float type the learned field is evaluated in during rollouts; the integrator's states
    /// are f64 either way. `f64` (default) is the most accurate; `f32` is a model's training
    /// precision and the reference's own arithmetic (scipy's float64 states, a float32 PyTorch
    /// model): about twice as fast per stage, while the adaptive solver takes some more steps
    /// because of the f32 rounding. Adaptive or non-symplectic methods only.
    #[serde(default = "default_field_precision")]
    pub field_precision: Precision,
    /// The paper's notebook protocol, scored as `energy_mse_paper` (see [`crate::paper`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paper: Option<crate::paper::PaperProtocol>,
}

fn default_field_precision() -> Precision {
    Precision::F64
}

/// The most evaluation rollouts (`eval.starts`) a config or checkpoint may ask for.
pub const MAX_EVAL_STARTS: usize = 100_000;

/// The most output times per evaluation rollout (`eval.points`).
pub const MAX_EVAL_POINTS: usize = 1_000_000;

/// The most states all rollouts of an evaluation may hold together (starts × points).
pub const MAX_EVAL_STATES: f64 = 1e7;

/// The most fixed-step integrator steps all rollouts of an evaluation may take together.
pub const MAX_EVAL_STEPS: f64 = 1e10;

impl EvalConfig {
    /// Checks every field, naming the wrong one.
    pub fn validate(&self) -> Result<()> {
        let fail = |m: String| Err(Error::Config(m));
        if self.starts == 0 {
            return fail("eval.starts must be at least 1".into());
        }
        if self.points < 2 {
            return fail(format!("eval.points must be at least 2, got {}", self.points));
        }
        if self.starts > MAX_EVAL_STARTS || self.points > MAX_EVAL_POINTS {
            return fail(format!(
                "eval.starts = {} and eval.points = {} exceed the limits of {MAX_EVAL_STARTS} starts and \
                 {MAX_EVAL_POINTS} points (every rollout is kept in memory)",
                self.starts, self.points
            ));
        }
        let states = self.starts as f64 * self.points as f64;
        if states > MAX_EVAL_STATES {
            return fail(format!(
                "eval.starts × eval.points = {} × {} = {states:.3e} states, more than {MAX_EVAL_STATES:.0e} kept in \
                 memory for the model's and the true rollouts",
                self.starts, self.points
            ));
        }
        if !(self.t_end > 0.0 && self.t_end.is_finite()) {
            return fail(format!("eval.t_end must be positive, got {}", self.t_end));
        }
        if !(self.valid_threshold > 0.0 && self.valid_threshold.is_finite()) {
            return fail(format!("eval.valid_threshold must be positive, got {}", self.valid_threshold));
        }
        if let RolloutMethod::Fixed(kind) = self.method {
            match self.dt {
                Some(dt) if dt > 0.0 && dt.is_finite() => {
                    let steps = self.starts as f64 * self.t_end / dt;
                    if steps > MAX_EVAL_STEPS {
                        return fail(format!(
                            "eval.starts × eval.t_end / eval.dt = {steps:.3e} integrator steps, more than \
                             {MAX_EVAL_STEPS:.0e}: raise eval.dt or shorten eval.t_end"
                        ));
                    }
                }
                _ => return fail(format!("eval.dt must be positive for the fixed-step method `{}`", self.method)),
            }
            if self.field_precision != Precision::F64 && kind.build().is_symplectic() {
                return fail(format!(
                    "eval.field_precision = \"{}\" evaluates the field alone, without its Hamiltonian, which the \
                     symplectic method `{}` needs: use f64, dopri5, dop853 or a non-symplectic method",
                    self.field_precision.name(),
                    self.method
                ));
            }
        }
        if !(self.rtol > 0.0 && self.atol > 0.0) {
            return fail("eval.rtol and eval.atol must be positive".into());
        }
        if let Some(r) = self.analysis_time_rescale {
            if !(r >= 0.0 && r.is_finite()) {
                return fail(format!("eval.analysis_time_rescale must be a finite r ≥ 0, got {r}"));
            }
        }
        for s in [&self.truth, &self.analysis_energy].into_iter().flatten() {
            s.validate().map_err(|e| Error::Config(format!("eval: {e}")))?;
        }
        if let Some(p) = &self.paper {
            p.validate()?;
        }
        Ok(())
    }

    /// The output times.
    pub fn times(&self) -> Vec<f64> {
        (0..self.points).map(|i| self.t_end * i as f64 / (self.points - 1) as f64).collect()
    }

    /// The solver of the model's rollouts (a fixed-step method's step: `eval.dt`).
    pub fn solver(&self) -> Solver {
        self.method.solver(self.dt.unwrap_or(0.01), self.rtol, self.atol)
    }
}
