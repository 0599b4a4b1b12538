//! [`Evaluation`]: how well a fitted [`HnnModel`] does on a dataset.

use super::HnnModel;
use crate::error::Result;
use crate::eval::MeanSem;
use candle_core::{DType, Tensor};
use hnn_core::Solver;
use hnn_systems::{Dataset, Split, System};
use serde::{Deserialize, Serialize};

/// Metrics of a model on a dataset: derivative errors on both splits, and, where the held-out
/// data are whole evenly sampled trajectories, rollouts from each one's first state compared
/// with its observed states.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Mean squared error of ż on the training split (per sample: the mean over components).
    pub train_loss: MeanSem,
    /// The same on the test split.
    pub test_loss: MeanSem,
    /// Mean squared state error of the rollouts from each test trajectory's first state over its
    /// times (adaptive Dormand–Prince, tolerances 1e-9); `None` without whole test trajectories.
    pub trajectory_mse: Option<MeanSem>,
    /// |H(end) − H(start)| / |H(start)| of the learned energy along those rollouts (Hamiltonian
    /// kinds).
    pub energy_drift: Option<MeanSem>,
    /// Mean squared error of the true energy along the rollouts against along the observed
    /// states (with [`HnnModel::evaluate_against`]).
    pub energy_mse: Option<MeanSem>,
    /// The learned damping rate over the test states (each state's mean over momenta), for a
    /// dissipative kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub damping_rate: Option<MeanSem>,
}

fn derivative_errors(model: &HnnModel, split: &Split) -> Result<MeanSem> {
    if split.is_empty() {
        return Ok(MeanSem::of(&[]));
    }
    let mut errors = Vec::with_capacity(split.len());
    let chunk = 8192;
    let mut start = 0;
    while start < split.len() {
        let len = chunk.min(split.len() - start);
        let z = split.z.narrow(0, start, len)?;
        let dz = split.dz.narrow(0, start, len)?.to_dtype(DType::F64)?;
        let pred = model.predict_derivatives(&z.to_dtype(DType::F64)?)?;
        errors.extend((pred - dz)?.sqr()?.mean(1)?.to_vec1::<f64>()?);
        start += len;
    }
    Ok(MeanSem::of(&errors))
}

pub(super) fn evaluate(model: &HnnModel, data: &Dataset, truth: Option<&System>) -> Result<Evaluation> {
    let mut out = Evaluation {
        train_loss: derivative_errors(model, &data.train)?,
        test_loss: derivative_errors(model, &data.test)?,
        trajectory_mse: None,
        energy_drift: None,
        energy_mse: None,
        damping_rate: None,
    };
    let states = if data.test.is_empty() { &data.train.z } else { &data.test.z };
    if states.dims()[0] > 0 {
        let (input, _) = model.input(states, "z")?;
        if let Some(r) = hnn_core::VectorField::damping_rates(&model.frozen()?, &input)? {
            out.damping_rate = Some(MeanSem::of(&r.mean(1)?.to_dtype(DType::F64)?.to_vec1::<f64>()?));
        }
    }
    let (Some(len), Some(dt)) = (data.meta.trajectory_length, data.meta.dt) else { return Ok(out) };
    let n = data.test.len();
    if n == 0 || len < 2 || !n.is_multiple_of(len) {
        return Ok(out);
    }
    let width = 2 * data.meta.dof;
    let observed = data.test.z.to_dtype(DType::F64)?.reshape((n / len, len, width))?; // [B, T, 2n]
    let z0 = observed.narrow(1, 0, 1)?.squeeze(1)?.contiguous()?;
    let times: Vec<f64> = (0..len).map(|k| k as f64 * dt).collect();
    let rolled = model.rollout(&z0, &times, &Solver::dopri5(1e-9, 1e-9))?.transpose(0, 1)?.contiguous()?; // [B, T, 2n]
    let per_trajectory = |t: Tensor| -> Result<Vec<f64>> { Ok(t.mean(1)?.to_vec1::<f64>()?) };
    out.trajectory_mse = Some(MeanSem::of(
        &per_trajectory((&rolled - &observed)?.sqr()?.mean(2)?)?.into_iter().map(finite).collect::<Vec<_>>(),
    ));
    if model.state.model.energy(&z0.to_dtype(model.state.dtype)?.to_device(&model.state.device)?)?.is_some() {
        let first = model.energy(&rolled.narrow(1, 0, 1)?.squeeze(1)?)?.to_vec1::<f64>()?;
        let last = model.energy(&rolled.narrow(1, len - 1, 1)?.squeeze(1)?)?.to_vec1::<f64>()?;
        let drift: Vec<f64> = first.iter().zip(&last).map(|(a, b)| finite(((b - a) / a).abs())).collect();
        out.energy_drift = Some(MeanSem::of(&drift));
    }
    if let Some(system) = truth {
        let h = system.hamiltonian();
        let (r, o) = (rolled.to_vec3::<f64>()?, observed.to_vec3::<f64>()?);
        let mse: Vec<f64> = r
            .iter()
            .zip(&o)
            .map(|(rt, ot)| {
                let sq: f64 = rt.iter().zip(ot).map(|(a, b)| (h.energy_at(a) - h.energy_at(b)).powi(2)).sum();
                finite(sq / len as f64)
            })
            .collect();
        out.energy_mse = Some(MeanSem::of(&mse));
    }
    Ok(out)
}

/// A diverged rollout counts as infinitely wrong, never as NaN (which would hide in a mean).
fn finite(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        f64::INFINITY
    }
}
