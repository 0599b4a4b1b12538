//! A learned Hamiltonian under a thermostat: BAOAB Langevin dynamics
//! ([`hnn_core::langevin::Baoab`]) on a learned and on the true separable H, scored against the
//! exact Boltzmann position marginal ∝ exp(−V(q)/kT) of the true H (the `[thermostat]` table of
//! an experiment; one degree of freedom).
//!
//! For each temperature: the Kolmogorov–Smirnov distance between the sampled positions and the
//! exact marginal, with the number of effectively independent samples (walkers × records over
//! the integrated autocorrelation time of q) and the 95% critical distance 1.36/√n_eff that
//! goes with it; and the rate of barrier crossings (a walker committed to q < −θ reaching
//! q > θ, or back) per walker and unit time, with its Poisson error. Learned and true H are run
//! with the same noise (the same seed), so their difference is the model's, not the sampling's.

use crate::error::{Error, Result};
use crate::json_float;
use candle_core::{DType, Device, Tensor};
use hnn_core::langevin::Baoab;
use hnn_core::Hamiltonian;
use hnn_systems::AnalyticHamiltonian;
use serde::{Deserialize, Serialize};

/// The `[thermostat]` table: Langevin runs after training, on each separable model and the truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThermostatConfig {
    /// Temperatures kT (energy units).
    pub temperatures: Vec<f64>,
    /// Friction γ.
    pub gamma: f64,
    /// Time step.
    pub dt: f64,
    /// Independent walkers, started half at q = −start, half at q = +start, p = 0.
    pub walkers: usize,
    /// Where the walkers start (the wells' positions).
    pub start: f64,
    /// Steps discarded before recording.
    pub burn_in: usize,
    /// Steps recorded after the burn-in.
    pub steps: usize,
    /// Record every this many steps.
    pub record_every: usize,
    /// A crossing: from q < −threshold to q > threshold or back.
    pub threshold: f64,
    /// Histogram bins in the plot.
    #[serde(default = "default_bins")]
    pub bins: usize,
}

fn default_bins() -> usize {
    60
}

impl ThermostatConfig {
    /// Checks every setting, naming the one that is wrong.
    pub fn validate(&self) -> Result<()> {
        const MAX_TEMPERATURES: usize = 64;
        let fail = |m: String| Err(Error::Config(format!("thermostat.{m}")));
        if self.temperatures.is_empty() || self.temperatures.iter().any(|t| !(t.is_finite() && *t > 0.0)) {
            return fail(format!("temperatures must be positive numbers, got {:?}", self.temperatures));
        }
        Baoab::new(1.0, self.gamma, self.dt, 1.0).map_err(|e| Error::Config(format!("thermostat: {e}")))?;
        if self.walkers < 2 || self.walkers > 1 << 20 {
            return fail(format!("walkers must be in 2..=1048576, got {}", self.walkers));
        }
        if self.record_every == 0 || self.steps < 2 * self.record_every {
            return fail(format!(
                "steps ({}) must allow at least two records of record_every ({}) steps",
                self.steps, self.record_every
            ));
        }
        let records = (self.steps / self.record_every) as f64 * self.walkers as f64;
        if records > 1e8 {
            return fail(format!("walkers × records = {records:.2e} is more than 1e8 stored states"));
        }
        if self.temperatures.len() > MAX_TEMPERATURES {
            return fail(format!(
                "temperatures lists {} temperatures, more than {MAX_TEMPERATURES}",
                self.temperatures.len()
            ));
        }
        // In f64: burn_in + steps may not fit a usize.
        let walker_steps = (self.burn_in as f64 + self.steps as f64) * self.walkers as f64;
        let total = walker_steps * self.temperatures.len() as f64 * 2.0;
        if walker_steps > 1e9 || total > 1e10 {
            return fail(format!(
                "walkers × (burn_in + steps) = {walker_steps:.2e} walker steps per run (at most 1e9), {total:.2e} \
                 over the {} temperatures on the learned and the true H (at most 1e10)",
                self.temperatures.len()
            ));
        }
        if !(self.threshold.is_finite() && self.threshold >= 0.0 && self.start.is_finite()) {
            return fail(format!("threshold ({}) must be ≥ 0 and start finite", self.threshold));
        }
        if self.bins < 2 || self.bins > 10_000 {
            return fail(format!("bins must be in 2..=10000, got {}", self.bins));
        }
        Ok(())
    }
}

/// What one thermostat run measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    /// Kolmogorov–Smirnov distance between the sampled positions and the exact marginal.
    #[serde(with = "json_float")]
    pub ks_distance: f64,
    /// Effectively independent samples behind it.
    #[serde(with = "json_float")]
    pub effective_samples: f64,
    /// The 95% critical KS distance for that many samples, 1.36/√n_eff: a larger distance
    /// rejects the exact marginal.
    #[serde(with = "json_float")]
    pub ks_critical: f64,
    /// Barrier crossings per walker and unit time.
    #[serde(with = "json_float")]
    pub crossing_rate: f64,
    /// Its Poisson error, √crossings over walker-time.
    #[serde(with = "json_float")]
    pub crossing_rate_error: f64,
    /// The mass the O-step used (1/T″(0) of the Hamiltonian run).
    #[serde(with = "json_float")]
    pub mass: f64,
}

