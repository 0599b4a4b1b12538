//! The reference data generators, deterministic by seed.
//!
//! A [`TrajectoryTask`] says which system, how initial states are drawn, how long and how densely
//! each trajectory is sampled, the observation noise and the split; [`TrajectoryTask::generate`]
//! draws every initial state from one seeded generator (in order), integrates all trajectories
//! in parallel with adaptive Dormand–Prince in f64, then adds noise, so the result is
//! bit-identical for a seed whatever the thread count. Presets reproduce the reference code's
//! tasks ([`TrajectoryTask::spring`], [`pendulum`](TrajectoryTask::pendulum),
//! [`two_body`](TrajectoryTask::two_body), [`three_body`](TrajectoryTask::three_body)).

use crate::analytic::{HarmonicOscillator, NBody, Pendulum};
use crate::dataset::{split_rows, Dataset, DatasetMeta, Split};
use crate::error::{Error, Result};
use crate::system::System;
use hnn_core::integrators::DormandPrince;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// How initial states are drawn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum InitialStates {
    /// (q, p) on a circle of radius r ~ U[r_min, r_max], direction from a uniform point of the
    /// square [−1, 1]² normalised (exactly the reference spring/pendulum sampler).
    PhaseCircle { r_min: f64, r_max: f64 },
    /// The reference two-body sampler: body 1 at a position uniform in [r_min, r_max]², body 2
    /// opposite; the circular-orbit velocity (−y, x)/(2 r^{3/2}) scaled by 1 + noise·N(0, 1).
    TwoBodyOrbit { r_min: f64, r_max: f64, velocity_noise: f64 },
    /// The reference three-body sampler: bodies 120° apart on a circle of radius
    /// r ~ U[r_min, r_max], circular-orbit velocities scaled per component by
    /// 1 + noise·U[−1, 1] (the reference's `1 + nu*(2*np.random.rand(2) - 1)`).
    ThreeBodyOrbit { r_min: f64, r_max: f64, velocity_noise: f64 },
    /// Each component uniform in [low_i, high_i].
    Uniform { low: Vec<f64>, high: Vec<f64> },
}

impl InitialStates {
    /// One initial state in our layout.
    pub fn sample(&self, rng: &mut impl Rng) -> Vec<f64> {
        match self {
            InitialStates::PhaseCircle { r_min, r_max } => {
                let y: [f64; 2] = [rng.random::<f64>() * 2.0 - 1.0, rng.random::<f64>() * 2.0 - 1.0];
                let r = rng.random::<f64>() * (r_max - r_min) + r_min;
                let norm = y[0].hypot(y[1]);
                vec![y[0] / norm * r, y[1] / norm * r]
            }
            InitialStates::TwoBodyOrbit { r_min, r_max, velocity_noise } => {
                let pos =
                    [rng.random::<f64>() * (r_max - r_min) + r_min, rng.random::<f64>() * (r_max - r_min) + r_min];
                let r = pos[0].hypot(pos[1]);
                let scale = 1.0 + velocity_noise * rng.sample::<f64, _>(StandardNormal);
                let vel = [-pos[1] / (2.0 * r.powf(1.5)) * scale, pos[0] / (2.0 * r.powf(1.5)) * scale];
                // Our layout: x1, y1, x2, y2, then momenta (unit masses).
                vec![pos[0], pos[1], -pos[0], -pos[1], vel[0], vel[1], -vel[0], -vel[1]]
            }
            InitialStates::ThreeBodyOrbit { r_min, r_max, velocity_noise } => {
                let rotate =
                    |v: [f64; 2], th: f64| [th.cos() * v[0] - th.sin() * v[1], th.sin() * v[0] + th.cos() * v[1]];
                let mut p1 = [rng.random::<f64>() * 2.0 - 1.0, rng.random::<f64>() * 2.0 - 1.0];
                let r = rng.random::<f64>() * (r_max - r_min) + r_min;
                let norm = p1[0].hypot(p1[1]);
                p1 = [p1[0] * r / norm, p1[1] * r / norm];
                let third = 2.0 * std::f64::consts::PI / 3.0;
                let p2 = rotate(p1, third);
                let p3 = rotate(p2, third);
                let mut v1 = rotate(p1, std::f64::consts::FRAC_PI_2);
                let circular =
                    ((std::f64::consts::PI / 3.0).sin() / (2.0 * (std::f64::consts::PI / 6.0).cos().powi(2))).sqrt();
                v1 = [v1[0] / r.powf(1.5) * circular, v1[1] / r.powf(1.5) * circular];
                let v2 = rotate(v1, third);
                let v3 = rotate(v2, third);
                let mut vs = [v1, v2, v3];
                for v in vs.iter_mut() {
                    for c in v.iter_mut() {
                        *c *= 1.0 + velocity_noise * (2.0 * rng.random::<f64>() - 1.0);
                    }
                }
                let [v1, v2, v3] = vs;
                vec![p1[0], p1[1], p2[0], p2[1], p3[0], p3[1], v1[0], v1[1], v2[0], v2[1], v3[0], v3[1]]
            }
            InitialStates::Uniform { low, high } => {
                low.iter().zip(high).map(|(l, h)| l + (h - l) * rng.random::<f64>()).collect()
            }
        }
    }

