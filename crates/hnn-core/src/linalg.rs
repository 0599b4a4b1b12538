//! Small dense linear algebra on batches, in plain tensor ops (any device, differentiable):
//! what the Euler–Lagrange equations need, one n × n system per state with n the degrees of
//! freedom.
//!
//! [`solve`] is Gauss–Jordan elimination with partial pivoting, unrolled over the n columns.
//! The pivot choice is data-dependent but piecewise constant, so it is built from comparisons
//! (no gradient) and the arithmetic around it differentiates as usual: candle's `backward`
//! through the solve gives ∂x/∂A = −A⁻ᵀ x̄ xᵀ and ∂x/∂b = A⁻ᵀ x̄, as the closed form says.

use crate::error::{Error, Result};
use candle_core::{DType, Tensor, D};

/// a·b for batches of small matrices, a `[.., n, k]`, b `[.., k, m]` → `[.., n, m]`, as
/// broadcast products and a sum (no batched GEMM call: for n ≤ 10 the elementwise form is
/// cheaper, and it runs the same on every device).
pub fn small_matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    Ok(a.unsqueeze(D::Minus1)?.broadcast_mul(&b.unsqueeze(a.rank() - 2)?)?.sum(D::Minus2)?)
}

/// a·v for a batch of matrices a `[.., n, k]` and vectors v `[.., k]` → `[.., n]`.
pub fn small_matvec(a: &Tensor, v: &Tensor) -> Result<Tensor> {
    Ok(a.broadcast_mul(&v.unsqueeze(D::Minus2)?)?.sum(D::Minus1)?)
}

/// The smallest pivot of the elimination relative to the largest entry of its matrix, under
/// which a system counts as singular: about 1/cond(A) at this much times the type's epsilon.
fn pivot_floor(dtype: DType, n: usize) -> f64 {
    let eps = match dtype {
        DType::F64 => f64::EPSILON,
        DType::F32 => f32::EPSILON as f64,
        _ => 1e-3,
    };
    64.0 * eps * n as f64
}

/// x with A x = b for each of a batch: A `[batch, n, n]`, b `[batch, n]` → x `[batch, n]`.
///
/// Errors with [`Error::IllConditioned`] naming `what` (for instance "∂²L/∂q̇², the learned
/// mass matrix") and the first state whose matrix is singular, ill-conditioned past what the
/// dtype resolves, or not finite: a NaN never leaves here.
pub fn solve(a: &Tensor, b: &Tensor, what: &str) -> Result<Tensor> {
    let (batch, n, n2) = a.dims3()?;
    if n != n2 || b.dims() != [batch, n] {
        return Err(Error::InvalidArgument(format!(
            "solve needs A [batch, n, n] and b [batch, n], got {:?} and {:?}",
            a.dims(),
            b.dims()
        )));
    }
    if batch == 0 || n == 0 {
        return Ok(b.clone());
    }
    let (dtype, device) = (a.dtype(), a.device());
    // The augmented matrix [A | b], [batch, n, n + 1].
    let mut m = Tensor::cat(&[a, &b.unsqueeze(2)?], 2)?;
    let rows = Tensor::arange(0u32, n as u32, device)?.to_dtype(dtype)?; // row numbers, [n]
    let mut pivots = Vec::with_capacity(n);
    for k in 0..n {
        // The row at or below k with the largest |entry| in column k (comparisons: no gradient).
        let column = m.narrow(2, k, 1)?.squeeze(2)?; // [batch, n]
        let below = column.narrow(1, k, n - k)?.abs()?.detach();
        let best = (below.argmax_keepdim(1)?.to_dtype(dtype)? + k as f64)?; // [batch, 1]
        let e_best = rows.unsqueeze(0)?.broadcast_eq(&best)?.to_dtype(dtype)?; // [batch, n]
        let e_k = rows.eq(k as f64)?.to_dtype(dtype)?.unsqueeze(0)?; // [1, n]
                                                                     // Swap rows k and best: M ← M − u (uᵀM), u = e_k − e_best.
        let u = e_k.broadcast_sub(&e_best)?.unsqueeze(2)?; // [batch, n, 1]
        let ut_m = u.broadcast_mul(&m)?.sum_keepdim(1)?; // [batch, 1, n + 1]
        m = (&m - u.broadcast_mul(&ut_m)?)?;
        // Normalise the pivot row and clear column k in every other row.
        let row = m.narrow(1, k, 1)?; // [batch, 1, n + 1]
        let pivot = row.narrow(2, k, 1)?; // [batch, 1, 1]
        pivots.push(pivot.squeeze(2)?.squeeze(1)?);
        let row = row.broadcast_div(&pivot)?;
        let factor = m.narrow(2, k, 1)?.broadcast_sub(&e_k.unsqueeze(2)?)?; // [batch, n, 1]
        m = (&m - factor.broadcast_mul(&row)?)?;
    }
    check_pivots(a, &Tensor::stack(&pivots, 1)?, what)?;
    Ok(m.narrow(2, n, 1)?.squeeze(2)?)
}

/// Errors unless every system's smallest pivot is above [`pivot_floor`] of its largest entry.
fn check_pivots(a: &Tensor, pivots: &Tensor, what: &str) -> Result<()> {
    let n = pivots.dims()[1];
    let smallest = pivots.abs()?.min(1)?.to_dtype(DType::F64)?.to_vec1::<f64>()?;
    let largest = a.abs()?.flatten_from(1)?.max(1)?.to_dtype(DType::F64)?.to_vec1::<f64>()?;
    let floor = pivot_floor(a.dtype(), n);
    for (state, (s, l)) in smallest.iter().zip(&largest).enumerate() {
        let ratio = s / l;
        if ratio.is_nan() || ratio <= floor || !l.is_finite() {
            return Err(Error::IllConditioned { what: what.to_string(), state, ratio });
        }
    }
    Ok(())
}
