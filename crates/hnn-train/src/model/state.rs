//! A model's specification (what checkpoints store) and a model with its variables.

use super::{Model, ModelKind};
use crate::error::{Error, Result};
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use hnn_core::exec::threads::run_sized;
use hnn_core::{init, rollout, Activation, Solver};
use serde::{Deserialize, Serialize};

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
    /// Activation (by name in checkpoints).
    pub activation: Activation,
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
        if self.dof > MAX_DOF {
            return Err(Error::Config(format!("model.dof = {} is more than {MAX_DOF} degrees of freedom", self.dof)));
        }
        let parameters = self.parameter_bound();
        if parameters > MAX_PARAMETERS {
            return Err(Error::Config(format!(
                "model.hidden = {:?} with {} degrees of freedom makes about {parameters:.3e} parameters \
                 ({:.3e} bytes in f64 with the optimizer's moments), more than the limit of {MAX_PARAMETERS:.3e}",
                self.hidden,
                self.dof,
                parameters * 8.0 * 4.0
            )));
        }
        let act = self.activation;
        if self.kind.family().needs_curvature() && !act.is_twice_differentiable() {
            return Err(hnn_core::Error::ActivationNotTwiceDifferentiable(act.name().into()).into());
        }
        Ok(())
    }

    /// An upper bound on the model's parameter count, as its family counts it
    /// ([`ModelFamily::parameter_bound`](super::ModelFamily::parameter_bound)).
    pub fn parameter_bound(&self) -> f64 {
        self.kind.family().parameter_bound(self)
    }
}

/// The parameters of an MLP input → hidden… → output with a bias on every layer (an upper
/// bound where the last layer has none), in f64 so that no width overflows.
pub fn mlp_parameters(input: usize, hidden: &[usize], output: usize) -> f64 {
    let mut widths = vec![input as f64];
    widths.extend(hidden.iter().map(|&w| w as f64));
    widths.push(output as f64);
    widths.windows(2).map(|w| w[0] * w[1] + w[1]).sum()
}

impl ModelSpec {
    /// The widest hidden layer: the size the execution layer's thread budget is chosen by.
    pub fn widest(&self) -> usize {
        self.hidden.iter().copied().max().unwrap_or(1)
    }
}

impl std::fmt::Display for ModelSpec {
    /// `hnn (dof 1, hidden [200, 200], tanh)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (dof {}, hidden {:?}, {})", self.kind, self.dof, self.hidden, self.activation)
    }
}

/// The most degrees of freedom a model may have (checkpoints and configs claiming more are
/// refused before anything is allocated).
pub const MAX_DOF: usize = 1 << 16;

/// The most parameters a model may have: 2.7e8, about 8.6 GB in f64 with the optimizer's two
/// moments and a gradient; larger specs (a corrupted checkpoint, a typo in a config) are refused
/// before anything is allocated.
pub const MAX_PARAMETERS: f64 = (1u64 << 28) as f64;

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
    pub fn named_vars(&self) -> Vec<(String, Var)> {
        sorted_vars(&self.varmap)
    }

    /// A frozen copy of the model, in another precision/device if asked, for evaluation and
    /// rollouts: a snapshot of the weights (later training does not change it) whose evaluation
    /// records no autograd graph, on the inference kernel where the execution layer has one.
    pub fn frozen(&self, dtype: DType, device: &Device) -> Result<Model> {
        frozen_model(&self.spec, &self.named_vars(), dtype, device)
    }

    /// Rolls the model out from `z0` (`[batch, 2n]`) to `times` with `solver`, frozen in f64 on
    /// the CPU, within the thread budget the execution layer picks for this size. Returns the
    /// states `[T, batch, 2n]` and, for a model with an energy, H along them `[T, batch]`.
    pub fn rollout(&self, z0: &Tensor, times: &[f64], solver: &Solver) -> Result<(Tensor, Option<Tensor>)> {
        let model = self.frozen(DType::F64, &Device::Cpu)?;
        let z0 = z0.to_dtype(DType::F64)?.to_device(&Device::Cpu)?;
        let rows = z0.dim(0)?;
        let traj = run_sized(&Device::Cpu, rows, self.spec.widest(), || rollout(&model, &z0, times, solver))?;
        let (t, b, d) = traj.dims3()?;
        let energy = match model.energy(&traj.reshape((t * b, d))?)? {
            Some(e) => Some(e.reshape((t, b))?),
            None => None,
        };
        Ok((traj, energy))
    }

    /// Whether every variable is finite.
    pub fn all_finite(&self) -> Result<bool> {
        all_finite(&self.named_vars())
    }
}

/// The model of `spec` on a snapshot of `vars` (named as in a checkpoint) in `dtype` on
/// `device`, frozen for inference (see [`Model::freeze`]).
pub fn frozen_model(spec: &ModelSpec, vars: &[(String, Var)], dtype: DType, device: &Device) -> Result<Model> {
    let mut tensors = std::collections::HashMap::new();
    for (name, var) in vars {
        // `copy`: a detached tensor of the same dtype and device would share the variable's
        // storage, which the optimizer overwrites in place.
        tensors.insert(name.clone(), var.as_tensor().detach().copy()?.to_dtype(dtype)?.to_device(device)?);
    }
    Model::build(spec, VarBuilder::from_tensors(tensors, dtype, device))?.freeze(dtype)
}

/// The variables of a map with their names, sorted by name (the order checkpoints and the
/// optimizer use).
pub fn sorted_vars(varmap: &VarMap) -> Vec<(String, Var)> {
    let data = varmap.data().lock().unwrap_or_else(|e| e.into_inner());
    let mut v: Vec<(String, Var)> = data.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Whether every variable is finite.
pub fn all_finite(vars: &[(String, Var)]) -> Result<bool> {
    for (_, v) in vars {
        let s = v.as_tensor().to_dtype(DType::F64)?.abs()?.sum_all()?.to_scalar::<f64>()?;
        if !s.is_finite() {
            return Ok(false);
        }
    }
    Ok(true)
}
