//! The kinds hnn ships: the HNN, the separable HNN, the dissipative HNN, the baseline, the LNN
//! and the DeLaN-style Lagrangian, each its hnn-core model with the experiment's MLPs (see
//! [`ModelSpec`]).

use super::state::mlp_parameters;
use super::{LearnedModel, ModelFamily, ModelSpec};
use crate::error::Result;
use candle_nn::VarBuilder;
use hnn_core::exec::NetworkField;
use hnn_core::{
    Baseline, Coordinates, DeepLagrangian, DissipativeHamiltonian, NeuralHamiltonian, NeuralLagrangian,
    SeparableHamiltonian,
};

/// A family for an hnn-core model built as `build(dof, hidden, activation, vb)`.
macro_rules! family {
    ($(#[$doc:meta])* $family:ident, $build:path, $name:literal, $summary:literal, curvature: $curvature:literal, seed: $seed:literal,
     coordinates: $coordinates:expr, parameters: |$spec:ident| $parameters:expr $(, separable: $separable:literal)?) => {
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
                Ok(Box::new($build(spec.dof, &spec.hidden, spec.activation, vb)?))
            }
            fn coordinates(&self) -> Option<Coordinates> {
                $coordinates
            }
            $(fn is_separable(&self) -> bool {
                $separable
            })?
            fn seed_offset(&self) -> u64 {
                $seed
            }
        }
    };
}

family!(
    /// [`ModelKind::HNN`](super::ModelKind::HNN).
    HnnFamily, NeuralHamiltonian::new, "hnn", "the Hamiltonian Neural Network: an MLP H(q, p), field J∇H",
    curvature: true, seed: 2, coordinates: Some(Coordinates::Canonical),
    parameters: |s| mlp_parameters(2 * s.dof, &s.hidden, 1)
);
family!(
    /// [`ModelKind::SEPARABLE_HNN`](super::ModelKind::SEPARABLE_HNN).
    SeparableHnnFamily, SeparableHamiltonian::new, "separable_hnn", "a separable HNN: H = T(p) + V(q), two MLPs",
    curvature: true, seed: 3, coordinates: Some(Coordinates::Canonical),
    parameters: |s| 2.0 * mlp_parameters(s.dof, &s.hidden, 1), separable: true
);
family!(
    /// [`ModelKind::DISSIPATIVE_HNN`](super::ModelKind::DISSIPATIVE_HNN).
    DissipativeHnnFamily, DissipativeHamiltonian::new, "dissipative_hnn",
    "a dissipative HNN: ż = (J − R)∇H, an MLP H and a learned friction R ≥ 0 on the momenta",
    curvature: true, seed: 4, coordinates: Some(Coordinates::Canonical),
    parameters: |s| mlp_parameters(2 * s.dof, &s.hidden, 1) + mlp_parameters(2 * s.dof, &s.hidden, s.dof)
);
family!(
    /// [`ModelKind::BASELINE`](super::ModelKind::BASELINE).
    BaselineFamily, Baseline::new, "baseline", "the baseline: an MLP that outputs ż",
    curvature: false, seed: 1, coordinates: None,
    parameters: |s| mlp_parameters(2 * s.dof, &s.hidden, 2 * s.dof)
);

family!(
    /// [`ModelKind::LNN`](super::ModelKind::LNN).
    LnnFamily, NeuralLagrangian::from_network, "lnn",
    "the Lagrangian Neural Network: an MLP L(q, q̇), q̈ by the Euler–Lagrange equations",
    curvature: true, seed: 5, coordinates: Some(Coordinates::Velocity),
    parameters: |s| mlp_parameters(2 * s.dof, &s.hidden, 1)
);
family!(
    /// [`ModelKind::DELAN`](super::ModelKind::DELAN).
    DelanFamily, DeepLagrangian::from_networks, "delan",
    "a DeLaN-style Lagrangian: L = ½q̇ᵀM(q)q̇ − V(q), M = CCᵀ + εI from an MLP, V an MLP",
    curvature: true, seed: 6, coordinates: Some(Coordinates::Velocity),
    parameters: |s| mlp_parameters(s.dof, &s.hidden, s.dof * (s.dof + 1) / 2) + mlp_parameters(s.dof, &s.hidden, 1)
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

/// An MLP Lagrangian: tensor ops (its Hessian by forward over reverse) and autograd.
impl LearnedModel for NeuralLagrangian {}

/// Two MLPs and the mass matrix's structure: tensor ops and autograd.
impl LearnedModel for DeepLagrangian {}
