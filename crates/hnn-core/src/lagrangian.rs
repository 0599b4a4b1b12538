//! Lagrangian mechanics on batched states z = (q, q̇) of shape `[batch, 2n]`: the
//! [`Lagrangian`] trait, the Euler–Lagrange field [`EulerLagrange`] that turns any Lagrangian
//! into a [`VectorField`], and its energy [`LagrangianEnergy`].
//!
//! The Euler–Lagrange equations d/dt ∂L/∂q̇ = ∂L/∂q, written out, are
//! (∂²L/∂q̇∂q̇ᵀ) q̈ = ∂L/∂q − (∂²L/∂q̇∂qᵀ) q̇: a model gives L's first and second derivatives
//! (its [`LagrangianJet`]), written as explicit tensor ops, and [`crate::linalg::solve`] gives q̈.
//! The energy E = q̇·∂L/∂q̇ − L is conserved by that flow for every time-independent L, learned
//! or not: what energy metrics score a Lagrangian model by.

use crate::error::Result;
use crate::hamiltonian::{Hamiltonian, VectorField};
use crate::linalg::{small_matvec, solve};
use crate::symplectic::{check_state, join_qp, split_qp};
use candle_core::{Tensor, D};

/// L and its derivatives at a batch of states, what the Euler–Lagrange equations need.
#[derive(Debug, Clone)]
pub struct LagrangianJet {
    /// L(q, q̇), `[batch]`.
    pub value: Tensor,
    /// ∂L/∂q, `[batch, n]`.
    pub dl_dq: Tensor,
    /// ∂L/∂q̇ (the canonical momentum p), `[batch, n]`.
    pub dl_dv: Tensor,
    /// ∂²L/∂q̇ᵢ∂q̇ⱼ (the mass matrix), `[batch, n, n]`.
    pub mass: Tensor,
    /// ∂²L/∂q̇ᵢ∂qⱼ, `[batch, n, n]`.
    pub mixed: Tensor,
}

impl LagrangianJet {
    /// q̈ from the Euler–Lagrange equations at velocities `v` `[batch, n]`; errors naming
    /// `what` where the mass matrix cannot be solved with.
    pub fn accelerations(&self, v: &Tensor, what: &str) -> Result<Tensor> {
        let rhs = (&self.dl_dq - small_matvec(&self.mixed, v)?)?;
        solve(&self.mass, &rhs, what)
    }

    /// ∇E = (∂E/∂q, ∂E/∂q̇) = ((∂²L/∂q̇∂qᵀ)ᵀq̇ − ∂L/∂q, (∂²L/∂q̇∂q̇ᵀ)q̇), `[batch, 2n]`.
    pub fn energy_grad(&self, v: &Tensor) -> Result<Tensor> {
        let de_dq = (small_matvec(&self.mixed.transpose(1, 2)?, v)? - &self.dl_dq)?;
        join_qp(&de_dq, &small_matvec(&self.mass, v)?)
    }
}

/// A Lagrangian L(q, q̇) on batched states z = (q, q̇).
pub trait Lagrangian: Send + Sync {
    /// Degrees of freedom n (states have 2n components).
    fn degrees_of_freedom(&self) -> usize;

    /// L(z), `[batch]`.
    fn lagrangian(&self, z: &Tensor) -> Result<Tensor>;

    /// L with its first and second derivatives at z (in tensor ops, so that a loss on the
    /// accelerations trains with one `backward`).
    fn jet(&self, z: &Tensor) -> Result<LagrangianJet>;

    /// (L, ∂L/∂q̇) at z, all the energy needs. By default from the [`jet`](Self::jet); a model
    /// whose first derivatives cost less than its second overrides it.
    fn value_and_momentum(&self, z: &Tensor) -> Result<(Tensor, Tensor)> {
        let jet = self.jet(z)?;
        Ok((jet.value, jet.dl_dv))
    }

    /// What the mass matrix ∂²L/∂q̇² is called in errors (e.g. "the learned ∂²L/∂q̇²").
    fn mass_name(&self) -> &'static str {
        "the mass matrix ∂²L/∂q̇²"
    }
}

/// The energy E(q, q̇) = q̇·∂L/∂q̇ − L of a Lagrangian, as a [`Hamiltonian`] so that energy
/// metrics take it like any H. Only its value and gradient mean anything: (q, q̇) are not
/// canonical coordinates, so its J∇E is not the dynamics ([`EulerLagrange`] is).
#[derive(Debug, Clone)]
pub struct LagrangianEnergy<L>(pub L);

impl<L: Lagrangian> Hamiltonian for LagrangianEnergy<L> {
    fn degrees_of_freedom(&self) -> usize {
        self.0.degrees_of_freedom()
    }

    fn energy(&self, z: &Tensor) -> Result<Tensor> {
        check_state(z, self.0.degrees_of_freedom())?;
        let (value, momentum) = self.0.value_and_momentum(z)?;
        Ok(((split_qp(z)?.1 * momentum)?.sum(D::Minus1)? - value)?)
    }

    fn grad(&self, z: &Tensor) -> Result<Tensor> {
        check_state(z, self.0.degrees_of_freedom())?;
        self.0.jet(z)?.energy_grad(&split_qp(z)?.1)
    }
}

/// The dynamics of a Lagrangian: ż = (q̇, q̈) with q̈ from the Euler–Lagrange equations.
/// A plain field to integrators (no Hamiltonian: symplectic schemes refuse it); its energy
/// is [`LagrangianEnergy`].
#[derive(Debug, Clone)]
pub struct EulerLagrange<L> {
    energy: LagrangianEnergy<L>,
}

impl<L: Lagrangian> EulerLagrange<L> {
    /// The field of `lagrangian`.
    pub fn new(lagrangian: L) -> Self {
        Self { energy: LagrangianEnergy(lagrangian) }
    }

    /// The Lagrangian.
    pub fn lagrangian(&self) -> &L {
        &self.energy.0
    }
}

impl<L: Lagrangian> VectorField for EulerLagrange<L> {
    fn time_derivatives(&self, z: &Tensor) -> Result<Tensor> {
        let l = self.lagrangian();
        check_state(z, l.degrees_of_freedom())?;
        let v = split_qp(z)?.1;
        join_qp(&v, &l.jet(z)?.accelerations(&v, l.mass_name())?)
    }

    fn energy_function(&self) -> Option<&dyn Hamiltonian> {
        Some(&self.energy)
    }
}
