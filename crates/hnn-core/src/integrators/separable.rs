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

/// A symmetric composition of leapfrog steps: symplectic and time-reversible, of the given
/// order, one force evaluation per weight.
macro_rules! composition {
    ($(#[$doc:meta])* $name:ident, $config:literal, order $order:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $name;

        impl Integrator for $name {
            fn name(&self) -> &'static str {
                $config
            }
            fn order(&self) -> u32 {
                $order
            }
            fn is_symplectic(&self) -> bool {
                true
            }
            fn is_time_reversible(&self) -> bool {
                true
            }
            fn step(&self, field: &dyn VectorField, z: &Tensor, dt: f64) -> Result<Tensor> {
                compose(require_separable(field, self.name())?, z, dt, &Self::weights())
            }
        }
    };
}

composition!(
    /// Yoshida's 4th-order method: leapfrog steps of w₁·dt, w₀·dt, w₁·dt with
    /// w₁ = 1/(2 − 2^{1/3}), w₀ = −2^{1/3}/(2 − 2^{1/3}). Symplectic and time-reversible.
    Yoshida4, "yoshida4", order 4
);
composition!(
    /// Yoshida's 6th-order method (1990, solution A): a symmetric composition of 7 leapfrog
    /// steps. Symplectic and time-reversible; 7 force evaluations per step.
    Yoshida6, "yoshida6", order 6
);
composition!(
    /// Yoshida's 8th-order method (1990, solution D): a symmetric composition of 15 leapfrog
    /// steps. Symplectic and time-reversible; 15 force evaluations per step.
    Yoshida8, "yoshida8", order 8
);

impl Yoshida4 {
    /// The composition weights (w₁, w₀, w₁).
    pub fn weights() -> Vec<f64> {
        let cbrt2 = 2f64.cbrt();
        symmetric(&[1.0 / (2.0 - cbrt2)])
    }
}

impl Yoshida6 {
    /// The composition weights, w₃ w₂ w₁ w₀ w₁ w₂ w₃ (Yoshida 1990, Table 1, solution A).
    pub fn weights() -> Vec<f64> {
        symmetric(&[-1.177_679_984_178_87, 0.235_573_213_359_357, 0.784_513_610_477_560])
    }
}

impl Yoshida8 {
    /// The composition weights, w₇ … w₁ w₀ w₁ … w₇ (Yoshida 1990, Table 2, solution D).
    pub fn weights() -> Vec<f64> {
        symmetric(&[
            0.102_799_849_391_985,
            -1.960_610_232_975_49,
            1.938_139_137_622_76,
            -0.158_240_635_368_243,
            -1.444_852_236_860_48,
            0.253_693_336_566_229,
            0.914_844_246_229_740,
        ])
    }
}

/// Runs the symmetric composition of leapfrog steps of `weights[i]·dt`.
fn compose(h: &dyn Hamiltonian, z: &Tensor, dt: f64, weights: &[f64]) -> Result<Tensor> {
    let (mut q, mut p) = split_qp(z)?;
    for w in weights {
        (q, p) = leapfrog(h, &q, &p, w * dt)?;
    }
    join_qp(&q, &p)
}

/// The symmetric sequence w_m … w_1 w_0 w_1 … w_m from Yoshida's (w_1 … w_m), with
/// w_0 = 1 − 2 Σ wᵢ so that the weights sum to one.
fn symmetric(outer: &[f64]) -> Vec<f64> {
    let w0 = 1.0 - 2.0 * outer.iter().sum::<f64>();
    let mut w: Vec<f64> = outer.iter().rev().copied().collect();
    w.push(w0);
    w.extend(outer.iter().copied());
    w
}
