//! The implicit midpoint rule, symplectic for every Hamiltonian.

use super::{lincomb, Integrator};
use crate::error::{Error, Result};
use crate::hamiltonian::VectorField;
use candle_core::{DType, Tensor};

/// Implicit midpoint: z' = z + dt·f((z + z')/2), solved by fixed-point iteration.
///
/// Second order, symplectic and time-reversible for any Hamiltonian (separable or not).
/// The iteration stops when max|Δz'| ≤ `tolerance`·(1 + max|z'|); if that has not happened after
/// `max_iterations` the step fails with [`Error::NoConvergence`] (the contraction needs
/// dt·Lip(f)/2 < 1). `tolerance: None` picks 1e-12 for f64 and 1e-6 for lower precisions.
/// Backpropagation goes through the unrolled iterations.
#[derive(Debug, Clone, Copy)]
pub struct ImplicitMidpoint {
    /// Convergence tolerance (relative to 1 + max|z'|); `None` for the dtype's default.
    pub tolerance: Option<f64>,
    /// Iteration cap.
    pub max_iterations: usize,
}

impl Default for ImplicitMidpoint {
    fn default() -> Self {
        Self { tolerance: None, max_iterations: 100 }
    }
}

impl ImplicitMidpoint {
    /// The tolerance used for a given dtype.
    pub fn tolerance_for(&self, dtype: DType) -> f64 {
        self.tolerance.unwrap_or(match dtype {
            DType::F64 => 1e-12,
            _ => 1e-6,
        })
    }
}

impl Integrator for ImplicitMidpoint {
    fn name(&self) -> &'static str {
        "implicit_midpoint"
    }
    fn order(&self) -> u32 {
        2
    }
    fn is_symplectic(&self) -> bool {
        true
    }
    fn step(&self, field: &dyn VectorField, z: &Tensor, dt: f64) -> Result<Tensor> {
        let tol = self.tolerance_for(z.dtype());
        // Start from the explicit Euler predictor.
        let mut next = lincomb(z, &[(dt, &field.time_derivatives(z)?)])?;
        let mut residual = f64::INFINITY;
        for _ in 0..self.max_iterations {
            let mid = ((z + &next)? * 0.5)?;
            let candidate = lincomb(z, &[(dt, &field.time_derivatives(&mid)?)])?;
            let change = (&candidate - &next)?.abs()?.max_all()?.to_dtype(DType::F64)?.to_scalar::<f64>()?;
            let scale = candidate.abs()?.max_all()?.to_dtype(DType::F64)?.to_scalar::<f64>()?;
            next = candidate;
            if !change.is_finite() {
                return Err(Error::NonFinite("implicit midpoint iteration".into()));
            }
            residual = change;
            if change <= tol * (1.0 + scale) {
                return Ok(next);
            }
        }
        Err(Error::NoConvergence {
            method: "implicit midpoint",
            iterations: self.max_iterations,
            residual,
            tolerance: tol,
        })
    }
}
