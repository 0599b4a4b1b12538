//! Classical (non-symplectic) explicit schemes: Euler and RK4.

use super::{lincomb, Integrator};
use crate::error::Result;
use crate::hamiltonian::VectorField;
use candle_core::Tensor;

/// Explicit Euler: z ← z + dt·f(z). First order; the pixel HNN's latent step.
#[derive(Debug, Clone, Copy, Default)]
pub struct Euler;

impl Integrator for Euler {
    fn name(&self) -> &'static str {
        "euler"
    }
    fn order(&self) -> u32 {
        1
    }
    fn is_symplectic(&self) -> bool {
        false
    }
    fn step(&self, field: &dyn VectorField, z: &Tensor, dt: f64) -> Result<Tensor> {
        lincomb(z, &[(dt, &field.time_derivatives(z)?)])
    }
}

/// The classical 4th-order Runge–Kutta method. Not symplectic: on oscillators its energy
/// drifts linearly in time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rk4;

impl Integrator for Rk4 {
    fn name(&self) -> &'static str {
        "rk4"
    }
    fn order(&self) -> u32 {
        4
    }
    fn is_symplectic(&self) -> bool {
        false
    }
    fn step(&self, field: &dyn VectorField, z: &Tensor, dt: f64) -> Result<Tensor> {
        let k1 = field.time_derivatives(z)?;
        let k2 = field.time_derivatives(&lincomb(z, &[(0.5 * dt, &k1)])?)?;
        let k3 = field.time_derivatives(&lincomb(z, &[(0.5 * dt, &k2)])?)?;
        let k4 = field.time_derivatives(&lincomb(z, &[(dt, &k3)])?)?;
        lincomb(z, &[(dt / 6.0, &k1), (dt / 3.0, &k2), (dt / 3.0, &k3), (dt / 6.0, &k4)])
    }
}