    fn validate(&self, dof: usize) -> Result<()> {
        let range = |lo: f64, hi: f64| {
            if lo.is_finite() && hi.is_finite() && lo <= hi && lo >= 0.0 {
                Ok(())
            } else {
                Err(Error::InvalidSetting(format!("radius range [{lo}, {hi}] is not a valid range")))
            }
        };
        let need = |n: usize| {
            if n == dof {
                Ok(())
            } else {
                Err(Error::InvalidSetting(format!(
                    "this initial-state sampler makes {n}-dof states but the system has {dof}"
                )))
            }
        };
        match self {
            InitialStates::PhaseCircle { r_min, r_max } => range(*r_min, *r_max).and(need(1)),
            InitialStates::TwoBodyOrbit { r_min, r_max, .. } => range(*r_min, *r_max).and(need(4)),
            InitialStates::ThreeBodyOrbit { r_min, r_max, .. } => range(*r_min, *r_max).and(need(6)),
            InitialStates::Uniform { low, high } => {
                if low.len() != 2 * dof || high.len() != 2 * dof || low.iter().zip(high).any(|(l, h)| l > h) {
                    return Err(Error::InvalidSetting(format!(
                        "uniform bounds need 2·dof = {} entries with low ≤ high",
                        2 * dof
                    )));
                }
                Ok(())
            }
        }
    }
}

/// The most samples (trajectories × points) a generated dataset may have: 10⁸, 3.2 GB of f64
/// states and derivatives for one degree of freedom.
pub const MAX_SAMPLES: f64 = 1e8;

/// A data-generation task: the reference experiments are presets of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrajectoryTask {
    /// Name, stored in the dataset metadata.
    pub name: String,
    /// The system.
    pub system: System,
    /// How initial states are drawn.
    pub initial: InitialStates,
    /// Number of trajectories.
    pub trajectories: usize,
    /// Each trajectory spans [0, t_end]...
    pub t_end: f64,
    /// ...sampled at this many evenly spaced points (both ends included).
    pub points: usize,
    /// Std of Gaussian noise added to the observed states (targets stay exact).
    pub noise_std: f64,
    /// Fraction of points held out.
    pub test_fraction: f64,
    /// Held-out points come first (orbit tasks) instead of last (spring, pendulum).
    pub test_first: bool,
    /// Dormand–Prince relative tolerance.
    pub rtol: f64,
    /// Dormand–Prince absolute tolerance.
    pub atol: f64,
}

impl TrajectoryTask {
    /// The reference ideal mass-spring: H = q² + p², 50 trajectories of 30 points on [0, 3],
    /// radius U[0.1, 1], noise 0.1, first half train.
    pub fn spring() -> Self {
        Self {
            name: "spring".into(),
            system: HarmonicOscillator::new(0.5, 2.0, 0.0).into(),
            initial: InitialStates::PhaseCircle { r_min: 0.1, r_max: 1.0 },
            trajectories: 50,
            t_end: 3.0,
            points: 30,
            noise_std: 0.1,
            test_fraction: 0.5,
            test_first: false,
            rtol: 1e-10,
            atol: 1e-12,
        }
    }

    /// The reference ideal pendulum: H = 3(1 − cos q) + p², 50 trajectories of 45 points on
    /// [0, 3], radius U[1.3, 2.3], noise 0.1, first half train.
    pub fn pendulum() -> Self {
        Self {
            name: "pendulum".into(),
            system: Pendulum::new(0.5, 6.0, 1.0).into(),
            initial: InitialStates::PhaseCircle { r_min: 1.3, r_max: 2.3 },
            points: 45,
            ..Self::spring()
        }
    }

    /// The reference two-body task: 1000 orbits × 50 points on [0, 20], rtol 1e-9, first 20% test.
    pub fn two_body() -> Self {
        Self {
            name: "two_body".into(),
            system: NBody::new(vec![1.0, 1.0], 1.0).into(),
            initial: InitialStates::TwoBodyOrbit { r_min: 0.5, r_max: 1.5, velocity_noise: 0.05 },
            trajectories: 1000,
            t_end: 20.0,
            points: 50,
            noise_std: 0.0,
            test_fraction: 0.2,
            test_first: true,
            rtol: 1e-9,
            atol: 1e-12,
        }
    }

    /// The reference three-body task: 5000 orbits × 20 points on [0, 5], first 20% test.
    pub fn three_body() -> Self {
        Self {
            name: "three_body".into(),
            system: NBody::new(vec![1.0; 3], 1.0).into(),
            initial: InitialStates::ThreeBodyOrbit { r_min: 0.9, r_max: 1.2, velocity_noise: 0.2 },
            trajectories: 5000,
            t_end: 5.0,
            points: 20,
            ..Self::two_body()
        }
    }

