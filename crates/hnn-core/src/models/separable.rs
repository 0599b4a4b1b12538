//! `SeparableHamiltonian`: H_θ(q, p) = T_θ(p) + V_θ(q), two MLPs.

use crate::activation::Activation;
use crate::error::Result;
use crate::hamiltonian::Hamiltonian;
use crate::mlp::{Mlp, MlpConfig};
use crate::symplectic::{check_state, join_qp, split_qp};
use candle_core::Tensor;
use candle_nn::VarBuilder;

/// A separable learned Hamiltonian: kinetic MLP `n → … → 1` on p and potential MLP on q.
/// Being separable, it can be integrated with the explicit symplectic schemes (leapfrog,
/// Yoshida), which makes trajectory matching cheap.
/// Variables: `kinetic.layers.*` and `potential.layers.*` under the VarBuilder's prefix.
#[derive(Debug, Clone)]
pub struct SeparableHamiltonian {
    kinetic: Mlp,
    potential: Mlp,
    dof: usize,
}

impl SeparableHamiltonian {
    /// Two networks for `dof` degrees of freedom; ReLU is refused.
    pub fn new(dof: usize, hidden: &[usize], activation: Activation, vb: VarBuilder) -> Result<Self> {
        activation.require_twice_differentiable()?;
        let config = MlpConfig { input: dof, hidden: hidden.to_vec(), output: 1, activation };
        Ok(Self {
            kinetic: Mlp::new(&config, vb.pp("kinetic"))?,
            potential: Mlp::new(&config, vb.pp("potential"))?,
            dof,
        })
    }
}

impl Hamiltonian for SeparableHamiltonian {
    fn degrees_of_freedom(&self) -> usize {
        self.dof
    }

    fn energy(&self, z: &Tensor) -> Result<Tensor> {
        check_state(z, self.dof)?;
        let (q, p) = split_qp(z)?;
        Ok((self.kinetic.forward(&p)? + self.potential.forward(&q)?)?.squeeze(1)?)
    }

    fn grad(&self, z: &Tensor) -> Result<Tensor> {
        join_qp(&self.dh_dq(z)?, &self.dh_dp(z)?)
    }

    fn is_separable(&self) -> bool {
        true
    }

    fn dh_dq(&self, z: &Tensor) -> Result<Tensor> {
        check_state(z, self.dof)?;
        Ok(self.potential.value_and_input_grad(&z.narrow(1, 0, self.dof)?)?.1)
    }

    fn dh_dp(&self, z: &Tensor) -> Result<Tensor> {
        check_state(z, self.dof)?;
        Ok(self.kinetic.value_and_input_grad(&z.narrow(1, self.dof, self.dof)?)?.1)
    }
}
