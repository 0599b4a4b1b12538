//! The loss of a field under an objective: one prediction by objective (ż, or the state an
//! interval later), its mean squared error on a batch, and the same over a whole split in
//! chunks, as one mean or per sample.

use super::config::{Backprop, Objective};
#[cfg(doc)]
use super::data::TrainData;
use super::data::Transitions;
use crate::error::{Error, Result};
use candle_core::{DType, Tensor};
use hnn_core::{Integrator, VectorField};

/// Rows per chunk when a whole split is evaluated (bounded memory, no gradients kept).
const CHUNK_ROWS: usize = 8192;

/// The loss of a field on inputs/targets under an objective.
pub struct Loss {
    /// Trajectory matching: the integrator, its step and steps per interval.
    pub(super) integrator: Option<(Box<dyn Integrator>, f64, usize)>,
    pub(super) backprop: Backprop,
}

impl Loss {
    /// The loss for an objective on data whose targets lie `interval` after their inputs
    /// (trajectory matching; [`TrainData::interval`]) or are derivatives (`None`).
    pub fn new(objective: &Objective, interval: Option<f64>) -> Result<Self> {
        Ok(match (objective, interval) {
            (Objective::Gradient {}, None) => Loss { integrator: None, backprop: Backprop::Stored },
            (Objective::Trajectory { integrator, substeps, backprop }, Some(interval)) => Loss {
                integrator: Some((integrator.build(), interval / *substeps as f64, *substeps)),
                backprop: *backprop,
            },
            _ => return Err(Error::Config("objective and data do not match".into())),
        })
    }

    /// What the field predicts for `input`: ż (gradient matching) or the state one sampling
    /// interval later (trajectory matching).
    pub fn predict(&self, field: &dyn VectorField, input: &Tensor) -> Result<Tensor> {
        Ok(match &self.integrator {
            None => field.time_derivatives(input)?,
            Some((integrator, dt, steps)) => integrator.propagate(field, input, *dt, *steps)?,
        })
    }

    /// Mean squared error of the prediction from `input` against `target`.
    pub fn compute(&self, field: &dyn VectorField, input: &Tensor, target: &Tensor) -> Result<Tensor> {
        Ok((self.predict(field, input)? - target)?.sqr()?.mean_all()?)
    }

    /// The loss on a whole split, evaluated in chunks (no gradients kept); NaN for no rows.
    pub fn full(&self, field: &dyn VectorField, rows: &Transitions) -> Result<f64> {
        let n = rows.len();
        if n == 0 {
            return Ok(f64::NAN);
        }
        let mut total = 0.0;
        for (input, target) in chunks(rows)? {
            let len = input.dims()[0];
            total += self.compute(field, &input, &target)?.to_dtype(DType::F64)?.to_scalar::<f64>()? * len as f64;
        }
        Ok(total / n as f64)
    }

    /// Each row's squared error averaged over components, in chunks.
    pub fn per_sample(&self, field: &dyn VectorField, rows: &Transitions) -> Result<Vec<f64>> {
        let mut out = Vec::with_capacity(rows.len());
        for (input, target) in chunks(rows)? {
            let e = (self.predict(field, &input)? - target)?.sqr()?.mean(1)?;
            out.extend(e.to_dtype(DType::F64)?.to_vec1::<f64>()?);
        }
        Ok(out)
    }
}

/// The rows of a split as (input, target) views of at most [`CHUNK_ROWS`] rows.
fn chunks(rows: &Transitions) -> Result<Vec<(Tensor, Tensor)>> {
    let n = rows.len();
    (0..n)
        .step_by(CHUNK_ROWS)
        .map(|start| {
            let len = CHUNK_ROWS.min(n - start);
            Ok((rows.input.narrow(0, start, len)?, rows.target.narrow(0, start, len)?))
        })
        .collect()
}
