//! [`Evaluation`]: how well a fitted [`HnnModel`] does on a dataset.

use super::HnnModel;
use crate::error::Result;
use crate::metrics::{self, MeanSem};
use crate::training::{Loss, Objective, Transitions};
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

/// The per-sample derivative errors of a split (the loss of gradient matching, in the model's
/// precision, as training and `hnn exp` report it).
fn derivative_errors(model: &HnnModel, split: &Split) -> Result<MeanSem> {
    if split.is_empty() {
        return Ok(MeanSem::of(&[]));
    }
    let (state, frozen) = (&model.state, model.frozen()?);
    let rows = Transitions::derivatives(&split.to(state.dtype, &state.device)?);
    Ok(MeanSem::of(&Loss::new(&Objective::Gradient {}, None)?.per_sample(&frozen, &rows)?))
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
        out.damping_rate = metrics::damping_rate(&model.frozen()?, &input)?;
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
                                                                                                          // Per trajectory [T·2n], as the metrics take them.
    let flat = |t: &Tensor| -> Result<Vec<Vec<f64>>> { Ok(t.reshape((n / len, len * width))?.to_vec2::<f64>()?) };
    let (r, o) = (flat(&rolled)?, flat(&observed)?);
    let mse: Vec<f64> = r.iter().zip(&o).map(|(r, o)| metrics::trajectory_mse(r, o, width)).collect();
    out.trajectory_mse = Some(MeanSem::of(&mse));
    if model.state.model.energy(&z0.to_dtype(model.state.dtype)?.to_device(&model.state.device)?)?.is_some() {
        let first = model.energy(&rolled.narrow(1, 0, 1)?.squeeze(1)?)?.to_vec1::<f64>()?;
        let last = model.energy(&rolled.narrow(1, len - 1, 1)?.squeeze(1)?)?.to_vec1::<f64>()?;
        let drift: Vec<f64> = first.iter().zip(&last).map(|(a, b)| metrics::energy_drift(*a, *b)).collect();
        out.energy_drift = Some(MeanSem::of(&drift));
    }
    if let Some(system) = truth {
        let h = system.hamiltonian();
        let mse: Vec<f64> =
            r.iter().zip(&o).map(|(r, o)| metrics::energy_mse(&|z| h.energy_at(z), r, o, width)).collect();
        out.energy_mse = Some(MeanSem::of(&mse));
    }
    Ok(out)
}
