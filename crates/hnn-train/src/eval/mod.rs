//! Evaluation: derivative MSE on train and test (mean ± std/√N), and rollouts of the model
//! against the true system from the same starts, all trajectories batched in one tensor:
//! energy MSE under the true Hamiltonian (and under an analysis quantity, where the reference
//! used one), trajectory MSE, relative energy drift, valid-prediction time. The formulas are
//! [`crate::metrics`]'; this module runs the rollouts they score.
//!
//! - [`config`]: the `[eval]` table ([`EvalConfig`]);
//! - [`set`]: the starts and true trajectories ([`EvalSet`]).

pub mod config;
pub mod set;

pub use crate::metrics::{energy_decay_rate, MeanSem};
pub use config::{EvalConfig, StartFrom, MAX_EVAL_POINTS, MAX_EVAL_STARTS};
pub use set::EvalSet;

use crate::error::{Error, Result};
use crate::metrics::{self, finite};
use crate::model::ModelState;
use crate::training::{Loss, Objective, TrainData};
use candle_core::{DType, Device, Tensor};
use hnn_core::integrators::DormandPrince;
use hnn_core::{cpu_threads, rollout_parallel, InPrecision, Solver, VectorField};
use hnn_systems::AnalyticHamiltonian;
use serde::{Deserialize, Serialize};

/// Everything measured about one trained model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMetrics {
    /// Loss on the training split (per-sample MSE, mean ± sem).
    pub train_loss: MeanSem,
    /// Loss on the test split.
    pub test_loss: MeanSem,
    /// MSE between H_true along the model's rollout and along the true one (per start).
    pub energy_mse: MeanSem,
    /// The same under the analysis quantity, if configured.
    pub energy_mse_analysis: Option<MeanSem>,
    /// MSE between the model's and the true states along the rollouts.
    pub trajectory_mse: MeanSem,
    /// |H_true(z(t_end)) − H_true(z(0))| / |H_true(z(0))| along the model's rollout.
    pub energy_drift: MeanSem,
    /// First time the relative state error exceeds the threshold (t_end if never).
    pub valid_time: MeanSem,
    /// Whether the adaptive solver failed and a fixed-step RK4 rollout was used instead.
    pub solver_fallback: bool,
    /// Wall seconds of the model's batched rollouts (all starts together).
    #[serde(default)]
    pub rollout_seconds: f64,
    /// Energy MSE under the paper's notebook protocol, with its bootstrap error bar
    /// (`eval.paper`; see [`crate::paper`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_mse_paper: Option<crate::paper::PaperScore>,
    /// For a model with a learned friction (the dissipative HNN): its damping rate r(z) over the
    /// held-out states (each state's mean over momenta), mean ± sem. For a friction force −γp/m
    /// this is the model's γ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub damping_rate: Option<MeanSem>,
    /// The true system's damping rate (γ), where it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub damping_rate_true: Option<f64>,
    /// For a system that is not conservative: the decay rate λ of H_true along the model's
    /// rollouts (H ≈ H₀e^(−λt), least squares of ln H over the rollout; per start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_decay_rate: Option<MeanSem>,
    /// The same along the true rollouts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_decay_rate_true: Option<MeanSem>,
    /// The thermostat on this model's H and on the true H, per temperature (`[thermostat]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thermostat: Option<Vec<crate::thermostat::ThermostatResult>>,
}

/// A model's rollout, `[starts][T·2n]`, for plots.
pub type Rollouts = Vec<Vec<f64>>;

impl ModelMetrics {
    /// Errors unless every metric is a finite number, naming the model and the metric: a model
    /// whose rollouts blow up has no energy error to report (metrics.json would say "inf").
    /// A test loss without test data is NaN and allowed.
    fn check_finite(&self, kind: crate::model::ModelKind, data: &TrainData) -> Result<()> {
        let has_test = !data.test.is_empty();
        let mut named = vec![
            ("train loss", self.train_loss),
            ("energy MSE", self.energy_mse),
            ("trajectory MSE", self.trajectory_mse),
            ("energy drift", self.energy_drift),
        ];
        if has_test {
            named.push(("test loss", self.test_loss));
        }
        if let Some(a) = self.energy_mse_analysis {
            named.push(("energy MSE of the reference analysis", a));
        }
        if let Some(p) = self.energy_mse_paper {
            named.push(("energy MSE under the paper's protocol", MeanSem { mean: p.mean, sem: p.bootstrap, n: p.n }));
        }
        if let Some((what, m)) = named.iter().find(|(_, m)| !m.mean.is_finite()) {
            return Err(Error::Evaluation(format!(
                "the `{kind}` model's {what} is {} over {} values: its predictions or rollouts leave the finite \
                 numbers, so it has no meaningful score (did training diverge? try a lower learning rate or \
                 train.grad_clip)",
                m.mean, m.n
            )));
        }
        Ok(())
    }
}

