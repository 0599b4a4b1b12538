//! `NeuralLagrangian`: L_θ(q, q̇) as an MLP, the Lagrangian Neural Network of Cranmer et al.
//! (2020), with q̈ from the Euler–Lagrange equations.
//!
//! Why: an HNN needs canonical momenta, which measurements rarely give; an LNN learns from
//! positions and velocities, and its flow still conserves an energy, E = q̇·∂L/∂q̇ − L, for every
//! weight (tested: ∇E·ż = 0 at every state). The price is a solve with the learned
//! ∂²L/∂q̇², which nothing keeps invertible: a state where it is singular is reported by name
//! ([`Error::IllConditioned`](crate::Error::IllConditioned)); the DeLaN-style model
//! ([`DeepLagrangian`](super::DeepLagrangian)) keeps it positive definite instead.
//!
//! One departure from the paper: L = ½|q̇|² + N(q, q̇), the network learning the difference
//! from a free unit-mass particle. The class of Lagrangians is the same (N can cancel the
//! term), but an untrained or extrapolating model then starts from ∂²L/∂q̇² ≈ I instead of
//! the indefinite, often singular Hessian of a random MLP: measured on the double pendulum,
//! trajectory matching from the first step and rollouts past the data failed without it.

use crate::activation::Activation;
use crate::error::Result;
use crate::lagrangian::{EulerLagrange, Lagrangian, LagrangianJet};
use crate::mlp::{Mlp, MlpConfig};
use crate::symplectic::check_state;
use candle_core::{Tensor, D};
use candle_nn::VarBuilder;

/// L = ½|q̇|² + N(q, q̇), N an MLP `2n → hidden… → 1` on z = (q, q̇); N's Hessian blocks come
/// from [`Mlp::value_grad_and_hessian_products`] along the n velocity directions.
/// Variables: `layers.{i}.weight`, `layers.{i}.bias` under the VarBuilder's prefix.
#[derive(Debug, Clone)]
pub struct LagrangianMlp {
    mlp: Mlp,
    dof: usize,
    /// The rows e_{n+i} of the 2n × 2n identity: the velocity directions.
    velocity_directions: Tensor,
}

/// The Lagrangian Neural Network: [`EulerLagrange`] of a [`LagrangianMlp`].
pub type NeuralLagrangian = EulerLagrange<LagrangianMlp>;

impl LagrangianMlp {
    /// A network for `dof` degrees of freedom (ReLU refused: L needs curvature in q̇).
    pub fn new(dof: usize, hidden: &[usize], activation: Activation, vb: VarBuilder) -> Result<Self> {
        activation.require_twice_differentiable()?;
        let config = MlpConfig { input: 2 * dof, hidden: hidden.to_vec(), output: 1, activation };
        let eye = Tensor::eye(2 * dof, vb.dtype(), vb.device())?;
        Ok(Self { mlp: Mlp::new(&config, vb)?, dof, velocity_directions: eye.narrow(0, dof, dof)? })
    }

    /// The underlying MLP.
    pub fn mlp(&self) -> &Mlp {
        &self.mlp
    }
}

impl NeuralLagrangian {
    /// An LNN for `dof` degrees of freedom with the given hidden widths and activation
    /// (the LNN paper: softplus).
    pub fn from_network(dof: usize, hidden: &[usize], activation: Activation, vb: VarBuilder) -> Result<Self> {
        Ok(EulerLagrange::new(LagrangianMlp::new(dof, hidden, activation, vb)?))
    }
}

impl Lagrangian for LagrangianMlp {
    fn degrees_of_freedom(&self) -> usize {
        self.dof
    }

    fn lagrangian(&self, z: &Tensor) -> Result<Tensor> {
        check_state(z, self.dof)?;
        let v = z.narrow(D::Minus1, self.dof, self.dof)?;
        Ok((self.mlp.forward(z)?.squeeze(1)? + (v.sqr()?.sum(D::Minus1)? * 0.5)?)?)
    }

    fn jet(&self, z: &Tensor) -> Result<LagrangianJet> {
        check_state(z, self.dof)?;
        let n = self.dof;
        let directions = self.velocity_directions.to_dtype(z.dtype())?.to_device(z.device())?;
        // columns[b, i, j] = ∂²L/∂q̇ᵢ∂zⱼ.
        let (value, grad, columns) = self.mlp.value_grad_and_hessian_products(z, &directions)?;
        // Plus the free particle ½|q̇|²: ∂/∂q̇ = q̇, ∂²/∂q̇² = I.
        let v = z.narrow(D::Minus1, n, n)?;
        let eye = Tensor::eye(n, z.dtype(), z.device())?.unsqueeze(0)?;
        Ok(LagrangianJet {
            value: (value + (v.sqr()?.sum(D::Minus1)? * 0.5)?)?,
            dl_dq: grad.narrow(D::Minus1, 0, n)?,
            dl_dv: (grad.narrow(D::Minus1, n, n)? + v)?,
            mass: columns.narrow(D::Minus1, n, n)?.broadcast_add(&eye)?,
            mixed: columns.narrow(D::Minus1, 0, n)?,
        })
    }

    /// One forward and one reverse pass: the energy needs no Hessian.
    fn value_and_momentum(&self, z: &Tensor) -> Result<(Tensor, Tensor)> {
        check_state(z, self.dof)?;
        let (value, grad) = self.mlp.value_and_input_grad(z)?;
        let v = z.narrow(D::Minus1, self.dof, self.dof)?;
        Ok(((value + (v.sqr()?.sum(D::Minus1)? * 0.5)?)?, (grad.narrow(D::Minus1, self.dof, self.dof)? + v)?))
    }

    fn mass_name(&self) -> &'static str {
        "the learned Lagrangian's ∂²L/∂q̇²"
    }
}
