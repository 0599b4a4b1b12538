//! `Baseline`: the paper's comparison model, an MLP that outputs ż directly.

use crate::activation::Activation;
use crate::error::Result;
use crate::exec::{FieldForm, NetworkField};
use crate::hamiltonian::VectorField;
use crate::mlp::{Mlp, MlpConfig};
use crate::symplectic::check_state;
use candle_core::Tensor;
use candle_nn::VarBuilder;

/// An MLP `2n → hidden… → 2n` predicting the time derivatives, with no Hamiltonian structure.
/// Variables: `layers.{i}.weight`, `layers.{i}.bias` under the VarBuilder's prefix.
#[derive(Debug, Clone)]
pub struct Baseline {
    mlp: Mlp,
    dof: usize,
}

impl Baseline {
    /// A baseline for `dof` degrees of freedom (any activation, ReLU included).
    pub fn new(dof: usize, hidden: &[usize], activation: Activation, vb: VarBuilder) -> Result<Self> {
        let config = MlpConfig { input: 2 * dof, hidden: hidden.to_vec(), output: 2 * dof, activation };
        Ok(Self { mlp: Mlp::new(&config, vb)?, dof })
    }

    /// Degrees of freedom n.
    pub fn degrees_of_freedom(&self) -> usize {
        self.dof
    }

    /// The underlying network (2n → 2n).
    pub fn mlp(&self) -> &Mlp {
        &self.mlp
    }

    /// The model as an MLP field for the execution layer's kernels: ż = N(z).
    pub fn network(&self) -> NetworkField<'_> {
        NetworkField { form: FieldForm::Output, mlp: &self.mlp }
    }
}

impl VectorField for Baseline {
    fn time_derivatives(&self, z: &Tensor) -> Result<Tensor> {
        check_state(z, self.dof)?;
        self.mlp.forward(z)
    }
}
