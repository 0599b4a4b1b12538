//! Evaluation: derivative MSE on train and test (mean ± std/√N), and rollouts of the model
//! against the true system from the same starts, all trajectories batched in one tensor:
//! energy MSE under the true Hamiltonian (and under an analysis quantity, where the reference
//! used one), trajectory MSE, relative energy drift, valid-prediction time.

use crate::device::Precision;
use crate::error::{Error, Result};
use crate::model::ModelState;
use crate::training::{Objective, TrainData};
use candle_core::{DType, Device, Tensor};
use hnn_core::integrators::{DormandPrince, EmbeddedPair};
use hnn_core::{cpu_threads, rollout_parallel, InPrecision, IntegratorKind, Solver};
use hnn_systems::{AnalyticHamiltonian, Dataset, InitialStates, System};
use rand::seq::IndexedRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
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

fn default_method() -> String {
    "dopri5".into()
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
    #[serde(default = "default_method")]
    pub method: String,
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
        if !(self.t_end > 0.0 && self.t_end.is_finite()) {
            return fail(format!("eval.t_end must be positive, got {}", self.t_end));
        }
        if !(self.valid_threshold > 0.0 && self.valid_threshold.is_finite()) {
            return fail(format!("eval.valid_threshold must be positive, got {}", self.valid_threshold));
        }
        if self.adaptive_pair().is_none() {
            self.method
                .parse::<IntegratorKind>()
                .map_err(|e| Error::Config(format!("eval.method: {e}; or the adaptive `dop853`")))?;
            match self.dt {
                Some(dt) if dt > 0.0 && dt.is_finite() => {}
                _ => return fail(format!("eval.dt must be positive for the fixed-step method `{}`", self.method)),
            }
        }
        if self.field_precision != Precision::F64 && self.adaptive_pair().is_none() {
            let kind: IntegratorKind = self.method.parse().map_err(|e| Error::Config(format!("eval.method: {e}")))?;
            if kind.build().is_symplectic() {
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

    /// The embedded pair of an adaptive `method`; `None` for a fixed-step one.
    pub fn adaptive_pair(&self) -> Option<EmbeddedPair> {
        adaptive_pair(&self.method)
    }

    fn solver(&self) -> Result<Solver> {
        solver_named(&self.method, self.dt.unwrap_or(0.01), self.rtol, self.atol)
    }
}

/// The embedded pair a method name asks for (`dopri5`, `dop853`); `None` for a fixed-step one.
pub fn adaptive_pair(method: &str) -> Option<EmbeddedPair> {
    match method {
        "dopri5" => Some(EmbeddedPair::Dopri5),
        "dop853" => Some(EmbeddedPair::Dop853),
        _ => None,
    }
}

/// The solver a method name asks for: adaptive (`dopri5`, `dop853`, with `rtol` and `atol`) or
/// any fixed-step integrator with step `dt`. An unknown name is an error listing the choices.
pub fn solver_named(method: &str, dt: f64, rtol: f64, atol: f64) -> Result<Solver> {
    match adaptive_pair(method) {
        Some(pair) => {
            Ok(Solver::Adaptive(DormandPrince { max_steps: 200_000, pair, ..DormandPrince::new(rtol, atol) }))
        }
        None => {
            let kind = method
                .parse::<IntegratorKind>()
                .map_err(|e| Error::Config(format!("{e}; adaptive, with tolerances: dopri5, dop853")))?;
            Ok(Solver::Fixed { integrator: kind.build(), dt })
        }
    }
}

/// A mean with its standard error over n values. Non-finite values (a rollout that blew up)
/// are written to JSON as the strings "inf"/"nan".
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanSem {
    /// Mean.
    #[serde(with = "crate::json_float")]
    pub mean: f64,
    /// Standard error std/√n.
    #[serde(with = "crate::json_float")]
    pub sem: f64,
    /// Number of values.
    pub n: usize,
}

impl MeanSem {
    /// Of a list of values.
    pub fn of(values: &[f64]) -> Self {
        let n = values.len();
        if n == 0 {
            return Self { mean: f64::NAN, sem: f64::NAN, n };
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
        Self { mean, sem: (var / n as f64).sqrt(), n }
    }
}

/// Rollout starts and the true trajectories from them (shared by the models of one run).
#[derive(Debug, Clone)]
pub struct EvalSet {
    /// Output times.
    pub times: Vec<f64>,
    /// Starts, `[starts][2n]`.
    pub starts: Vec<Vec<f64>>,
    /// True trajectories, `[starts][T·2n]`.
    pub truth: Vec<Vec<f64>>,
    /// The true system.
    pub system: System,
    /// The paper's notebook protocol's rollouts, when configured.
    pub paper: Option<crate::paper::PaperSet>,
}

impl EvalSet {
    /// Draws the starts (seeded) and integrates the truth in f64.
    pub fn new(
        cfg: &EvalConfig,
        truth: System,
        sampler: Option<&InitialStates>,
        data: &Dataset,
        seed: u64,
    ) -> Result<Self> {
        cfg.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_e7a1);
        let starts: Vec<Vec<f64>> = match (cfg.start_from, sampler) {
            (StartFrom::Sampler, Some(s)) => (0..cfg.starts).map(|_| s.sample(&mut rng)).collect(),
            (StartFrom::Sampler, None) => {
                return Err(Error::Config(
                    "eval.start_from = \"sampler\" needs generated data; use \"test_data\"".into(),
                ))
            }
            (StartFrom::TestData, _) => {
                let rows = data.test.z.to_vec2::<f64>()?;
                if rows.is_empty() {
                    return Err(Error::Config("eval.start_from = \"test_data\" but the test split is empty".into()));
                }
                (0..cfg.starts).map(|_| rows.choose(&mut rng).expect("non-empty").clone()).collect()
            }
        };
        let times = cfg.times();
        let h = truth.hamiltonian();
        if h.dof() * 2 != starts[0].len() {
            return Err(Error::Config(format!(
                "eval.truth has {} dof but the data have {}",
                h.dof(),
                starts[0].len() / 2
            )));
        }
        let solver = DormandPrince::new(1e-10, 1e-12);
        let truth_traj = starts
            .iter()
            .map(|y0| Ok(solver.solve_slice(|y, dy| h.time_derivatives_at(y, dy), y0, &times)?))
            .collect::<Result<Vec<_>>>()?;
        let paper = match &cfg.paper {
            Some(p) => Some(crate::paper::PaperSet::new(p, &truth, sampler, data, seed)?),
            None => None,
        };
        Ok(Self { times, starts, truth: truth_traj, system: truth, paper })
    }
}

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

/// The decay rate λ of an energy series, E(t) ≈ E₀e^(−λt): minus the least-squares slope of
/// ln E against t. `None` unless every energy is positive and finite and there are two times.
pub fn energy_decay_rate(times: &[f64], energies: &[f64]) -> Option<f64> {
    if times.len() < 2 || times.len() != energies.len() || energies.iter().any(|e| !(*e > 0.0 && e.is_finite())) {
        return None;
    }
    let n = times.len() as f64;
    let logs: Vec<f64> = energies.iter().map(|e| e.ln()).collect();
    let (tm, lm) = (times.iter().sum::<f64>() / n, logs.iter().sum::<f64>() / n);
    let cov: f64 = times.iter().zip(&logs).map(|(t, l)| (t - tm) * (l - lm)).sum();
    let var: f64 = times.iter().map(|t| (t - tm).powi(2)).sum();
    (var > 0.0).then(|| -cov / var)
}

/// The held-out inputs of `data` (the training ones if nothing is held out).
fn held_out_states(data: &TrainData) -> Tensor {
    match data {
        TrainData::Derivatives { train, test } => {
            if test.is_empty() {
                train.z.clone()
            } else {
                test.z.clone()
            }
        }
        TrainData::Transitions { train, test, .. } => {
            if test.start.dims()[0] == 0 {
                train.start.clone()
            } else {
                test.start.clone()
            }
        }
    }
}

/// A model's rollout, `[starts][T·2n]`, for plots.
pub type Rollouts = Vec<Vec<f64>>;

/// Per-sample squared error averaged over components, in chunks.
fn per_sample_errors(
    loss_field: &dyn hnn_core::VectorField,
    objective: &Objective,
    data: &TrainData,
    train: bool,
) -> Result<Vec<f64>> {
    let (input, target) = match data {
        TrainData::Derivatives { train: tr, test } => {
            let s = if train { tr } else { test };
            (s.z.clone(), s.dz.clone())
        }
        TrainData::Transitions { train: tr, test, .. } => {
            let s = if train { tr } else { test };
            (s.start.clone(), s.end.clone())
        }
    };
    let n = input.dims()[0];
    let mut out = Vec::with_capacity(n);
    let mut start = 0;
    while start < n {
        let len = 8192.min(n - start);
        let x = input.narrow(0, start, len)?;
        let y = target.narrow(0, start, len)?;
        let pred = match objective {
            Objective::Gradient => loss_field.time_derivatives(&x)?,
            Objective::Trajectory { integrator, substeps, .. } => {
                let TrainData::Transitions { interval, .. } = data else { unreachable!() };
                integrator.build().propagate(loss_field, &x, interval / *substeps as f64, *substeps)?
            }
        };
        let e = (pred - y)?.sqr()?.mean(1)?.to_dtype(DType::F64)?.to_vec1::<f64>()?;
        out.extend(e);
        start += len;
    }
    Ok(out)
}

impl ModelMetrics {
    /// Errors unless every metric is a finite number, naming the model and the metric: a model
    /// whose rollouts blow up has no energy error to report (metrics.json would say "inf").
    /// A test loss without test data is NaN and allowed.
    fn check_finite(&self, kind: crate::model::ModelKind, data: &TrainData) -> Result<()> {
        let has_test = match data {
            TrainData::Derivatives { test, .. } => !test.is_empty(),
            TrainData::Transitions { test, .. } => test.start.dims()[0] > 0,
        };
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
    let width = state.spec.hidden.iter().copied().max().unwrap_or(1);
    hnn_core::exec::threads::run_sized(
        &state.device,
        set.starts.len(),
        width,
        || -> Result<(ModelMetrics, Rollouts)> {
            let frozen = state.frozen(state.dtype, &state.device)?;
            let train_loss = MeanSem::of(&per_sample_errors(&frozen, objective, data, true)?);
            let test_loss = MeanSem::of(&per_sample_errors(&frozen, objective, data, false)?);

            let precision = cfg.field_precision.dtype();
            let rollout_model = state.frozen(precision, &Device::Cpu)?;
            let field = InPrecision { field: &rollout_model, dtype: precision };
            let width = set.starts[0].len();
            let z0 = Tensor::from_vec(set.starts.concat(), (set.starts.len(), width), &Device::Cpu)?;
            let rollout_started = std::time::Instant::now();
            let (traj, fallback) = match rollout_parallel(&field, &z0, &set.times, &cfg.solver()?, cpu_threads()) {
                Ok(t) => (t, false),
                Err(e) => {
                    tracing::warn!("adaptive rollout failed ({e}); falling back to RK4 with a fixed step");
                    let dt = (set.times[1] - set.times[0]) / 20.0;
                    (
                        rollout_parallel(
                            &field,
                            &z0,
                            &set.times,
                            &Solver::fixed(hnn_core::integrators::Rk4, dt),
                            cpu_threads(),
                        )?,
                        true,
                    )
                }
            };
            let rollout_seconds = rollout_started.elapsed().as_secs_f64();
            // [T, B, 2n] → per start [T·2n]
            let t_len = set.times.len();
            let flat =
                traj.transpose(0, 1)?.contiguous()?.reshape((set.starts.len(), t_len * width))?.to_vec2::<f64>()?;
            let h = set.system.hamiltonian();
            let analysis = cfg.analysis_energy.as_ref().map(|s| s.hamiltonian());
            let (mut e_mse, mut a_mse, mut t_mse, mut drift, mut valid) = (vec![], vec![], vec![], vec![], vec![]);
            for (model_traj, true_traj) in flat.iter().zip(&set.truth) {
                let rows = model_traj.chunks(width).zip(true_traj.chunks(width));
                let energy_sq = |h: &dyn AnalyticHamiltonian| -> f64 {
                    model_traj
                        .chunks(width)
                        .zip(true_traj.chunks(width))
                        .map(|(m, t)| (h.energy_at(m) - h.energy_at(t)).powi(2))
                        .sum::<f64>()
                        / t_len as f64
                };
                e_mse.push(sanitize(energy_sq(h.as_ref())));
                if let Some(a) = &analysis {
                    a_mse.push(sanitize(energy_sq(a.as_ref())));
                }
                let se: f64 =
                    rows.clone().map(|(m, t)| m.iter().zip(t).map(|(a, b)| (a - b).powi(2)).sum::<f64>()).sum();
                t_mse.push(sanitize(se / (t_len * width) as f64));
                let e0 = h.energy_at(&model_traj[..width]);
                let e1 = h.energy_at(&model_traj[(t_len - 1) * width..]);
                drift.push(sanitize(((e1 - e0) / e0).abs()));
                let mut valid_until = *set.times.last().expect("times");
                for (k, (m, t)) in rows.enumerate() {
                    let err: f64 = m.iter().zip(t).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt();
                    let norm: f64 = t.iter().map(|b| b * b).sum::<f64>().sqrt().max(1e-12);
                    let ratio = err / norm;
                    if ratio.is_nan() || ratio > cfg.valid_threshold {
                        valid_until = set.times[k];
                        break;
                    }
                }
                valid.push(valid_until);
            }
            let damping_rate = match hnn_core::VectorField::damping_rates(&frozen, &held_out_states(data))? {
                Some(r) => Some(MeanSem::of(&r.mean(1)?.to_dtype(DType::F64)?.to_vec1::<f64>()?)),
                None => None,
            };
            let (energy_decay_rate, energy_decay_rate_true) = if h.is_conservative() {
                (None, None)
            } else {
                let along = |traj: &[f64]| -> f64 {
                    let e: Vec<f64> = traj.chunks(width).map(|z| h.energy_at(z)).collect();
                    energy_decay_rate(&set.times, &e).unwrap_or(f64::NAN)
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
                None => analysis.map(|_| MeanSem::of(&a_mse)),
            };
            let metrics = ModelMetrics {
                train_loss,
                test_loss,
                energy_mse: MeanSem::of(&e_mse),
                energy_mse_analysis: analysis_mse,
                trajectory_mse: MeanSem::of(&t_mse),
                energy_drift: MeanSem::of(&drift),
                valid_time: MeanSem::of(&valid),
                solver_fallback: fallback,
                rollout_seconds,
                energy_mse_paper: match &set.paper {
                    Some(p) => Some(p.score(&rollout_model)?),
                    None => None,
                },
                damping_rate,
                damping_rate_true: h.damping_rate(),
                energy_decay_rate,
                energy_decay_rate_true,
                thermostat: None,
            };
            metrics.check_finite(state.spec.kind, data)?;
            Ok((metrics, flat))
        },
    )
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
        rollout_parallel(model, &z0, &union, &cfg.solver()?, cpu_threads())?.to_dtype(DType::F64)?.to_vec3::<f64>()?; // [T, B, 2n]
    let h = set.system.hamiltonian();
    let solver = DormandPrince::new(1e-10, 1e-12);
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
        out.push(sanitize(se / set.times.len() as f64));
    }
    Ok(out)
}

/// Non-finite values (a rollout that blew up) become +∞ so that means stay meaningful in JSON.
fn sanitize(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        f64::INFINITY
    }
}
