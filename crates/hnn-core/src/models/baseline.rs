//! `Baseline`: the paper's comparison model, an MLP that outputs ż directly.

use crate::activation::Activation;
use crate::error::Result;
use crate::fused::{FieldForm, LossGradients};
use crate::hamiltonian::VectorField;
use crate::mlp::{Mlp, MlpConfig};
use crate::symplectic::{check_host_rows, check_state};
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
}

impl VectorField for Baseline {
    fn time_derivatives(&self, z: &Tensor) -> Result<Tensor> {
        check_state(z, self.dof)?;
        self.mlp.forward(z)
    }

    fn fused_gradient_matching(&self, z: &Tensor, target: &Tensor) -> Result<Option<LossGradients>> {
        check_state(z, self.dof)?;
        self.mlp.fused_gradient_matching(FieldForm::Direct, z, target)
    }

    fn time_derivatives_host(&self, z: &[f64], dz: &mut [f64]) -> Result<bool> {
        check_host_rows(z, dz, self.dof)?;
        let Some((y, _)) = self.mlp.infer_host(FieldForm::Direct, z)? else { return Ok(false) };
        dz.copy_from_slice(&y);
        Ok(true)
    }
}
