//! The kinds hnn ships: the HNN, the separable HNN and the baseline, each its hnn-core model
//! with the paper's MLP (see [`ModelSpec`]).

use super::{LearnedModel, ModelFamily, ModelSpec};
use crate::error::Result;
use candle_nn::VarBuilder;
use hnn_core::exec::NetworkField;
use hnn_core::{Baseline, NeuralHamiltonian, SeparableHamiltonian};

/// [`ModelKind::HNN`](super::ModelKind::HNN).
pub struct HnnFamily;

impl ModelFamily for HnnFamily {
    fn name(&self) -> &'static str {
        "hnn"
    }
    fn summary(&self) -> &'static str {
        "the Hamiltonian Neural Network: an MLP H(q, p), field J∇H"
    }
    fn needs_curvature(&self) -> bool {
        true
    }
    fn build(&self, spec: &ModelSpec, vb: VarBuilder) -> Result<Box<dyn LearnedModel>> {
        Ok(Box::new(NeuralHamiltonian::new(spec.dof, &spec.hidden, spec.activation()?, vb)?))
    }
    fn seed_offset(&self) -> u64 {
        2
    }
}

impl LearnedModel for NeuralHamiltonian {
    fn network(&self) -> Option<NetworkField<'_>> {
        Some(NeuralHamiltonian::network(self))
    }
}

/// [`ModelKind::SEPARABLE_HNN`](super::ModelKind::SEPARABLE_HNN).
pub struct SeparableHnnFamily;

impl ModelFamily for SeparableHnnFamily {
    fn name(&self) -> &'static str {
        "separable_hnn"
    }
    fn summary(&self) -> &'static str {
        "a separable HNN: H = T(p) + V(q), two MLPs"
    }
    fn needs_curvature(&self) -> bool {
        true
    }
    fn build(&self, spec: &ModelSpec, vb: VarBuilder) -> Result<Box<dyn LearnedModel>> {
        Ok(Box::new(SeparableHamiltonian::new(spec.dof, &spec.hidden, spec.activation()?, vb)?))
    }
    fn seed_offset(&self) -> u64 {
        3
    }
}

impl LearnedModel for SeparableHamiltonian {}

/// [`ModelKind::BASELINE`](super::ModelKind::BASELINE).
pub struct BaselineFamily;

impl ModelFamily for BaselineFamily {
    fn name(&self) -> &'static str {
        "baseline"
    }
    fn summary(&self) -> &'static str {
        "the baseline: an MLP that outputs ż"
    }
    fn needs_curvature(&self) -> bool {
        false
    }
    fn build(&self, spec: &ModelSpec, vb: VarBuilder) -> Result<Box<dyn LearnedModel>> {
        Ok(Box::new(Baseline::new(spec.dof, &spec.hidden, spec.activation()?, vb)?))
    }
    fn seed_offset(&self) -> u64 {
        1
    }
}

impl LearnedModel for Baseline {
    fn network(&self) -> Option<NetworkField<'_>> {
        Some(Baseline::network(self))
    }
}
