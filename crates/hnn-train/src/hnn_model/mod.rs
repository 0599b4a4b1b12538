//! [`HnnModel`]: a model for your own data, in a few lines: build it from a [`ModelConfig`]
//! (the paper's defaults), [`fit`](HnnModel::fit) it to a [`Dataset`] with [`FitOptions`],
//! then [`predict_derivatives`](HnnModel::predict_derivatives), [`energy`](HnnModel::energy),
//! [`rollout`](HnnModel::rollout), [`evaluate`](HnnModel::evaluate),
//! [`save`](HnnModel::save) and [`load`](HnnModel::load).
//!
//! It works for every registered [`ModelKind`] (HNN, separable HNN, baseline, and any added
//! later) and is a thin layer over the rest of hnn-train: training is [`crate::training`],
//! files are [`crate::checkpoint`]s (the same files `hnn exp` writes, readable by `hnn eval` and
//! `hnn rollout`), and predictions run on the execution layer's inference kernels
//! ([`ModelState::frozen`]) with no call needed from you. States may be given in any float
//! dtype; they are converted to the model's.

mod evaluate;
mod fit;

pub use evaluate::Evaluation;
pub use fit::FitOptions;

use crate::checkpoint::{self, TrainingInfo};
use crate::device::{check_precision, select_device, DeviceChoice, Precision};
use crate::error::{Error, Result};
use crate::model::{Model, ModelKind, ModelSpec, ModelState};
use crate::training::TrainReport;
use candle_core::{DType, Device, Tensor};
use hnn_core::{Activation, Solver, VectorField};
use hnn_systems::Dataset;
use std::path::Path;
use std::sync::Mutex;

/// What model to build: kind, architecture, precision, device and initialisation seed. The
/// defaults are the paper's: an HNN with two hidden layers of 200 and tanh, in f32 (and Adam at
/// 1e-3 in [`TrainConfig`](crate::TrainConfig)'s defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// Which model (`ModelKind::HNN`, `SEPARABLE_HNN`, `BASELINE`, or any registered kind).
    pub kind: ModelKind,
    /// Hidden widths.
    pub hidden: Vec<usize>,
    /// Activation of the hidden layers.
    pub activation: Activation,
    /// Precision of the weights and of training.
    pub precision: Precision,
    /// Where the model lives (`Auto`: CUDA or Metal when built in and present, else the CPU).
    pub device: DeviceChoice,
    /// Seed of the initialisation (and the default seed of the training sampler).
    pub seed: u64,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            kind: ModelKind::HNN,
            hidden: vec![200, 200],
            activation: Activation::Tanh,
            precision: Precision::F32,
            device: DeviceChoice::Auto,
            seed: 0,
        }
    }
}

impl ModelConfig {
    /// The defaults for a model of `kind`.
    pub fn of(kind: ModelKind) -> Self {
        Self { kind, ..Self::default() }
    }
}

/// A trainable model with everything needed to fit, predict, roll out and save it.
pub struct HnnModel {
    state: ModelState,
    /// The frozen copy predictions use, made on first use after each change of the weights.
    frozen: Mutex<Option<Model>>,
    /// How it was trained (written into checkpoints).
    info: TrainingInfo,
}

impl std::fmt::Debug for HnnModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HnnModel").field("spec", &self.state.spec).field("step", &self.info.step).finish()
    }
}

impl HnnModel {
    /// A freshly initialised model of `config` for a system of `dof` degrees of freedom (states
    /// of width 2·dof).
    pub fn new(config: &ModelConfig, dof: usize) -> Result<Self> {
        let device = select_device(config.device)?;
        check_precision(&device, config.precision)?;
        let spec = ModelSpec { kind: config.kind, dof, hidden: config.hidden.clone(), activation: config.activation };
        let state = ModelState::new(spec, config.precision.dtype(), &device, config.seed)?;
        let info = TrainingInfo { seed: config.seed, ..TrainingInfo::default() };
        Ok(Self { state, frozen: Mutex::new(None), info })
    }

