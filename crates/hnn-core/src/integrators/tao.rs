//! Tao's explicit symplectic integrator for non-separable Hamiltonians (Tao 2016, "Explicit
//! symplectic approximation of nonseparable Hamiltonians").

use super::{require_hamiltonian, Integrator};
use crate::error::{Error, Result};
use crate::hamiltonian::{Hamiltonian, VectorField};
use crate::symplectic::{degrees_of_freedom, join_qp, split_qp};
use candle_core::Tensor;

/// Tao's scheme: the phase space is doubled to (q, p, x, y) with
/// H̄ = H(q, y) + H(x, p) + ω(|q − x|² + |p − y|²)/2, whose three parts have exact flows
/// φ_A, φ_B, φ_C; one step is φ_A(h/2) φ_B(h/2) φ_C(h) φ_B(h/2) φ_A(h/2). Second order and
/// symplectic on the extended space; explicit for any Hamiltonian.
///
/// The integrator state is `[batch, 4n]` = (q, p, x, y) ([`Integrator::lift`] copies (q, p)
/// into (x, y)); [`rollout`](super::rollout) carries it between output times. The coupling ω
/// must be large against the system's frequencies but ω·h small (Tao suggests ω·h ≲ 1).
#[derive(Debug, Clone, Copy)]
pub struct Tao {
    /// Coupling strength ω of the two copies.
    pub omega: f64,
}

impl Default for Tao {
    fn default() -> Self {
        Self { omega: 20.0 }
    }
}

/// Splits an extended state into (q, p, x, y).
fn split4(s: &Tensor) -> Result<[Tensor; 4]> {
    let dims = s.dims();
    if dims.len() != 2 || !dims[1].is_multiple_of(4) || dims[1] == 0 {
        return Err(Error::StateShape {
            got: dims.to_vec(),
            expected: "[batch, 4n] (q, p, x, y) for Tao's scheme".into(),
        });
    }
    let n = dims[1] / 4;
    Ok([s.narrow(1, 0, n)?, s.narrow(1, n, n)?, s.narrow(1, 2 * n, n)?, s.narrow(1, 3 * n, n)?])
}

impl Tao {
    /// φ_A(δ): flow of H(q, y): p ← p − δ ∂_qH(q, y), x ← x + δ ∂_pH(q, y).
    fn flow_a(h: &dyn Hamiltonian, s: [Tensor; 4], d: f64) -> Result<[Tensor; 4]> {
        let [q, p, x, y] = s;
        let (hq, hp) = split_qp(&h.grad(&join_qp(&q, &y)?)?)?;
        Ok([q, (p - (hq * d)?)?, (x + (hp * d)?)?, y])
    }

    /// φ_B(δ): flow of H(x, p): q ← q + δ ∂_pH(x, p), y ← y − δ ∂_qH(x, p).
    fn flow_b(h: &dyn Hamiltonian, s: [Tensor; 4], d: f64) -> Result<[Tensor; 4]> {
        let [q, p, x, y] = s;
        let (hq, hp) = split_qp(&h.grad(&join_qp(&x, &p)?)?)?;
        Ok([(q + (hp * d)?)?, p, x, (y - (hq * d)?)?])
    }

    /// φ_C(δ): the coupling's rotation of (q − x, p − y) by the angle 2ωδ.
    fn flow_c(&self, s: [Tensor; 4], d: f64) -> Result<[Tensor; 4]> {
        let [q, p, x, y] = s;
        let (c, sn) = ((2.0 * self.omega * d).cos(), (2.0 * self.omega * d).sin());
        let sum_q = (&q + &x)?;
        let sum_p = (&p + &y)?;
        let dq = (&q - &x)?;
        let dp = (&p - &y)?;
        let rq = ((&dq * c)? + (&dp * sn)?)?;
        let rp = ((&dp * c)? - (&dq * sn)?)?;
        Ok([((&sum_q + &rq)? * 0.5)?, ((&sum_p + &rp)? * 0.5)?, ((&sum_q - &rq)? * 0.5)?, ((&sum_p - &rp)? * 0.5)?])
    }
}

impl Integrator for Tao {
    fn name(&self) -> &'static str {
        "tao"
    }
    fn order(&self) -> u32 {
        2
    }
    fn is_symplectic(&self) -> bool {
        true
    }
    fn lift(&self, z: &Tensor) -> Result<Tensor> {
        degrees_of_freedom(z)?;
        Ok(Tensor::cat(&[z, z], 1)?)
    }
    fn project(&self, state: &Tensor) -> Result<Tensor> {
        let [q, p, _, _] = split4(state)?;
        join_qp(&q, &p)
    }
    fn step(&self, field: &dyn VectorField, state: &Tensor, dt: f64) -> Result<Tensor> {
        let h = require_hamiltonian(field, self.name())?;
        let mut s = split4(state)?;
        s = Self::flow_a(h, s, 0.5 * dt)?;
        s = Self::flow_b(h, s, 0.5 * dt)?;
        s = self.flow_c(s, dt)?;
        s = Self::flow_b(h, s, 0.5 * dt)?;
        s = Self::flow_a(h, s, 0.5 * dt)?;
        Ok(Tensor::cat(&s, 1)?)
    }
}