    /// The preset of a reference task by name.
    pub fn preset(name: &str) -> Result<Self> {
        match name {
            "spring" => Ok(Self::spring()),
            "pendulum" => Ok(Self::pendulum()),
            "two_body" => Ok(Self::two_body()),
            "three_body" => Ok(Self::three_body()),
            _ => Err(Error::InvalidSetting(format!(
                "no generator preset `{name}` (known: spring, pendulum, two_body, three_body)"
            ))),
        }
    }

    /// Checks every setting, naming the one that is wrong.
    pub fn validate(&self) -> Result<()> {
        self.system.validate()?;
        let dof = self.system.dof();
        self.initial.validate(dof)?;
        let fail = |m: String| Err(Error::InvalidSetting(m));
        if self.trajectories == 0 {
            return fail("trajectories must be at least 1".into());
        }
        if self.points < 2 {
            return fail(format!("points must be at least 2, got {}", self.points));
        }
        let samples = self.trajectories as f64 * self.points as f64;
        if samples > MAX_SAMPLES {
            return fail(format!(
                "trajectories × points = {} × {} = {samples:.3e} samples ({:.3e} bytes of states and \
                 derivatives in f64), more than the limit of {MAX_SAMPLES:.0e}",
                self.trajectories,
                self.points,
                samples * 2.0 * (2 * dof) as f64 * 8.0
            ));
        }
        if !(self.t_end > 0.0 && self.t_end.is_finite()) {
            return fail(format!("t_end must be positive, got {}", self.t_end));
        }
        if !(self.noise_std >= 0.0 && self.noise_std.is_finite()) {
            return fail(format!("noise_std must be ≥ 0, got {}", self.noise_std));
        }
        if !(self.rtol > 0.0 && self.atol > 0.0) {
            return fail(format!("rtol and atol must be positive (got {}, {})", self.rtol, self.atol));
        }
        if !(0.0..1.0).contains(&self.test_fraction) {
            return fail(format!("test_fraction must be in [0, 1), got {}", self.test_fraction));
        }
        Ok(())
    }

    /// The sampling times, `points` evenly spaced on [0, t_end].
    pub fn times(&self) -> Vec<f64> {
        let n = self.points;
        (0..n).map(|i| self.t_end * i as f64 / (n - 1) as f64).collect()
    }

    /// The solver at the task's tolerances.
    pub fn solver(&self) -> DormandPrince {
        DormandPrince::new(self.rtol, self.atol)
    }

    /// `count` initial states from `rng`.
    pub fn initial_states(&self, count: usize, rng: &mut impl Rng) -> Vec<Vec<f64>> {
        (0..count).map(|_| self.initial.sample(rng)).collect()
    }

    /// Integrates trajectories from each start (in parallel) and samples them at `times`;
    /// each result is `[T, 2n]` row-major.
    pub fn integrate(&self, starts: &[Vec<f64>], times: &[f64]) -> Result<Vec<Vec<f64>>> {
        let h = self.system.hamiltonian();
        let solver = self.solver();
        starts
            .par_iter()
            .enumerate()
            .map(|(i, y0)| {
                solver.solve_slice(|y, dy| h.time_derivatives_at(y, dy), y0, times).map_err(|e| {
                    // Name the settings that made the motion fail, not only the solver's state.
                    let system = serde_json::to_string(&self.system).unwrap_or_default();
                    Error::InvalidSetting(format!(
                        "task {}: trajectory {i} from z0 = {y0:?} cannot be integrated with data.task.system = {system}: \
                         {e}; check the system's parameters and the initial states",
                        self.name
                    ))
                })
            })
            .collect()
    }

    /// Generates the dataset for `seed`.
    pub fn generate(&self, seed: u64) -> Result<Dataset> {
        self.validate()?;
        let h = self.system.hamiltonian();
        let dof = h.dof();
        let width = 2 * dof;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let starts = self.initial_states(self.trajectories, &mut rng);
        let times = self.times();
        let trajectories = self.integrate(&starts, &times)?;
        let clean: Vec<f64> = trajectories.concat();
        // Exact derivatives at the clean states.
        let mut dz = vec![0.0; clean.len()];
        dz.par_chunks_mut(width).zip(clean.par_chunks(width)).for_each(|(d, z)| h.time_derivatives_at(z, d));
        // Observation noise on the states, drawn in order after the initial states.
        let mut z = clean;
        if self.noise_std > 0.0 {
            for v in z.iter_mut() {
                *v += self.noise_std * rng.sample::<f64, _>(StandardNormal);
            }
        }
        let all = Split::from_rows(z, dz, width)?;
        let (train, test) = split_rows(&all, self.test_fraction, self.test_first)?;
        let mut meta = DatasetMeta::new(self.name.clone(), dof);
        meta.dt = Some(self.t_end / (self.points - 1) as f64);
        let n_test = test.len();
        if n_test % self.points == 0 {
            meta.trajectory_length = Some(self.points);
        }
        meta.seed = Some(seed);
        meta.settings = serde_json::to_value(self).expect("task serializes");
        Ok(Dataset { train, test, meta })
    }
}