/// Evaluates a trained model: losses on `data` (its own dtype/device) and rollouts in f64 on
/// the CPU against `set`, within the thread budget the execution layer picks for this size.
pub fn evaluate(
    state: &ModelState,
    objective: &Objective,
    data: &TrainData,
    set: &EvalSet,
    cfg: &EvalConfig,
) -> Result<(ModelMetrics, Rollouts)> {
    hnn_core::exec::threads::run_sized(&state.device, set.starts.len(), state.spec.widest(), || {
        let frozen = state.frozen(state.dtype, &state.device)?;
        let loss = Loss::new(objective, data.interval)?;
        let train_loss = MeanSem::of(&loss.per_sample(&frozen, &data.train)?);
        let test_loss = MeanSem::of(&loss.per_sample(&frozen, &data.test)?);

        let precision = cfg.field_precision.dtype();
        let rollout_model = state.frozen(precision, &Device::Cpu)?;
        let field = InPrecision { field: &rollout_model, dtype: precision };
        let rollout_started = std::time::Instant::now();
        let (flat, fallback) = roll_out(&field, set, cfg)?;
        let rollout_seconds = rollout_started.elapsed().as_secs_f64();
        let h = set.system.hamiltonian();
        let analysis = cfg.analysis_energy.as_ref().map(|s| s.hamiltonian());
        let scores = Scores::of(&flat, set, cfg, h.as_ref(), analysis.as_deref());
        let (energy_decay_rate, energy_decay_rate_true) = if h.is_conservative() {
            (None, None)
        } else {
            let width = set.starts[0].len();
            let along = |traj: &[f64]| -> f64 {
                let e: Vec<f64> = traj.chunks(width).map(|z| h.energy_at(z)).collect();
                metrics::energy_decay_rate(&set.times, &e).unwrap_or(f64::NAN)
            };
            let model: Vec<f64> = flat.iter().map(|t| along(t)).filter(|x| x.is_finite()).collect();
            let truth: Vec<f64> = set.truth.iter().map(|t| along(t)).filter(|x| x.is_finite()).collect();
            (Some(MeanSem::of(&model)), Some(MeanSem::of(&truth)))
        };
        let analysis_mse = match cfg.analysis_time_rescale {
            Some(r) => {
                let quantity = analysis.as_deref().unwrap_or(h.as_ref());
                Some(MeanSem::of(&rescaled_energy_mse(&field, set, cfg, quantity, 1.0 + r)?))
            }
            None => analysis.map(|_| MeanSem::of(&scores.analysis_mse)),
        };
        let metrics = ModelMetrics {
            train_loss,
            test_loss,
            energy_mse: MeanSem::of(&scores.energy_mse),
            energy_mse_analysis: analysis_mse,
            trajectory_mse: MeanSem::of(&scores.trajectory_mse),
            energy_drift: MeanSem::of(&scores.drift),
            valid_time: MeanSem::of(&scores.valid_time),
            solver_fallback: fallback,
            rollout_seconds,
            energy_mse_paper: match &set.paper {
                Some(p) => Some(p.score(&rollout_model)?),
                None => None,
            },
            damping_rate: metrics::damping_rate(&frozen, data.held_out_states())?,
            damping_rate_true: h.damping_rate(),
            energy_decay_rate,
            energy_decay_rate_true,
            thermostat: None,
        };
        metrics.check_finite(state.spec.kind, data)?;
        Ok((metrics, flat))
    })
}

