//! The canonical symplectic structure: the matrix J and the state layout z = (q, p).
//!
//! States are batched tensors of shape `[batch, 2n]`: the first n columns are the generalized
//! coordinates q, the last n the momenta p.

use crate::error::{Error, Result};
use candle_core::{DType, Device, Tensor};

/// What the second half of a state is: canonical momenta p (Hamiltonian models, J∇H) or
/// velocities q̇ (Lagrangian models, the Euler–Lagrange equations). A model and its data must
/// agree on it; a field that takes either (the baseline) has no preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Coordinates {
    /// z = (q, p), p the canonical momenta.
    #[default]
    Canonical,
    /// z = (q, q̇).
    Velocity,
}

impl Coordinates {
    /// The state as words, for messages: "(q, p), canonical" or "(q, q̇), velocities".
    pub fn describe(self) -> &'static str {
        match self {
            Coordinates::Canonical => "canonical (q, p)",
            Coordinates::Velocity => "velocity (q, q̇)",
        }
    }

    /// The name in configs.
    pub fn name(self) -> &'static str {
        match self {
            Coordinates::Canonical => "canonical",
            Coordinates::Velocity => "velocity",
        }
    }
}

/// The number of degrees of freedom n of a state `[batch, 2n]`, checking the layout.
pub fn degrees_of_freedom(z: &Tensor) -> Result<usize> {
    let dims = z.dims();
    if dims.len() != 2 || dims[1] == 0 || !dims[1].is_multiple_of(2) {
        return Err(Error::StateShape { got: dims.to_vec(), expected: "[batch, 2n], n ≥ 1".into() });
    }
    Ok(dims[1] / 2)
}

/// Checks that `z` is `[batch, 2n]` for the given n.
pub fn check_state(z: &Tensor, n: usize) -> Result<()> {
    let dims = z.dims();
    if dims.len() != 2 || dims[1] != 2 * n {
        return Err(Error::StateShape { got: dims.to_vec(), expected: format!("[batch, {}]", 2 * n) });
    }
    Ok(())
}

/// Checks that host states `z` and their derivative buffer `dz` are whole rows of `width`
/// values (row-major `[rows, width]`, as [`crate::exec::host::time_derivatives_rows`] takes
/// them).
pub fn check_rows(z: &[f64], dz: &[f64], width: usize) -> Result<()> {
    if width == 0 || z.len() != dz.len() || !z.len().is_multiple_of(width) {
        return Err(Error::StateShape {
            got: vec![z.len(), dz.len()],
            expected: format!("states and derivatives of equal length, whole rows of {width}"),
        });
    }
    Ok(())
}

/// Splits a state `[batch, 2n]` into `(q, p)`, each `[batch, n]`.
pub fn split_qp(z: &Tensor) -> Result<(Tensor, Tensor)> {
    let n = degrees_of_freedom(z)?;
    Ok((z.narrow(1, 0, n)?, z.narrow(1, n, n)?))
}

/// Joins `q` and `p` (each `[batch, n]`) into a state `[batch, 2n]`.
pub fn join_qp(q: &Tensor, p: &Tensor) -> Result<Tensor> {
    Ok(Tensor::cat(&[q, p], 1)?)
}

/// The canonical symplectic matrix J = [[0, I], [−I, 0]] of size 2n × 2n.
pub fn symplectic_matrix(n: usize, dtype: DType, device: &Device) -> Result<Tensor> {
    let m = 2 * n;
    let mut j = vec![0f64; m * m];
    for i in 0..n {
        j[i * m + n + i] = 1.0;
        j[(n + i) * m + i] = -1.0;
    }
    Ok(Tensor::from_vec(j, (m, m), device)?.to_dtype(dtype)?)
}

/// Applies J in place to host rows of width 2n (row-major): each row ∇H = (∂H/∂q, ∂H/∂p)
/// becomes (∂H/∂p, −∂H/∂q), the Hamiltonian field ż = J∇H ([`apply_j`] on tensors).
#[inline]
pub fn apply_j_rows(rows: &mut [f64], dof: usize) {
    for r in rows.chunks_exact_mut(2 * dof) {
        for i in 0..dof {
            let (dq, dp) = (r[i], r[dof + i]);
            r[i] = dp;
            r[dof + i] = -dq;
        }
    }
}

/// Applies J to a batch of row vectors: for ∇H = (∂H/∂q, ∂H/∂p) returns (∂H/∂p, −∂H/∂q),
/// i.e. the Hamiltonian vector field ż = J∇H. Uses slicing, not a matmul.
pub fn apply_j(grad: &Tensor) -> Result<Tensor> {
    let (dq, dp) = split_qp(grad)?;
    Ok(Tensor::cat(&[&dp, &dq.neg()?], 1)?)
}
