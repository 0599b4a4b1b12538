//! Table 1 as the paper measured it: the energy-MSE computation of the reference analysis
//! notebooks (greydanus/hamiltonian-nn, `analyze-{spring,pend,real,2body,3body}.ipynb`), step
//! by step, on hnn's models: the `[eval.paper]` table of an experiment.
//!
//! What each notebook does, and the settings that reproduce it:
//! - **spring, pendulum**: 15 starts, each component drawn uniformly from ±[0.2, 1.0]
//!   (`x0 = rand(2)·1.6 − 0.8; x0 += 0.2·sign(x0)`; [`PaperStarts::Square`]), rolled out by
//!   scipy's RK45 at `rtol = 1e-12` (atol left at 1e-6) with the model in float32, 100 points;
//!   the energy compared is q² + p² (`energy`). Spring over [0, 20] with the notebook's in-place
//!   time stretch (`time_stretch = 0.09`: start i compares the truth at t·g^(i+1) with the model
//!   at t·g^(i+2), g = 1.09, the grid having been stretched once by the cell before the loop);
//!   pendulum over [0, 20] without it.
//! - **two-body, three-body**: 15 starts from the data's own initial-state sampler
//!   (`random_config`; [`PaperStarts::Sampler`]), 500 points over [0, 25] and [0, 3], rtol 1e-9
//!   (`get_orbit`), the true total energy.
//! - **real pendulum**: one rollout from the first held-out state over the held-out times (the
//!   last 20% of the recording; [`PaperStarts::Recording {}`]), at scipy's default tolerances
//!   (rtol 1e-3, atol 1e-6), 2.4(1 − cos q) + p² of the rollout against that of the *measured*
//!   states.
//!
//! The error bar is the notebooks' `bootstrap_conf`: the values (per start, or per point for the
//! recording) cut into 5 consecutive groups, the standard deviation of the group means over √5.
//! Our starts come from our own seeded generator, not numpy's.

use crate::error::{Error, Result};
use crate::json_float;
use hnn_core::integrators::DormandPrince;
use hnn_core::{rollout, InPrecision, Solver, VectorField};
use hnn_systems::{Dataset, InitialStates, System};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Where a notebook's rollouts start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PaperStarts {
    /// `count` starts whose every component is uniform in ±[`low`, `high`].
    Square {
        /// Number of starts.
        count: usize,
        /// Smallest magnitude of a component.
        low: f64,
        /// Largest magnitude of a component.
        high: f64,
    },
    /// `count` starts from the experiment's initial-state sampler.
    Sampler {
        /// Number of starts.
        count: usize,
    },
    /// The first held-out state, rolled out over the held-out sample times (a recording).
    /// An empty struct variant, so that extra keys are refused.
    Recording {},
}

fn default_atol() -> f64 {
    1e-6
}
fn default_splits() -> usize {
    5
}

/// A notebook's energy-MSE protocol (the `[eval.paper]` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperProtocol {
    /// Where the rollouts start.
    pub starts: PaperStarts,
    /// Rollouts span [0, t_end] (ignored for a recording, which has its own times).
    #[serde(default)]
    pub t_end: f64,
    /// Output points, evenly spaced (ignored for a recording).
    #[serde(default)]
    pub points: usize,
    /// Relative tolerance of the RK45 (Dormand–Prince 5(4)) rollouts, truth and model.
    pub rtol: f64,
    /// Absolute tolerance (scipy's default 1e-6 unless the notebook sets one).
    #[serde(default = "default_atol")]
    pub atol: f64,
    /// The energy compared (default: the true system's).
    #[serde(default)]
    pub energy: Option<System>,
    /// The spring notebook's in-place time stretch r (g = 1 + r), see the module docs.
    #[serde(default)]
    pub time_stretch: Option<f64>,
    /// Groups of the bootstrap error bar.
    #[serde(default = "default_splits")]
    pub splits: usize,
}

/// Most starts a protocol may ask for (as `eval.starts`).
const MAX_STARTS: usize = crate::eval::MAX_EVAL_STARTS;

