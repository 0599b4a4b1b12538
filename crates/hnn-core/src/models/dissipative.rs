//! `DissipativeHamiltonian`: a learned energy H(q, p) and a learned friction, in the
//! port-Hamiltonian form ż = (J − R(z))∇H.
//!
//! Why this form and not the Helmholtz one (ż = J∇H + ∇D, Sosanya & Greydanus 2022): here the
//! energy balance is built in, dH/dt = −∇Hᵀ R ∇H ≤ 0 for every state and every weight, because
//! R is positive semi-definite by construction; the Helmholtz form's D can add energy unless it
//! is constrained. And the dissipation is a *rate*: R acts on the momenta only (friction is a
//! force, ṗ = −∂H/∂q − r(z)·∂H/∂p), so for a friction force −γ·p/m the learned r(z) is γ itself,
//! read off the model with [`damping_rates`](crate::VectorField::damping_rates) and no fitting.
//! H keeps its meaning: the conservative part J∇H fixes its scale, as in the HNN.

use crate::activation::Activation;
use crate::error::Result;
use crate::hamiltonian::{Hamiltonian, VectorField};
use crate::mlp::{Mlp, MlpConfig};
use crate::models::NeuralHamiltonian;
use crate::symplectic::{apply_j, check_state, join_qp, split_qp};
use candle_core::Tensor;
use candle_nn::VarBuilder;

/// ż = (J − R(z))∇H(z) with R(z) = diag(0, …, 0, r₁(z), …, rₙ(z)), rᵢ = softplus(Nᵢ(z)) ≥ 0.
///
/// Two networks: the energy H, an [`NeuralHamiltonian`] `2n → hidden… → 1` (variables
/// `energy.layers.*`), and the damping network N, `2n → hidden… → n` (`damping.layers.*`).
/// Softplus keeps each rate positive with a gradient everywhere; a rate can only approach 0,
/// so a model with N's output far below 0 is the HNN of the same H to within e^N.
#[derive(Debug, Clone)]
pub struct DissipativeHamiltonian {
    energy: NeuralHamiltonian,
    damping: Mlp,
    dof: usize,
}

impl DissipativeHamiltonian {
    /// A model for `dof` degrees of freedom, both networks with the given hidden widths and
    /// activation (ReLU refused: ∇H must be differentiable).
    pub fn new(dof: usize, hidden: &[usize], activation: Activation, vb: VarBuilder) -> Result<Self> {
        let energy = NeuralHamiltonian::new(dof, hidden, activation, vb.pp("energy"))?;
        let config = MlpConfig { input: 2 * dof, hidden: hidden.to_vec(), output: dof, activation };
        Ok(Self { energy, damping: Mlp::new(&config, vb.pp("damping"))?, dof })
    }

    /// The learned energy H.
    pub fn energy(&self) -> &NeuralHamiltonian {
        &self.energy
    }

    /// The damping network N (rates are softplus(N)).
    pub fn damping_network(&self) -> &Mlp {
        &self.damping
    }

    /// The rates r(z) = softplus(N(z)), `[batch, n]`.
    pub fn rates(&self, z: &Tensor) -> Result<Tensor> {
        check_state(z, self.dof)?;
        Activation::Softplus.apply(&self.damping.forward(z)?)
    }

    /// The conservative part J∇H and the dissipative part −R∇H of the field, each `[batch, 2n]`.
    pub fn parts(&self, z: &Tensor) -> Result<(Tensor, Tensor)> {
        let (_, grad) = self.energy.energy_and_grad(z)?;
        let conservative = apply_j(&grad)?;
        let (_, dh_dp) = split_qp(&grad)?;
        let friction = (self.rates(z)? * dh_dp)?.neg()?;
        let dissipative = join_qp(&friction.zeros_like()?, &friction)?;
        Ok((conservative, dissipative))
    }
}

impl VectorField for DissipativeHamiltonian {
    fn time_derivatives(&self, z: &Tensor) -> Result<Tensor> {
        let (conservative, dissipative) = self.parts(z)?;
        Ok((conservative + dissipative)?)
    }

    /// Not a Hamiltonian field: symplectic integrators refuse it (they would drop R).
    fn hamiltonian(&self) -> Option<&dyn Hamiltonian> {
        None
    }

    fn energy_function(&self) -> Option<&dyn Hamiltonian> {
        Some(&self.energy)
    }

    fn damping_rates(&self, z: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(self.rates(z)?))
    }
}
