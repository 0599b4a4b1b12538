//! Explicit symplectic schemes for separable Hamiltonians H = T(p) + V(q).

use super::{require_separable, Integrator};
use crate::error::Result;
use crate::hamiltonian::{Hamiltonian, VectorField};
use crate::symplectic::{join_qp, split_qp};
use candle_core::Tensor;

/// p ← p − h·∂H/∂q(q).
fn kick(h: &dyn Hamiltonian, q: &Tensor, p: &Tensor, dt: f64) -> Result<Tensor> {
    let force = h.dh_dq(&join_qp(q, p)?)?;
    Ok((p - (force * dt)?)?)
}

/// q ← q + h·∂H/∂p(p).
fn drift(h: &dyn Hamiltonian, q: &Tensor, p: &Tensor, dt: f64) -> Result<Tensor> {
    let velocity = h.dh_dp(&join_qp(q, p)?)?;
    Ok((q + (velocity * dt)?)?)
}

/// One kick–drift–kick leapfrog step on (q, p).
fn leapfrog(h: &dyn Hamiltonian, q: &Tensor, p: &Tensor, dt: f64) -> Result<(Tensor, Tensor)> {
    let p_half = kick(h, q, p, 0.5 * dt)?;
    let q_new = drift(h, q, &p_half, dt)?;
    let p_new = kick(h, &q_new, &p_half, 0.5 * dt)?;
    Ok((q_new, p_new))
}

/// Symplectic Euler: p ← p − dt·∂V/∂q(q), then q ← q + dt·∂T/∂p(p). First order.
#[derive(Debug, Clone, Copy, Default)]
pub struct SymplecticEuler;

impl Integrator for SymplecticEuler {
    fn name(&self) -> &'static str {
        "symplectic_euler"
    }
    fn order(&self) -> u32 {
        1
    }
    fn is_symplectic(&self) -> bool {
        true
    }
    fn step(&self, field: &dyn VectorField, z: &Tensor, dt: f64) -> Result<Tensor> {
        let h = require_separable(field, self.name())?;
        let (q, p) = split_qp(z)?;
        let p = kick(h, &q, &p, dt)?;
        let q = drift(h, &q, &p, dt)?;
        join_qp(&q, &p)
    }
}

/// Leapfrog / Störmer–Verlet (kick–drift–kick). Second order, symplectic, time-reversible.
#[derive(Debug, Clone, Copy, Default)]
pub struct Leapfrog;

impl Integrator for Leapfrog {
    fn name(&self) -> &'static str {
        "leapfrog"
    }
    fn order(&self) -> u32 {
        2
    }
    fn is_symplectic(&self) -> bool {
        true
    }
    fn is_time_reversible(&self) -> bool {
        true
    }
    fn step(&self, field: &dyn VectorField, z: &Tensor, dt: f64) -> Result<Tensor> {
        let h = require_separable(field, self.name())?;
        let (q, p) = split_qp(z)?;
        let (q, p) = leapfrog(h, &q, &p, dt)?;
        join_qp(&q, &p)
    }
}

/// Yoshida's 4th-order method: leapfrog steps of w₁·dt, w₀·dt, w₁·dt with
/// w₁ = 1/(2 − 2^{1/3}), w₀ = −2^{1/3}/(2 − 2^{1/3}). Symplectic and time-reversible.
#[derive(Debug, Clone, Copy, Default)]
pub struct Yoshida4;

impl Yoshida4 {
    /// The composition weights (w₁, w₀, w₁).
    pub fn weights() -> [f64; 3] {
        let cbrt2 = 2f64.cbrt();
        let w1 = 1.0 / (2.0 - cbrt2);
        let w0 = -cbrt2 / (2.0 - cbrt2);
        [w1, w0, w1]
    }
}

impl Integrator for Yoshida4 {
    fn name(&self) -> &'static str {
        "yoshida4"
    }
    fn order(&self) -> u32 {
        4
    }
    fn is_symplectic(&self) -> bool {
        true
    }
    fn is_time_reversible(&self) -> bool {
        true
    }
    fn step(&self, field: &dyn VectorField, z: &Tensor, dt: f64) -> Result<Tensor> {
        let h = require_separable(field, self.name())?;
        let (mut q, mut p) = split_qp(z)?;
        for w in Self::weights() {
            (q, p) = leapfrog(h, &q, &p, w * dt)?;
        }
        join_qp(&q, &p)
    }
}
