//! The kinds hnn ships: the HNN, the separable HNN, the dissipative HNN and the baseline, each its hnn-core model
//! with the paper's MLP (see [`ModelSpec`]).

use super::state::mlp_parameters;
use super::{LearnedModel, ModelFamily, ModelSpec};
use crate::error::Result;
use candle_nn::VarBuilder;
use hnn_core::exec::NetworkField;
use hnn_core::{Baseline, DissipativeHamiltonian, NeuralHamiltonian, SeparableHamiltonian};

/// A family for an hnn-core model built as `Model::new(dof, hidden, activation, vb)`.
macro_rules! family {
    ($(#[$doc:meta])* $family:ident, $model:ty, $name:literal, $summary:literal, curvature: $curvature:literal, seed: $seed:literal,
     parameters: |$spec:ident| $parameters:expr) => {
        $(#[$doc])*
        pub struct $family;

        impl ModelFamily for $family {
            fn name(&self) -> &'static str {
                $name
            }
            fn summary(&self) -> &'static str {
                $summary
            }
            fn needs_curvature(&self) -> bool {
                $curvature
            }
            fn parameter_bound(&self, $spec: &ModelSpec) -> f64 {
                $parameters
            }
            fn build(&self, spec: &ModelSpec, vb: VarBuilder) -> Result<Box<dyn LearnedModel>> {
                Ok(Box::new(<$model>::new(spec.dof, &spec.hidden, spec.activation, vb)?))
            }
            fn seed_offset(&self) -> u64 {
                $seed
            }
        }
    };
}

family!(
    /// [`ModelKind::HNN`](super::ModelKind::HNN).
    HnnFamily, NeuralHamiltonian, "hnn", "the Hamiltonian Neural Network: an MLP H(q, p), field J∇H",
    curvature: true, seed: 2,
    parameters: |s| mlp_parameters(2 * s.dof, &s.hidden, 1)
);
family!(
    /// [`ModelKind::SEPARABLE_HNN`](super::ModelKind::SEPARABLE_HNN).
    SeparableHnnFamily, SeparableHamiltonian, "separable_hnn", "a separable HNN: H = T(p) + V(q), two MLPs",
    curvature: true, seed: 3,
    parameters: |s| 2.0 * mlp_parameters(s.dof, &s.hidden, 1)
);
family!(
    /// [`ModelKind::DISSIPATIVE_HNN`](super::ModelKind::DISSIPATIVE_HNN).
    DissipativeHnnFamily, DissipativeHamiltonian, "dissipative_hnn",
    "a dissipative HNN: ż = (J − R)∇H, an MLP H and a learned friction R ≥ 0 on the momenta",
    curvature: true, seed: 4,
    parameters: |s| mlp_parameters(2 * s.dof, &s.hidden, 1) + mlp_parameters(2 * s.dof, &s.hidden, s.dof)
);
family!(
    /// [`ModelKind::BASELINE`](super::ModelKind::BASELINE).
    BaselineFamily, Baseline, "baseline", "the baseline: an MLP that outputs ż",
    curvature: false, seed: 1,
    parameters: |s| mlp_parameters(2 * s.dof, &s.hidden, 2 * s.dof)
);

/// Its MLP runs on the execution layer's kernels.
impl LearnedModel for NeuralHamiltonian {
    fn network(&self) -> Option<NetworkField<'_>> {
        Some(NeuralHamiltonian::network(self))
    }
}

/// Two MLPs: tensor ops and autograd.
impl LearnedModel for SeparableHamiltonian {}

/// Two MLPs: tensor ops and autograd.
impl LearnedModel for DissipativeHamiltonian {}

/// Its MLP runs on the execution layer's kernels.
impl LearnedModel for Baseline {
    fn network(&self) -> Option<NetworkField<'_>> {
        Some(Baseline::network(self))
    }
}