impl PaperProtocol {
    /// Checks every field, naming the wrong one.
    pub fn validate(&self) -> Result<()> {
        let fail = |m: String| Err(Error::Config(format!("eval.paper.{m}")));
        let count = match self.starts {
            PaperStarts::Square { count, low, high } => {
                if !(low >= 0.0 && high > low && high.is_finite()) {
                    return fail(format!("starts: need 0 ≤ low < high, got low {low}, high {high}"));
                }
                Some(count)
            }
            PaperStarts::Sampler { count } => Some(count),
            PaperStarts::Recording {} => None,
        };
        if let Some(count) = count {
            if count == 0 || count > MAX_STARTS {
                return fail(format!("starts.count must be in 1..={MAX_STARTS}, got {count}"));
            }
            if !(self.t_end > 0.0 && self.t_end.is_finite()) {
                return fail(format!("t_end must be positive, got {}", self.t_end));
            }
            if self.points < 2 || self.points > crate::eval::MAX_EVAL_POINTS {
                return fail(format!("points must be in 2..={}, got {}", crate::eval::MAX_EVAL_POINTS, self.points));
            }
        }
        if !(self.rtol > 0.0 && self.rtol.is_finite() && self.atol > 0.0 && self.atol.is_finite()) {
            return fail(format!("rtol and atol must be positive, got {} and {}", self.rtol, self.atol));
        }
        if let Some(r) = self.time_stretch {
            if !(r > -1.0 && r.is_finite()) || matches!(self.starts, PaperStarts::Recording {}) {
                return fail(format!("time_stretch {r}: needs r > −1 and starts of their own (not a recording)"));
            }
        }
        if self.splits == 0 {
            return fail("splits must be at least 1".into());
        }
        Ok(())
    }
}

/// An energy MSE with the notebooks' bootstrap error bar.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PaperScore {
    /// Mean of the values.
    #[serde(with = "json_float")]
    pub mean: f64,
    /// Standard deviation of the means of `splits` consecutive groups, over √splits.
    #[serde(with = "json_float")]
    pub bootstrap: f64,
    /// Number of values (starts, or points of a recording).
    pub n: usize,
    /// For a recording: the mean squared state error of the rollout against the measured states.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_mse: Option<f64>,
    /// For a recording: the decay rate λ of the energy along the model's rollout
    /// (E ≈ E₀e^(−λt), [`crate::metrics::energy_decay_rate`]); a conservative model's is ≈ 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decay_rate: Option<f64>,
    /// For a recording: the same along the measured states.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decay_rate_measured: Option<f64>,
}

impl PaperScore {
    /// The notebooks' `bootstrap_conf` over `values` (consecutive groups as numpy's
    /// `array_split`: the first `len % splits` groups one longer).
    pub fn of(values: &[f64], splits: usize) -> Self {
        let n = values.len();
        let mean = values.iter().sum::<f64>() / n.max(1) as f64;
        let splits = splits.clamp(1, n.max(1));
        let (base, extra) = (n / splits, n % splits);
        let mut means = Vec::with_capacity(splits);
        let mut start = 0;
        for g in 0..splits {
            let len = base + usize::from(g < extra);
            let group = &values[start..start + len];
            means.push(group.iter().sum::<f64>() / len.max(1) as f64);
            start += len;
        }
        let m = means.iter().sum::<f64>() / splits as f64;
        let std = (means.iter().map(|x| (x - m).powi(2)).sum::<f64>() / splits as f64).sqrt();
        Self {
            mean,
            bootstrap: std / (splits as f64).sqrt(),
            n,
            state_mse: None,
            decay_rate: None,
            decay_rate_measured: None,
        }
    }
}

/// One rollout of a protocol: its start, the truth's states (flattened) and the model's times.
#[derive(Debug, Clone)]
struct Case {
    start: Vec<f64>,
    truth: Vec<f64>,
    model_times: Vec<f64>,
}