    /// Fits the model to `data` (continuing from its current weights) and returns the loss
    /// curves. `options`: a [`TrainConfig`](crate::TrainConfig) (gradient or trajectory matching
    /// and the other settings) or [`FitOptions`] (with the sampler's seed and a progress bar).
    pub fn fit(&mut self, data: &Dataset, options: impl Into<FitOptions>) -> Result<TrainReport> {
        let report = fit::fit(self, data, &options.into());
        // Whatever the outcome, the weights may have moved (an interrupted or diverged fit).
        *self.frozen.lock().expect("not poisoned") = None;
        report
    }

    /// Fits `models[i]` to `data[i]` as one ensemble: the seeds of a study, or models of
    /// different kinds and sizes, all with the same `options`, stepping together (on the CPU the
    /// kernels of all of them run as one job). Each model ends bit for bit where its own
    /// [`fit`](Self::fit) would, with `options.seed`, if set, offset by its index so that the
    /// members draw different batches. One report per model: a model whose training diverges
    /// stops with its error there while the others finish; the outer error is for settings
    /// that stop all (a dataset that does not fit its model, mismatched lengths).
    pub fn fit_ensemble(
        models: &mut [HnnModel],
        data: &[&Dataset],
        options: impl Into<FitOptions>,
    ) -> Result<Vec<Result<TrainReport>>> {
        let reports = fit::fit_ensemble(models, data, &options.into());
        for model in models.iter() {
            *model.frozen.lock().expect("not poisoned") = None;
        }
        reports
    }

    /// ż at states `z` (`[N, 2n]`, or one state `[2n]`), in the dtype of `z`.
    pub fn predict_derivatives(&self, z: &Tensor) -> Result<Tensor> {
        let (input, back) = self.input(z, "z")?;
        let dz = self.frozen()?.time_derivatives(&input)?;
        self.output(dz, back, z.rank() == 1)
    }

    /// The learned energy H(z) (`[N]`, or a scalar for one state `[2n]`), for kinds that have
    /// one; the baseline has none, which is an error naming the kind.
    pub fn energy(&self, z: &Tensor) -> Result<Tensor> {
        let (input, back) = self.input(z, "z")?;
        let h = self.frozen()?.energy(&input)?.ok_or_else(|| {
            Error::Config(format!(
                "a `{}` model has no energy (it learns ż directly); use an HNN kind for H(z)",
                self.state.spec.kind
            ))
        })?;
        self.output(h, back, z.rank() == 1)
    }

    /// The learned damping rates r(z) on the momenta (`[N, n]`, or `[n]` for one state
    /// `[2n]`) of a dissipative kind, ż = (J − R)∇H with R = diag(0, r): for a friction force
    /// −γp/m, r = γ. Other kinds have none, which is an error naming the kind.
    pub fn damping_rates(&self, z: &Tensor) -> Result<Tensor> {
        let (input, back) = self.input(z, "z")?;
        let r = hnn_core::VectorField::damping_rates(&self.frozen()?, &input)?.ok_or_else(|| {
            Error::Config(format!(
                "a `{}` model has no dissipative part; use `dissipative_hnn` to learn a friction",
                self.state.spec.kind
            ))
        })?;
        self.output(r, back, z.rank() == 1)
    }

    /// Integrates the learned field from `z0` (`[B, 2n]` or `[2n]`) to `times` (increasing,
    /// `times[0]` is the start) with `solver` (e.g. `Solver::dopri5(1e-9, 1e-9)` or
    /// `Solver::fixed(Leapfrog, 0.01)`), in f64. Returns `[T, B, 2n]` f64 states.
    pub fn rollout(&self, z0: &Tensor, times: &[f64], solver: &Solver) -> Result<Tensor> {
        let z0 = if z0.rank() == 1 { z0.unsqueeze(0)? } else { z0.clone() };
        self.check_states(&z0, "z0")?;
        let (traj, _) = self.state.rollout(&z0.to_dtype(DType::F64)?, times, solver)?;
        Ok(traj)
    }

