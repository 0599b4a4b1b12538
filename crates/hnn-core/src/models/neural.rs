//! `NeuralHamiltonian`: H_θ(q, p) as an MLP, the model of the HNN paper.

use crate::activation::Activation;
use crate::error::Result;
use crate::exec::{FieldForm, NetworkField};
use crate::hamiltonian::Hamiltonian;
use crate::mlp::{Mlp, MlpConfig};
use crate::symplectic::check_state;
use candle_core::Tensor;
use candle_nn::VarBuilder;

/// A Hamiltonian parameterised by an MLP `2n → hidden… → 1`.
///
/// ∇H is computed with explicit tensor ops (see [`Mlp::value_and_input_grad`]), so a loss on the
/// vector field J∇H backpropagates to the weights with one ordinary `backward`.
/// Variables: `layers.{i}.weight`, `layers.{i}.bias` under the VarBuilder's prefix.
#[derive(Debug, Clone)]
pub struct NeuralHamiltonian {
    mlp: Mlp,
    dof: usize,
}

impl NeuralHamiltonian {
    /// A network for `dof` degrees of freedom with the given hidden widths (the paper:
    /// `&[200, 200]`) and activation. ReLU is refused: its ∇H would be piecewise constant.
    pub fn new(dof: usize, hidden: &[usize], activation: Activation, vb: VarBuilder) -> Result<Self> {
        activation.require_twice_differentiable()?;
        let config = MlpConfig { input: 2 * dof, hidden: hidden.to_vec(), output: 1, activation };
        Ok(Self { mlp: Mlp::new(&config, vb)?, dof })
    }

    /// The underlying MLP.
    pub fn mlp(&self) -> &Mlp {
        &self.mlp
    }

    /// The model as an MLP field for the execution layer's kernels: ż = J∇H.
    pub fn network(&self) -> NetworkField<'_> {
        NetworkField { form: FieldForm::SymplecticGradient, mlp: &self.mlp }
    }

    /// H(z) and ∇H(z) in one pass.
    pub fn energy_and_grad(&self, z: &Tensor) -> Result<(Tensor, Tensor)> {
        check_state(z, self.dof)?;
        self.mlp.value_and_input_grad(z)
    }
}

impl Hamiltonian for NeuralHamiltonian {
    fn degrees_of_freedom(&self) -> usize {
        self.dof
    }

    fn energy(&self, z: &Tensor) -> Result<Tensor> {
        check_state(z, self.dof)?;
        Ok(self.mlp.forward(z)?.squeeze(1)?)
    }

    fn grad(&self, z: &Tensor) -> Result<Tensor> {
        Ok(self.energy_and_grad(z)?.1)
    }
}