/// The model's rollouts from every start, `[starts][T·2n]`, and whether the adaptive solver
/// failed so that a fixed-step RK4 rollout stands in.
fn roll_out(field: &(dyn VectorField + Sync), set: &EvalSet, cfg: &EvalConfig) -> Result<(Rollouts, bool)> {
    let width = set.starts[0].len();
    let z0 = Tensor::from_vec(set.starts.concat(), (set.starts.len(), width), &Device::Cpu)?;
    let (traj, fallback) = match rollout_parallel(field, &z0, &set.times, &cfg.solver(), cpu_threads()) {
        Ok(t) => (t, false),
        Err(e) => {
            tracing::warn!("adaptive rollout failed ({e}); falling back to RK4 with a fixed step");
            let dt = (set.times[1] - set.times[0]) / 20.0;
            let rk4 = Solver::fixed(hnn_core::integrators::Rk4, dt);
            (rollout_parallel(field, &z0, &set.times, &rk4, cpu_threads())?, true)
        }
    };
    // [T, B, 2n] → per start [T·2n]
    let t_len = set.times.len();
    let flat = traj.transpose(0, 1)?.contiguous()?.reshape((set.starts.len(), t_len * width))?.to_vec2::<f64>()?;
    Ok((flat, fallback))
}

/// The per-start scores of a model's rollouts against the true ones.
struct Scores {
    energy_mse: Vec<f64>,
    analysis_mse: Vec<f64>,
    trajectory_mse: Vec<f64>,
    drift: Vec<f64>,
    valid_time: Vec<f64>,
}

impl Scores {
    fn of(
        flat: &Rollouts,
        set: &EvalSet,
        cfg: &EvalConfig,
        h: &dyn AnalyticHamiltonian,
        analysis: Option<&dyn AnalyticHamiltonian>,
    ) -> Self {
        let width = set.starts[0].len();
        let t_len = set.times.len();
        let mut s = Scores {
            energy_mse: vec![],
            analysis_mse: vec![],
            trajectory_mse: vec![],
            drift: vec![],
            valid_time: vec![],
        };
        for (model, truth) in flat.iter().zip(&set.truth) {
            s.energy_mse.push(metrics::energy_mse(&|z| h.energy_at(z), model, truth, width));
            if let Some(a) = analysis {
                s.analysis_mse.push(metrics::energy_mse(&|z| a.energy_at(z), model, truth, width));
            }
            s.trajectory_mse.push(metrics::trajectory_mse(model, truth, width));
            let (e0, e1) = (h.energy_at(&model[..width]), h.energy_at(&model[(t_len - 1) * width..]));
            s.drift.push(metrics::energy_drift(e0, e1));
            s.valid_time.push(metrics::valid_time(&set.times, model, truth, width, cfg.valid_threshold));
        }
        s
    }
}

/// Energy MSE per start under the reference spring analysis's time protocol (see
/// [`EvalConfig::analysis_time_rescale`]): start i, truth at times·gⁱ, model at times·gⁱ⁺¹. The
/// model's rollouts stay batched, over the union of every start's output times.
fn rescaled_energy_mse(
    model: &(dyn hnn_core::VectorField + Sync),
    set: &EvalSet,
    cfg: &EvalConfig,
    quantity: &dyn AnalyticHamiltonian,
    g: f64,
) -> Result<Vec<f64>> {
    let width = set.starts[0].len();
    let grid = |i: usize| -> Vec<f64> { set.times.iter().map(|t| t * g.powi(i as i32)).collect() };
    let mut union: Vec<f64> = (0..set.starts.len()).flat_map(|i| grid(i + 1)).collect();
    union.sort_by(f64::total_cmp);
    union.dedup();
    let z0 = Tensor::from_vec(set.starts.concat(), (set.starts.len(), width), &Device::Cpu)?;
    let traj =
        rollout_parallel(model, &z0, &union, &cfg.solver(), cpu_threads())?.to_dtype(DType::F64)?.to_vec3::<f64>()?; // [T, B, 2n]
    let h = set.system.hamiltonian();
    let solver = DormandPrince::truth();
    let mut out = Vec::with_capacity(set.starts.len());
    for (i, y0) in set.starts.iter().enumerate() {
        let truth = solver.solve_slice(|y, dy| h.time_derivatives_at(y, dy), y0, &grid(i))?;
        let se: f64 = grid(i + 1)
            .iter()
            .zip(truth.chunks(width))
            .map(|(t, true_state)| {
                let k = union.partition_point(|u| u < t);
                (quantity.energy_at(&traj[k][i]) - quantity.energy_at(true_state)).powi(2)
            })
            .sum();
        out.push(finite(se / set.times.len() as f64));
    }
    Ok(out)
}