    /// The metrics of [`Evaluation`] on `data`.
    pub fn evaluate(&self, data: &Dataset) -> Result<Evaluation> {
        evaluate::evaluate(self, data, None)
    }

    /// [`evaluate`](Self::evaluate), with the energy error of the rollouts under the true system.
    pub fn evaluate_against(&self, data: &Dataset, truth: &hnn_systems::System) -> Result<Evaluation> {
        evaluate::evaluate(self, data, Some(truth))
    }

    /// Writes an hnn checkpoint (safetensors with metadata and checksum, atomically): the same
    /// file `hnn exp` writes, for `hnn eval`, `hnn rollout`, other candle programs and PyTorch.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        checkpoint::save(&self.state, &self.info, path.as_ref())
    }

    /// Loads a checkpoint (any hnn state-space checkpoint) on the CPU in its stored precision.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::load_on(path, &Device::Cpu, None)
    }

    /// Loads a checkpoint onto `device`, in `dtype` if given (else the stored one).
    pub fn load_on(path: impl AsRef<Path>, device: &Device, dtype: Option<DType>) -> Result<Self> {
        let (state, meta) = checkpoint::load(path.as_ref(), device, dtype, None)?;
        Ok(Self { state, frozen: Mutex::new(None), info: meta.training })
    }

    /// The model kind.
    pub fn kind(&self) -> ModelKind {
        self.state.spec.kind
    }

    /// Degrees of freedom n (states are 2n wide).
    pub fn dof(&self) -> usize {
        self.state.spec.dof
    }

    /// Optimizer steps taken so far.
    pub fn steps_trained(&self) -> usize {
        self.info.step
    }

    /// The model with its variables (for the rest of hnn-train's API).
    pub fn state(&self) -> &ModelState {
        &self.state
    }

    /// The frozen copy predictions use (made once per change of the weights).
    pub(super) fn frozen(&self) -> Result<Model> {
        let mut guard = self.frozen.lock().expect("not poisoned");
        if let Some(m) = guard.as_ref() {
            return Ok(m.clone());
        }
        let m = self.state.frozen(self.state.dtype, &self.state.device)?;
        *guard = Some(m.clone());
        Ok(m)
    }

    /// Checks that `z` is `[N, 2n]` floats.
    fn check_states(&self, z: &Tensor, what: &str) -> Result<()> {
        let width = 2 * self.state.spec.dof;
        if !z.dtype().is_float() {
            return Err(Error::Config(format!(
                "{what} holds {:?} integers; states must be floating point (the model is {:?})",
                z.dtype(),
                self.state.dtype
            )));
        }
        match z.dims() {
            [_, w] if *w == width => Ok(()),
            d => Err(Error::Config(format!(
                "{what} has shape {d:?}; this model of {} degrees of freedom takes [N, {width}] (q first, then p)",
                self.state.spec.dof
            ))),
        }
    }

    /// `z` as `[N, 2n]` in the model's dtype and device, with the dtype and device to return in.
    pub(super) fn input(&self, z: &Tensor, what: &str) -> Result<(Tensor, (DType, Device))> {
        let batch = if z.rank() == 1 { z.unsqueeze(0)? } else { z.clone() };
        self.check_states(&batch, what)?;
        let back = (z.dtype(), z.device().clone());
        Ok((batch.to_dtype(self.state.dtype)?.to_device(&self.state.device)?, back))
    }

    fn output(&self, t: Tensor, (dtype, device): (DType, Device), single: bool) -> Result<Tensor> {
        let t = t.to_dtype(dtype)?.to_device(&device)?;
        Ok(if single { t.squeeze(0)? } else { t })
    }
}
