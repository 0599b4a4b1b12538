//! Kinds of model: [`ModelFamily`] (how to build one) and [`ModelKind`], a registered family
//! named in configs, checkpoints, tables and on the command line.

use super::builtin::{BaselineFamily, DelanFamily, DissipativeHnnFamily, HnnFamily, LnnFamily, SeparableHnnFamily};
use super::{LearnedModel, ModelSpec};
use crate::error::{Error, Result};
use candle_nn::VarBuilder;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::any::Any;
use std::fmt;
use std::str::FromStr;
use std::sync::RwLock;

/// A kind of model: its name and how to build one from a specification.
pub trait ModelFamily: Any + Send + Sync {
    /// The name used in configs, checkpoints, tables and on the command line; also the prefix
    /// of the model's variables in checkpoints. Lowercase, `[a-z0-9_]`.
    fn name(&self) -> &'static str;

    /// One line for help texts.
    fn summary(&self) -> &'static str;

    /// Whether training differentiates the activation twice (a field that is a gradient, such
    /// as J∇H): ReLU and other activations without curvature are then refused.
    fn needs_curvature(&self) -> bool;

    /// An upper bound on the number of parameters the model of `spec` has, computed in f64 so
    /// that no width overflows: configs and checkpoints are refused on it before anything is
    /// allocated. [`mlp_parameters`](super::state::mlp_parameters) counts one MLP.
    fn parameter_bound(&self, spec: &ModelSpec) -> f64;

    /// Builds the model's variables through `vb` (already under the prefix [`name`](Self::name)).
    fn build(&self, spec: &ModelSpec, vb: VarBuilder) -> Result<Box<dyn LearnedModel>>;

    /// Whether every model of this kind is a separable Hamiltonian H = T(p) + V(q), which the
    /// explicit symplectic integrators and the thermostat need. Default: no.
    fn is_separable(&self) -> bool {
        false
    }

    /// The coordinates the model's states must be in: canonical (q, p) for a Hamiltonian
    /// model, velocities (q, q̇) for a Lagrangian one; `None` (the default) for a model that
    /// takes either, as the baseline does. Experiments refuse data in the other coordinates.
    fn coordinates(&self) -> Option<hnn_core::Coordinates> {
        None
    }

    /// Added to a run's seed for this model's initialisation and data sampler, so that the
    /// models of one run start from different draws. The default derives it from the name.
    fn seed_offset(&self) -> u64 {
        // FNV-1a: stable across builds and platforms.
        self.name().bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
    }
}

/// A registered [`ModelFamily`]. Compared, hashed, shown and (de)serialized by name.
#[derive(Clone, Copy)]
pub struct ModelKind(&'static dyn ModelFamily);

/// The registry, in registration order (built-ins first).
static REGISTRY: RwLock<Vec<ModelKind>> = RwLock::new(Vec::new());

impl ModelKind {
    /// The Hamiltonian Neural Network: an MLP H(q, p), field J∇H.
    pub const HNN: ModelKind = ModelKind(&HnnFamily);
    /// A separable HNN: H = T(p) + V(q), two MLPs.
    pub const SEPARABLE_HNN: ModelKind = ModelKind(&SeparableHnnFamily);
    /// The baseline: an MLP that outputs ż.
    pub const BASELINE: ModelKind = ModelKind(&BaselineFamily);

    /// The dissipative HNN: ż = (J − R)∇H with a learned friction R ≥ 0 on the momenta.
    pub const DISSIPATIVE_HNN: ModelKind = ModelKind(&DissipativeHnnFamily);

    /// The Lagrangian Neural Network: an MLP L(q, q̇), q̈ by the Euler–Lagrange equations.
    pub const LNN: ModelKind = ModelKind(&LnnFamily);

    /// The DeLaN-style Lagrangian ½q̇ᵀM(q)q̇ − V(q) with a positive-definite M.
    pub const DELAN: ModelKind = ModelKind(&DelanFamily);

    /// The kinds hnn ships.
    pub const BUILTIN: [ModelKind; 6] = [
        ModelKind::HNN,
        ModelKind::BASELINE,
        ModelKind::SEPARABLE_HNN,
        ModelKind::DISSIPATIVE_HNN,
        ModelKind::LNN,
        ModelKind::DELAN,
    ];

    /// A kind for a family (register it to make its name known to configs and checkpoints).
    pub const fn new(family: &'static dyn ModelFamily) -> Self {
        Self(family)
    }

    /// Makes this kind known by name, so that configs and checkpoints naming it load. Errors if
    /// the name is taken by another family or is not `[a-z0-9_]+`; registering the same kind
    /// twice does nothing.
    pub fn register(self) -> Result<()> {
        let name = self.name();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(Error::Config(format!("a model kind's name must be [a-z0-9_]+, got `{name}`")));
        }
        let mut registry = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
        seed_builtins(&mut registry);
        if let Some(other) = registry.iter().find(|k| k.name() == name) {
            let (a, b): (&dyn Any, &dyn Any) = (other.0, self.0);
            if a.type_id() == b.type_id() {
                return Ok(());
            }
            return Err(Error::Config(format!("a model kind named `{name}` is already registered")));
        }
        registry.push(self);
        Ok(())
    }

    /// Every registered kind, built-ins first.
    pub fn all() -> Vec<ModelKind> {
        let mut registry = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
        seed_builtins(&mut registry);
        registry.clone()
    }

    /// The family's name.
    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// The family.
    pub fn family(self) -> &'static dyn ModelFamily {
        self.0
    }

    /// The plot colour of this kind (the same in every plot): its place in the registry.
    pub fn color(self) -> usize {
        ModelKind::all().iter().position(|k| *k == self).map_or(0, |i| i + 1)
    }
}

fn seed_builtins(registry: &mut Vec<ModelKind>) {
    if registry.is_empty() {
        registry.extend(ModelKind::BUILTIN);
    }
}

impl PartialEq for ModelKind {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for ModelKind {}

impl std::hash::Hash for ModelKind {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name().hash(state)
    }
}

impl PartialOrd for ModelKind {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ModelKind {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.name().cmp(other.name())
    }
}

impl fmt::Debug for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ModelKind({})", self.name())
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let all = ModelKind::all();
        let wanted = s.trim().to_ascii_lowercase().replace('-', "_");
        all.iter().copied().find(|k| k.name() == wanted).ok_or_else(|| {
            let names: Vec<_> = all.iter().map(|k| k.name()).collect();
            Error::Config(format!("unknown model kind `{s}` (known: {})", names.join(", ")))
        })
    }
}

impl Serialize for ModelKind {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for ModelKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}