/// One temperature: the learned H's run beside the true H's (same noise).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ThermostatResult {
    /// kT.
    #[serde(with = "json_float")]
    pub kt: f64,
    /// On the learned H.
    pub learned: Sampling,
    /// On the true H.
    pub truth: Sampling,
}

/// The sampled positions (for the histograms) beside a result.
pub struct Samples {
    /// Positions of the learned H's run after the burn-in.
    pub learned: Vec<f64>,
    /// Positions of the true H's run.
    pub truth: Vec<f64>,
}

/// The mass implied by a separable H's kinetic energy: 1/T″(0), by central differences of
/// ∂H/∂p at q = 0 (exact for T = p²/2m).
pub fn implied_mass(h: &dyn Hamiltonian, dtype: DType) -> Result<f64> {
    let eps = 1e-3;
    let z = Tensor::from_vec(vec![0.0, eps, 0.0, -eps], (2, 2), &Device::Cpu)?.to_dtype(dtype)?;
    let v = h.dh_dp(&z)?.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?;
    let curvature = (v[0] - v[1]) / (2.0 * eps);
    if !(curvature.is_finite() && curvature > 0.0) {
        return Err(Error::Evaluation(format!(
            "the kinetic energy's curvature at p = 0 is {curvature}: no positive mass for the thermostat"
        )));
    }
    Ok(1.0 / curvature)
}

/// The exact position marginal of `truth` at kT, ∝ exp(−V(q)/kT) with V(q) = H(q, 0), as a CDF
/// on a grid wide enough that the density beyond it is below e^(−40) of its peak.
pub struct ExactMarginal {
    grid: Vec<f64>,
    cdf: Vec<f64>,
    density: Vec<f64>,
}

impl ExactMarginal {
    /// Tabulates the marginal (trapezoid rule on 20 001 points).
    pub fn new(truth: &dyn AnalyticHamiltonian, kt: f64) -> Result<Self> {
        let v = |q: f64| truth.energy_at(&[q, 0.0]);
        let vmin = (-2000..=2000).map(|i| v(i as f64 * 0.005)).fold(f64::INFINITY, f64::min);
        let mut reach = 1.0;
        while (v(reach) - vmin) / kt < 40.0 || (v(-reach) - vmin) / kt < 40.0 {
            reach *= 1.5;
            if reach > 1e6 {
                return Err(Error::Evaluation("the true potential does not confine: no Boltzmann marginal".into()));
            }
        }
        let n = 20_001;
        let grid: Vec<f64> = (0..n).map(|i| -reach + 2.0 * reach * i as f64 / (n - 1) as f64).collect();
        let mut density: Vec<f64> = grid.iter().map(|q| (-(v(*q) - vmin) / kt).exp()).collect();
        let h = grid[1] - grid[0];
        let mut cdf = vec![0.0; n];
        for i in 1..n {
            cdf[i] = cdf[i - 1] + 0.5 * h * (density[i] + density[i - 1]);
        }
        let total = cdf[n - 1];
        if !(total.is_finite() && total > 0.0) {
            return Err(Error::Evaluation(format!(
                "the Boltzmann marginal at kT = {kt:e} cannot be tabulated (normalisation {total:e})"
            )));
        }
        cdf.iter_mut().for_each(|c| *c /= total);
        density.iter_mut().for_each(|d| *d /= total);
        Ok(Self { grid, cdf, density })
    }

    /// F(q), linearly interpolated.
    pub fn cdf(&self, q: f64) -> f64 {
        let k = self.grid.partition_point(|g| *g < q);
        if k == 0 {
            return 0.0;
        }
        if k >= self.grid.len() {
            return 1.0;
        }
        let (a, b) = (self.grid[k - 1], self.grid[k]);
        let w = (q - a) / (b - a);
        self.cdf[k - 1] * (1.0 - w) + self.cdf[k] * w
    }

    /// The density on `points` evenly spaced positions in [lo, hi], for plots.
    pub fn density_on(&self, lo: f64, hi: f64, points: usize) -> Vec<(f64, f64)> {
        (0..points)
            .map(|i| {
                let q = lo + (hi - lo) * i as f64 / (points - 1).max(1) as f64;
                let k = self.grid.partition_point(|g| *g < q).min(self.grid.len() - 1);
                (q, self.density[k])
            })
            .collect()
    }

    /// The Kolmogorov–Smirnov distance sup |F_n − F| of `samples`.
    pub fn ks_distance(&self, samples: &[f64]) -> f64 {
        let mut s: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
        if s.len() < samples.len() || s.is_empty() {
            return 1.0;
        }
        s.sort_by(f64::total_cmp);
        let n = s.len() as f64;
        s.iter()
            .enumerate()
            .map(|(i, x)| {
                let f = self.cdf(*x);
                (f - i as f64 / n).abs().max(((i + 1) as f64 / n - f).abs())
            })
            .fold(0.0, f64::max)
    }
}

