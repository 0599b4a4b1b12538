//! The state representations the adaptive solver runs on: batched candle tensors or plain
//! row-major `f64` vectors, behind one small [`StateOps`] interface.

use super::lincomb;
use crate::error::Result;
use crate::hamiltonian::VectorField;
use candle_core::{DType, Tensor};

/// Everything the adaptive loop needs from a state representation.
pub(super) trait StateOps {
    type State: Clone;
    /// f(y).
    fn derivative(&mut self, y: &Self::State) -> Result<Self::State>;
    /// base + Σ cᵢ·vᵢ (base absent: 0).
    fn lincomb(&self, base: Option<&Self::State>, terms: &[(f64, &Self::State)]) -> Result<Self::State>;
    /// Per trajectory, Σ (v / (atol + rtol·max(|a|, |b|)))², and the length of one trajectory's
    /// state.
    fn scaled_row_sums(
        &self,
        v: &Self::State,
        a: &Self::State,
        b: &Self::State,
        rtol: f64,
        atol: f64,
    ) -> Result<(Vec<f64>, usize)>;
    /// max over trajectories of RMS(v / (atol + rtol·max(|a|, |b|))); NaN if any is NaN.
    fn scaled_norm(&self, v: &Self::State, a: &Self::State, b: &Self::State, rtol: f64, atol: f64) -> Result<f64> {
        let (sums, n) = self.scaled_row_sums(v, a, b, rtol, atol)?;
        let rms = sums.into_iter().map(|s| (s / n.max(1) as f64).sqrt());
        Ok(rms.fold(0.0, |m: f64, x| if x.is_nan() || m.is_nan() { f64::NAN } else { m.max(x) }))
    }
}

/// Batched candle tensors `[batch, dim]`.
pub(super) struct TensorOps<'a> {
    pub(super) field: &'a dyn VectorField,
}

impl StateOps for TensorOps<'_> {
    type State = Tensor;
    fn derivative(&mut self, y: &Tensor) -> Result<Tensor> {
        self.field.time_derivatives(y)
    }
    fn lincomb(&self, base: Option<&Tensor>, terms: &[(f64, &Tensor)]) -> Result<Tensor> {
        match base {
            Some(b) => lincomb(b, terms),
            None => {
                let (c0, t0) = terms[0];
                lincomb(&(t0 * c0)?, &terms[1..])
            }
        }
    }
    fn scaled_row_sums(&self, v: &Tensor, a: &Tensor, b: &Tensor, rtol: f64, atol: f64) -> Result<(Vec<f64>, usize)> {
        let scale = (a.abs()?.maximum(&b.abs()?)? * rtol)? + atol;
        let r = (v / scale?)?.to_dtype(DType::F64)?;
        let n = r.dims().last().copied().unwrap_or(1);
        Ok((r.sqr()?.sum(1)?.to_vec1::<f64>()?, n))
    }
}

/// Trajectories as plain row-major vectors `[rows, dim]` (one row: a single trajectory).
pub(super) struct SliceOps<F> {
    pub(super) f: F,
    /// Length of one trajectory's state.
    pub(super) dim: usize,
}

impl<F: FnMut(&[f64], &mut [f64]) -> Result<()>> StateOps for SliceOps<F> {
    type State = Vec<f64>;
    fn derivative(&mut self, y: &Vec<f64>) -> Result<Vec<f64>> {
        let mut dy = vec![0.0; y.len()];
        (self.f)(y, &mut dy)?;
        Ok(dy)
    }
    fn lincomb(&self, base: Option<&Vec<f64>>, terms: &[(f64, &Vec<f64>)]) -> Result<Vec<f64>> {
        let mut acc = match base {
            Some(b) => b.clone(),
            None => vec![0.0; terms[0].1.len()],
        };
        for &(c, v) in terms {
            if c != 0.0 {
                acc.iter_mut().zip(v).for_each(|(a, x)| *a += c * x);
            }
        }
        Ok(acc)
    }
    fn scaled_row_sums(
        &self,
        v: &Vec<f64>,
        a: &Vec<f64>,
        b: &Vec<f64>,
        rtol: f64,
        atol: f64,
    ) -> Result<(Vec<f64>, usize)> {
        let rows = v.chunks(self.dim).zip(a.chunks(self.dim).zip(b.chunks(self.dim)));
        let sums = rows.map(|(v, (a, b))| {
            v.iter()
                .zip(a.iter().zip(b))
                .map(|(v, (a, b))| {
                    let r = v / (atol + rtol * a.abs().max(b.abs()));
                    r * r
                })
                .sum()
        });
        Ok((sums.collect(), self.dim))
    }
}