/// A protocol's rollouts and the truth along them (shared by the models of one run).
#[derive(Debug, Clone)]
pub struct PaperSet {
    protocol: PaperProtocol,
    cases: Vec<Case>,
    energy: System,
}

impl PaperSet {
    /// Draws the starts (seeded) and integrates the truth, or takes the recording's held-out
    /// states.
    pub fn new(
        protocol: &PaperProtocol,
        truth: &System,
        sampler: Option<&InitialStates>,
        data: &Dataset,
        seed: u64,
    ) -> Result<Self> {
        protocol.validate()?;
        let energy = protocol.energy.clone().unwrap_or_else(|| truth.clone());
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x9a9e_4a11);
        let grid = |end: f64| -> Vec<f64> {
            let k = protocol.points - 1;
            (0..protocol.points).map(|i| end * i as f64 / k as f64).collect()
        };
        let h = truth.hamiltonian();
        let solver = DormandPrince::new(protocol.rtol, protocol.atol);
        let starts: Vec<Vec<f64>> = match &protocol.starts {
            PaperStarts::Square { count, low, high } => {
                let width = 2 * data.meta.dof;
                (0..*count)
                    .map(|_| {
                        (0..width)
                            .map(|_| {
                                let x: f64 = rng.random_range(-(high - low)..(high - low));
                                x + low * x.signum()
                            })
                            .collect()
                    })
                    .collect()
            }
            PaperStarts::Sampler { count } => {
                let s = sampler.ok_or_else(|| {
                    Error::Config("eval.paper.starts = sampler needs generated data; use square or recording".into())
                })?;
                (0..*count).map(|_| s.sample(&mut rng)).collect()
            }
            PaperStarts::Recording {} => {
                let case = recording_case(data)?;
                return Ok(Self { protocol: protocol.clone(), cases: vec![case], energy });
            }
        };
        let g = 1.0 + protocol.time_stretch.unwrap_or(0.0);
        let stretched = protocol.time_stretch.is_some();
        let mut cases = Vec::with_capacity(starts.len());
        for (i, start) in starts.into_iter().enumerate() {
            // The spring notebook: truth at t·g^(i+1), model at t·g^(i+2); others: the same grid.
            let (truth_end, model_end) = if stretched {
                (protocol.t_end * g.powi(i as i32 + 1), protocol.t_end * g.powi(i as i32 + 2))
            } else {
                (protocol.t_end, protocol.t_end)
            };
            let truth_times = grid(truth_end);
            let states = solver.solve_slice(|y, dy| h.time_derivatives_at(y, dy), &start, &truth_times)?;
            cases.push(Case { start, truth: states, model_times: grid(model_end) });
        }
        Ok(Self { protocol: protocol.clone(), cases, energy })
    }

    /// The score of a model (its field evaluated in float32, as the notebooks' PyTorch models).
    pub fn score(&self, model: &(dyn VectorField + Sync)) -> Result<PaperScore> {
        let field = InPrecision { field: model, dtype: candle_core::DType::F32 };
        let quantity = self.energy.hamiltonian();
        let solver = Solver::Adaptive(DormandPrince::new(self.protocol.rtol, self.protocol.atol));
        let width = self.cases[0].start.len();
        let mut per_start = Vec::with_capacity(self.cases.len());
        let mut per_point = vec![];
        let mut state_sq = vec![];
        for case in &self.cases {
            let z0 = candle_core::Tensor::from_vec(case.start.clone(), (1, width), &candle_core::Device::Cpu)?;
            let sq: Vec<f64> = match rollout(&field, &z0, &case.model_times, &solver) {
                Ok(traj) => {
                    let traj = traj.flatten_all()?.to_vec1::<f64>()?;
                    state_sq.extend(traj.iter().zip(&case.truth).map(|(m, t)| (m - t).powi(2)));
                    traj.chunks(width)
                        .zip(case.truth.chunks(width))
                        .map(|(m, t)| (quantity.energy_at(m) - quantity.energy_at(t)).powi(2))
                        .collect()
                }
                // A rollout that cannot be completed is infinitely wrong (the caller reports it).
                Err(_) => vec![f64::INFINITY; case.model_times.len()],
            };
            per_start.push(sq.iter().sum::<f64>() / sq.len() as f64);
            per_point.extend(sq);
        }
        if matches!(self.protocol.starts, PaperStarts::Recording {}) {
            let n = state_sq.len().max(1) as f64;
            let state_mse = if state_sq.is_empty() { f64::INFINITY } else { state_sq.iter().sum::<f64>() / n };
            let curve = self.recording_energy(model)?;
            let (decay_rate, decay_rate_measured) = match &curve {
                Some(c) => (
                    crate::metrics::energy_decay_rate(&c.times, &c.model),
                    crate::metrics::energy_decay_rate(&c.times, &c.measured),
                ),
                None => (None, None),
            };
            return Ok(PaperScore {
                state_mse: Some(state_mse),
                decay_rate,
                decay_rate_measured,
                ..PaperScore::of(&per_point, self.protocol.splits)
            });
        }
        Ok(PaperScore::of(&per_start, self.protocol.splits))
    }
}

