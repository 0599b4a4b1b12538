//! The trainable models behind one enum, with the specification checkpoints store.

use crate::error::{Error, Result};
use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use hnn_core::{
    init, Activation, Baseline, Hamiltonian, LossGradients, NeuralHamiltonian, SeparableHamiltonian, VectorField,
};
use serde::{Deserialize, Serialize};

/// Which model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// The Hamiltonian Neural Network: an MLP H(q, p), field J∇H.
    Hnn,
    /// A separable HNN: H = T(p) + V(q), two MLPs.
    SeparableHnn,
    /// The baseline: an MLP that outputs ż.
    Baseline,
}

impl ModelKind {
    /// The name used in files and tables; also the variable prefix in checkpoints.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Hnn => "hnn",
            ModelKind::SeparableHnn => "separable_hnn",
            ModelKind::Baseline => "baseline",
        }
    }
}

/// Everything needed to rebuild a model's variables: stored in checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Which model.
    pub kind: ModelKind,
    /// Degrees of freedom n.
    pub dof: usize,
    /// Hidden widths.
    pub hidden: Vec<usize>,
    /// Activation name.
    pub activation: String,
}

impl ModelSpec {
    /// Checks widths and activation.
    pub fn validate(&self) -> Result<()> {
        if self.dof == 0 {
            return Err(Error::Config("model.dof must be at least 1".into()));
        }
        if self.hidden.is_empty() || self.hidden.contains(&0) {
            return Err(Error::Config(format!(
                "model.hidden must be a non-empty list of positive widths, got {:?}",
                self.hidden
            )));
        }
        let act = self.activation()?;
        if self.kind != ModelKind::Baseline && !act.is_twice_differentiable() {
            return Err(hnn_core::Error::ActivationNotTwiceDifferentiable(act.name().into()).into());
        }
        Ok(())
    }

    /// The parsed activation.
    pub fn activation(&self) -> Result<Activation> {
        self.activation.parse::<Activation>().map_err(|e| Error::Config(format!("model.activation: {e}")))
    }
}

/// A built model.
#[derive(Debug, Clone)]
pub enum Model {
    /// HNN.
    Hnn(NeuralHamiltonian),
    /// Separable HNN.
    Separable(SeparableHamiltonian),
    /// Baseline MLP.
    Baseline(Baseline),
}

impl Model {
    /// Builds the model's variables under the prefix `spec.kind.name()`.
    pub fn build(spec: &ModelSpec, vb: VarBuilder) -> Result<Self> {
        spec.validate()?;
        let act = spec.activation()?;
        let vb = vb.pp(spec.kind.name());
        Ok(match spec.kind {
            ModelKind::Hnn => Model::Hnn(NeuralHamiltonian::new(spec.dof, &spec.hidden, act, vb)?),
            ModelKind::SeparableHnn => Model::Separable(SeparableHamiltonian::new(spec.dof, &spec.hidden, act, vb)?),
            ModelKind::Baseline => Model::Baseline(Baseline::new(spec.dof, &spec.hidden, act, vb)?),
        })
    }

    /// H(z) for Hamiltonian models; `None` for the baseline.
    pub fn energy(&self, z: &Tensor) -> Result<Option<Tensor>> {
        Ok(match self {
            Model::Hnn(h) => Some(h.energy(z)?),
            Model::Separable(h) => Some(h.energy(z)?),
            Model::Baseline(_) => None,
        })
    }
}

impl VectorField for Model {
    fn time_derivatives(&self, z: &Tensor) -> hnn_core::Result<Tensor> {
        match self {
            Model::Hnn(h) => h.time_derivatives(z),
            Model::Separable(h) => h.time_derivatives(z),
            Model::Baseline(b) => b.time_derivatives(z),
        }
    }

    fn time_derivatives_host(&self, z: &[f64], dz: &mut [f64]) -> hnn_core::Result<bool> {
        match self {
            Model::Hnn(h) => h.time_derivatives_host(z, dz),
            Model::Separable(h) => h.time_derivatives_host(z, dz),
            Model::Baseline(b) => b.time_derivatives_host(z, dz),
        }
    }

    fn hamiltonian(&self) -> Option<&dyn Hamiltonian> {
        match self {
            Model::Hnn(h) => Some(h),
            Model::Separable(h) => Some(h),
            Model::Baseline(_) => None,
        }
    }

    fn fused_gradient_matching(&self, z: &Tensor, target: &Tensor) -> hnn_core::Result<Option<LossGradients>> {
        match self {
            Model::Hnn(h) => VectorField::fused_gradient_matching(h, z, target),
            Model::Separable(h) => VectorField::fused_gradient_matching(h, z, target),
            Model::Baseline(b) => b.fused_gradient_matching(z, target),
        }
    }
}

/// A model together with its variables, dtype and device.
#[derive(Clone)]
pub struct ModelState {
    /// The specification.
    pub spec: ModelSpec,
    /// The variables (trainable).
    pub varmap: VarMap,
    /// The model reading them.
    pub model: Model,
    /// Precision of the variables.
    pub dtype: DType,
    /// Where they live.
    pub device: Device,
}

impl std::fmt::Debug for ModelState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelState")
            .field("spec", &self.spec)
            .field("dtype", &self.dtype)
            .field("device", &self.device)
            .finish()
    }
}

impl ModelState {
    /// A freshly initialised model (seeded orthogonal initialisation).
    pub fn new(spec: ModelSpec, dtype: DType, device: &Device, seed: u64) -> Result<Self> {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, dtype, device);
        let model = Model::build(&spec, vb)?;
        init::orthogonal_init(&varmap, seed)?;
        Ok(Self { spec, varmap, model, dtype, device: device.clone() })
    }

    /// Variables sorted by name.
    pub fn named_vars(&self) -> Vec<(String, candle_core::Var)> {
        let data = self.varmap.data().lock().expect("variable map lock");
        let mut v: Vec<(String, candle_core::Var)> = data.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// A frozen copy of the model, in another precision/device if asked, for evaluation and
    /// rollouts: a snapshot of the weights (later training does not change it) as plain tensors,
    /// so no autograd graph is recorded through it.
    pub fn frozen(&self, dtype: DType, device: &Device) -> Result<Model> {
        let mut tensors = std::collections::HashMap::new();
        for (name, var) in self.named_vars() {
            // `copy`: a detached tensor of the same dtype and device would share the variable's
            // storage, which the optimizer overwrites in place.
            tensors.insert(name, var.as_tensor().detach().copy()?.to_dtype(dtype)?.to_device(device)?);
        }
        Model::build(&self.spec, VarBuilder::from_tensors(tensors, dtype, device))
    }

    /// Whether every variable is finite.
    pub fn all_finite(&self) -> Result<bool> {
        for (_, v) in self.named_vars() {
            let s = v.as_tensor().to_dtype(DType::F64)?.abs()?.sum_all()?.to_scalar::<f64>()?;
            if !s.is_finite() {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
