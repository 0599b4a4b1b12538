//! Metrics as plain functions on trajectories, the one definition of each that `hnn exp`,
//! `hnn eval`, `hnn fit` and [`HnnModel::evaluate`](crate::HnnModel::evaluate) report.
//!
//! A trajectory is its states one after another, `[T·2n]` (row k is `traj[k·w..(k+1)·w]` for
//! state width `w`). A rollout that leaves the finite numbers scores +∞, never NaN, so that it
//! cannot hide in a mean ([`finite`]).

use crate::error::Result;
use candle_core::{DType, Tensor};
use serde::{Deserialize, Serialize};

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

/// `x` where finite, else +∞: a diverged rollout counts as infinitely wrong.
pub fn finite(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        f64::INFINITY
    }
}

/// Mean over time of (E(model) − E(truth))², the two trajectories compared state by state under
/// the energy `energy`.
pub fn energy_mse(energy: &dyn Fn(&[f64]) -> f64, model: &[f64], truth: &[f64], width: usize) -> f64 {
    let times = model.len() / width;
    let sq: f64 = model.chunks(width).zip(truth.chunks(width)).map(|(m, t)| (energy(m) - energy(t)).powi(2)).sum();
    finite(sq / times as f64)
}

/// Mean over time and components of the squared state error.
pub fn trajectory_mse(model: &[f64], truth: &[f64], width: usize) -> f64 {
    let se: f64 = model
        .chunks(width)
        .zip(truth.chunks(width))
        .map(|(m, t)| m.iter().zip(t).map(|(a, b)| (a - b).powi(2)).sum::<f64>())
        .sum();
    finite(se / model.len() as f64)
}

/// |E(end) − E(start)| / |E(start)|.
pub fn energy_drift(start: f64, end: f64) -> f64 {
    finite(((end - start) / start).abs())
}

/// The first time at which the relative state error ‖z − ẑ‖ / ‖ẑ‖ exceeds `threshold` (or is
/// NaN); the last time if it never does.
pub fn valid_time(times: &[f64], model: &[f64], truth: &[f64], width: usize, threshold: f64) -> f64 {
    for (k, (m, t)) in model.chunks(width).zip(truth.chunks(width)).enumerate() {
        let err: f64 = m.iter().zip(t).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt();
        let norm: f64 = t.iter().map(|b| b * b).sum::<f64>().sqrt().max(1e-12);
        let ratio = err / norm;
        if ratio.is_nan() || ratio > threshold {
            return times[k];
        }
    }
    *times.last().expect("times")
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

/// A field's damping rate r(z) over `states` (each state's mean over momenta), mean ± sem;
/// `None` for a field without friction.
pub fn damping_rate(field: &dyn hnn_core::VectorField, states: &Tensor) -> Result<Option<MeanSem>> {
    Ok(match field.damping_rates(states)? {
        Some(r) => Some(MeanSem::of(&r.mean(1)?.to_dtype(DType::F64)?.to_vec1::<f64>()?)),
        None => None,
    })
}