/// The energy along a recording: the measured states' and a model's rollout from the first.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingEnergy {
    /// Times from the first held-out sample.
    pub times: Vec<f64>,
    /// The energy quantity of the measured states.
    pub measured: Vec<f64>,
    /// The energy quantity along the model's rollout (empty if the rollout failed).
    pub model: Vec<f64>,
}

impl PaperSet {
    /// For a recording protocol, the energy of the measured states and of `model`'s rollout
    /// from the first of them, over the recording's times (the same rollout [`score`](Self::score)
    /// takes); `None` for the other protocols.
    pub fn recording_energy(&self, model: &(dyn VectorField + Sync)) -> Result<Option<RecordingEnergy>> {
        if !matches!(self.protocol.starts, PaperStarts::Recording {}) {
            return Ok(None);
        }
        let case = &self.cases[0];
        let width = case.start.len();
        let quantity = self.energy.hamiltonian();
        let field = InPrecision { field: model, dtype: candle_core::DType::F32 };
        let solver = Solver::Adaptive(DormandPrince::new(self.protocol.rtol, self.protocol.atol));
        let z0 = candle_core::Tensor::from_vec(case.start.clone(), (1, width), &candle_core::Device::Cpu)?;
        let rolled = match rollout(&field, &z0, &case.model_times, &solver) {
            Ok(traj) => traj.flatten_all()?.to_vec1::<f64>()?.chunks(width).map(|z| quantity.energy_at(z)).collect(),
            Err(e) => {
                tracing::warn!("the rollout over the recording failed: {e}");
                vec![]
            }
        };
        Ok(Some(RecordingEnergy {
            times: case.model_times.clone(),
            measured: case.truth.chunks(width).map(|z| quantity.energy_at(z)).collect(),
            model: rolled,
        }))
    }
}

/// The first held-out state and the held-out recording from it: the longest prefix of the test
/// split whose times increase (a recording of several trials stops at the first).
fn recording_case(data: &Dataset) -> Result<Case> {
    let Some(t) = &data.test.t else {
        return Err(Error::Config(
            "eval.paper.starts = recording needs the held-out samples' times (recorded data: the real pendulum, \
             or hnn_systems::import trajectories)"
                .into(),
        ));
    };
    let t: Vec<f64> = t.to_vec1()?;
    let z: Vec<Vec<f64>> = data.test.z.to_vec2()?;
    if t.len() < 2 {
        return Err(Error::Config("eval.paper.starts = recording: fewer than 2 held-out samples".into()));
    }
    let len = 1 + t.windows(2).take_while(|w| w[1] > w[0]).count();
    let times: Vec<f64> = t[..len].iter().map(|x| x - t[0]).collect();
    Ok(Case { start: z[0].clone(), truth: z[..len].concat(), model_times: times })
}