/// Integrated autocorrelation time (in records) of `series[record][walker]`, averaged over
/// walkers: 1 + 2 Σ ρ_k, summed while ρ_k stays positive (Geyer's initial positive sequence).
pub fn autocorrelation_time(series: &[Vec<f64>]) -> f64 {
    let (r, w) = (series.len(), series.first().map_or(0, |s| s.len()));
    if r < 3 || w == 0 {
        return 1.0;
    }
    let mean: f64 = series.iter().flatten().sum::<f64>() / (r * w) as f64;
    let cov = |lag: usize| -> f64 {
        let s: f64 = series
            .iter()
            .zip(&series[lag..])
            .map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - mean) * (y - mean)).sum::<f64>())
            .sum();
        s / ((r - lag) * w) as f64
    };
    let c0 = cov(0);
    if c0 <= 0.0 {
        return 1.0;
    }
    let mut tau = 1.0;
    for lag in 1..r / 2 {
        let rho = cov(lag) / c0;
        if rho <= 0.0 {
            break;
        }
        tau += 2.0 * rho;
    }
    tau
}

/// Barrier crossings in `series[record][walker]` (positions) with the threshold θ.
pub fn crossings(series: &[Vec<f64>], threshold: f64) -> usize {
    let w = series.first().map_or(0, |s| s.len());
    let mut count = 0;
    for j in 0..w {
        let mut side = 0i8;
        for rec in series {
            let q = rec[j];
            let now = if q > threshold {
                1
            } else if q < -threshold {
                -1
            } else {
                0
            };
            if now != 0 {
                if side != 0 && now != side {
                    count += 1;
                }
                side = now;
            }
        }
    }
    count
}

/// Runs the thermostat on `h` at kT and scores it against `exact`; returns the positions too.
pub fn sample(
    cfg: &ThermostatConfig,
    h: &dyn Hamiltonian,
    dtype: DType,
    exact: &ExactMarginal,
    kt: f64,
    seed: u64,
) -> Result<(Sampling, Vec<f64>)> {
    let mass = implied_mass(h, dtype)?;
    let thermostat = Baoab::new(kt, cfg.gamma, cfg.dt, mass)?;
    let starts: Vec<f64> =
        (0..cfg.walkers).flat_map(|i| [if i % 2 == 0 { -cfg.start } else { cfg.start }, 0.0]).collect();
    let z0 = Tensor::from_vec(starts, (cfg.walkers, 2), &Device::Cpu)?.to_dtype(dtype)?;
    // The burn-in, then the recorded run continuing from it (one noise stream per seed).
    let burned = thermostat.run(h, &z0, cfg.burn_in, cfg.burn_in.max(1), seed)?;
    let last = burned.states.get(burned.states.dims()[0] - 1)?.to_dtype(dtype)?;
    let run = thermostat.run(h, &last, cfg.steps, cfg.record_every, seed ^ 0x7e57_da7a)?;
    let q: Vec<Vec<f64>> = run.states.narrow(2, 0, 1)?.squeeze(2)?.to_vec2::<f64>()?; // [records, walkers]
    let positions: Vec<f64> = q.iter().skip(1).flatten().copied().collect();
    if positions.iter().any(|x| !x.is_finite()) {
        return Err(Error::Evaluation(format!(
            "the thermostat's walkers left the finite numbers at kT = {kt:e} (time step {:e} too large for this H?)",
            cfg.dt
        )));
    }
    let tau = autocorrelation_time(&q[1..]);
    let effective_samples = (positions.len() as f64 / tau).min(positions.len() as f64);
    let crossed = crossings(&q, cfg.threshold);
    let walker_time = cfg.walkers as f64 * cfg.steps as f64 * cfg.dt;
    let sampling = Sampling {
        ks_distance: exact.ks_distance(&positions),
        effective_samples,
        ks_critical: 1.36 / effective_samples.sqrt(),
        crossing_rate: crossed as f64 / walker_time,
        crossing_rate_error: (crossed as f64).sqrt() / walker_time,
        mass,
    };
    Ok((sampling, positions))
}

/// The thermostat at every configured temperature on a learned H and on the truth.
pub fn compare(
    cfg: &ThermostatConfig,
    learned: &dyn Hamiltonian,
    dtype: DType,
    truth: &dyn AnalyticHamiltonian,
    truth_tensor: &dyn Hamiltonian,
    seed: u64,
) -> Result<Vec<(ThermostatResult, Samples)>> {
    cfg.temperatures
        .iter()
        .map(|&kt| {
            let exact = ExactMarginal::new(truth, kt)?;
            let (l, lq) = sample(cfg, learned, dtype, &exact, kt, seed)?;
            let (t, tq) = sample(cfg, truth_tensor, DType::F64, &exact, kt, seed)?;
            Ok((ThermostatResult { kt, learned: l, truth: t }, Samples { learned: lq, truth: tq }))
        })
        .collect()
}
