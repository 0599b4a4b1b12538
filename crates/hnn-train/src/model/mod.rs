//! The models hnn trains: one trait for a learned field ([`LearnedModel`]), one for a kind of
//! model ([`ModelFamily`], named in configs, checkpoints and tables), a registry of kinds
//! ([`ModelKind`]), and a model with its variables ([`ModelState`]).
//!
//! A new model is added in one place: a type that implements the physics traits of hnn-core
//! ([`hnn_core::VectorField`], and [`hnn_core::Hamiltonian`] if it
//! has an energy) with tensor ops, [`LearnedModel`] (nothing to write unless it has a fused
//! kernel), and a [`ModelFamily`] that builds it from a [`ModelSpec`]; then
//! [`ModelKind::register`]. It trains by gradient and trajectory matching, rolls out with every
//! integrator, saves and loads checkpoints and is evaluated like the built-in kinds
//! ([`builtin`]); `crates/hnn-train/tests/custom_model.rs` shows one end to end.

pub mod builtin;
mod kind;
pub mod state;

pub use kind::{ModelFamily, ModelKind};
pub use state::{ModelSpec, ModelState};

use crate::error::Result;
use candle_core::Tensor;
use candle_nn::VarBuilder;
use hnn_core::exec::{Frozen, NetworkField};
use hnn_core::{Hamiltonian, VectorField};
use std::any::Any;
use std::sync::Arc;

/// Errors unless every model of `kinds` takes states in `coordinates`, naming the ones that
/// do not and the registered kinds that would.
pub fn check_coordinates(kinds: &[ModelKind], coordinates: hnn_core::Coordinates) -> Result<()> {
    let takes = |k: &ModelKind| k.family().coordinates().is_none_or(|c| c == coordinates);
    let Some(wrong) = kinds.iter().find(|k| !takes(k)) else {
        return Ok(());
    };
    let theirs = wrong.family().coordinates().expect("a kind with no preference takes any data");
    let fitting: Vec<_> = ModelKind::all().into_iter().filter(takes).map(|k| k.name()).collect();
    Err(crate::error::Error::Config(format!(
        "model.kinds: `{wrong}` takes {} states, but the data are in {} coordinates; the models for these data are: \
         {} (or choose the system's `coordinates = \"{}\"` where it offers both, as chain_pendulum does)",
        theirs.describe(),
        coordinates.describe(),
        fitting.join(", "),
        theirs.name()
    )))
}

/// A learned vector field: what the training loop, rollouts, checkpoints and evaluation take.
/// Its variables are whatever it read from the `VarBuilder` its family built it with.
pub trait LearnedModel: VectorField + Send + Sync + std::fmt::Debug + Any {
    /// The model as one MLP field, if it is one: the execution layer then runs its fused
    /// kernels (an opt-in accelerator, held against the tensor ops by tests). The default, no
    /// network, trains with autograd through the model's own tensor ops.
    fn network(&self) -> Option<NetworkField<'_>> {
        None
    }
}

impl LearnedModel for Frozen {}

/// A built model of any kind (cheap to clone: the model is shared).
#[derive(Clone, Debug)]
pub struct Model {
    inner: Arc<dyn LearnedModel>,
    /// Degrees of freedom n: the model takes states of width 2n (from its spec).
    dof: usize,
}

impl Model {
    /// Builds the model of `spec` with its variables under the prefix `spec.kind.name()`.
    pub fn build(spec: &ModelSpec, vb: VarBuilder) -> Result<Self> {
        spec.validate()?;
        let model = spec.kind.family().build(spec, vb.pp(spec.kind.name()))?;
        Ok(Self { inner: Arc::from(model), dof: spec.dof })
    }

    /// Wraps a model of `dof` degrees of freedom.
    pub fn new(model: impl LearnedModel, dof: usize) -> Self {
        Self { inner: Arc::new(model), dof }
    }

    /// Degrees of freedom n (states are 2n wide).
    pub fn degrees_of_freedom(&self) -> usize {
        self.dof
    }

    /// H(z) for models with an energy (the Hamiltonian ones, and the dissipative HNN's H);
    /// `None` for the others (the baseline).
    pub fn energy(&self, z: &Tensor) -> Result<Option<Tensor>> {
        Ok(match self.inner.energy_function() {
            Some(h) => Some(h.energy(z)?),
            None => None,
        })
    }

    /// The model as one MLP field, for the execution layer (see [`LearnedModel::network`]).
    pub fn network(&self) -> Option<NetworkField<'_>> {
        self.inner.network()
    }

    /// The model as its concrete type, e.g. `model.downcast_ref::<NeuralHamiltonian>()`.
    pub fn downcast_ref<T: LearnedModel>(&self) -> Option<&T> {
        let any: &dyn Any = &*self.inner;
        any.downcast_ref::<T>()
    }

    /// A snapshot for inference: evaluation records no autograd graph and, where the model is
    /// an MLP field on the CPU in f32/f64, runs on the inference kernel. `self` must hold
    /// detached weights (plain tensors, not variables) of `dtype`, as [`ModelState::frozen`]
    /// builds it.
    pub fn freeze(self, dtype: candle_core::DType) -> Result<Self> {
        let frozen = hnn_core::exec::freeze(self.network(), self.dof, self.clone(), dtype)?;
        Ok(Self::new(frozen, self.dof))
    }
}

impl VectorField for Model {
    fn time_derivatives(&self, z: &Tensor) -> hnn_core::Result<Tensor> {
        self.inner.time_derivatives(z)
    }

    fn host_rows(&self) -> Option<&dyn hnn_core::exec::host::HostRows> {
        self.inner.host_rows()
    }

    fn hamiltonian(&self) -> Option<&dyn Hamiltonian> {
        self.inner.hamiltonian()
    }

    fn energy_function(&self) -> Option<&dyn Hamiltonian> {
        self.inner.energy_function()
    }

    fn damping_rates(&self, z: &Tensor) -> hnn_core::Result<Option<Tensor>> {
        self.inner.damping_rates(z)
    }
}
