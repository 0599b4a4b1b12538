//! Pixel checkpoints: the autoencoder and the latent dynamics in one safetensors file with the
//! experiment config, read back and refused with clear errors.

use super::*;
use crate::model::PixelModel;
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use hnn_train::checkpoint;
use hnn_train::{Error, Model, ModelKind, ModelSpec, Result};
use std::path::Path;

/// Format of pixel checkpoints (the `format` field of their `hnn` metadata).
pub const CHECKPOINT_FORMAT: &str = "hnn-pixel-checkpoint";

/// One latent model kind with its autoencoder, and the variable map that holds both.
pub struct PixelRun {
    /// The model.
    pub model: PixelModel,
    /// Its variables: `ae.*` and the dynamics model's prefix.
    pub varmap: VarMap,
    /// Which latent dynamics it carries.
    pub kind: ModelKind,
    /// The latent dynamics model's specification.
    pub spec: ModelSpec,
}

impl PixelRun {
    /// The model `cfg` describes for `kind`, with uninitialised weights.
    pub(super) fn new(cfg: &PixelExperiment, kind: ModelKind, dtype: DType, device: &Device) -> Result<Self> {
        let varmap = VarMap::new();
        let mut model = PixelModel::new(
            cfg.data.renderer.pixels(),
            cfg.model.autoencoder_hidden,
            &cfg.spec(kind),
            VarBuilder::from_varmap(&varmap, dtype, device),
        )?;
        model.latent_step = cfg.model.latent_step()?;
        Ok(Self { model, varmap, kind, spec: cfg.spec(kind) })
    }

    /// A frozen copy of the latent dynamics (a snapshot of its weights, see
    /// [`ModelState::frozen`](hnn_train::ModelState::frozen)) for rollouts: integrating the trainable model would record an autograd graph through every
    /// step, whose memory grows with the length of the rollout.
    pub fn frozen_dynamics(&self) -> Result<Model> {
        let vars: Vec<(String, Var)> = self.named_vars().into_iter().filter(|(n, _)| !n.starts_with("ae.")).collect();
        let (dtype, device) = vars.first().map_or((DType::F32, Device::Cpu), |(_, v)| (v.dtype(), v.device().clone()));
        hnn_train::model::state::frozen_model(&self.spec, &vars, dtype, &device)
    }

    /// The variables by name, sorted.
    pub(super) fn named_vars(&self) -> Vec<(String, Var)> {
        hnn_train::model::state::sorted_vars(&self.varmap)
    }

    /// The dtype of its weights.
    pub fn dtype(&self) -> DType {
        self.named_vars().first().map_or(DType::F32, |(_, v)| v.dtype())
    }

    /// The checkpoint metadata (without the `training` entry the trainer adds).
    pub(super) fn meta(&self, cfg: &PixelExperiment, dtype: DType, data_seed: u64) -> serde_json::Value {
        serde_json::json!({
            "format": CHECKPOINT_FORMAT,
            "version": 1,
            "dynamics": cfg.spec(self.kind),
            "autoencoder": {
                "input": 2 * cfg.data.renderer.pixels(),
                "hidden": cfg.model.autoencoder_hidden,
                "latent": 2,
                "prefix": "ae",
            },
            "layout": "z_q,z_p",
            "dtype": format!("{dtype:?}").to_lowercase(),
            "data_seed": data_seed,
            "experiment": cfg,
        })
    }
}

/// A pixel checkpoint read back: the experiment it stores, the model with its weights, and the
/// data seed it was trained on (absent from files written before that field).
pub struct PixelCheckpoint {
    /// The stored experiment config.
    pub experiment: PixelExperiment,
    /// The model, its weights set from the file.
    pub run: PixelRun,
    /// The training data's seed.
    pub data_seed: Option<u64>,
    /// Optimizer steps taken.
    pub step: usize,
}

/// What a pixel checkpoint's metadata says, with its tensors (CPU, as stored).
pub(super) struct Stored {
    pub(super) experiment: PixelExperiment,
    pub(super) spec: ModelSpec,
    pub(super) dtype: DType,
    pub(super) data_seed: Option<u64>,
    pub(super) step: usize,
    pub(super) tensors: std::collections::HashMap<String, Tensor>,
}

/// Reads and checks a pixel checkpoint's metadata: its format, version, config and model.
pub(super) fn read_stored(path: &Path) -> Result<Stored> {
    let (meta, tensors) = checkpoint::read_raw(path)?;
    let format = meta.get("format").and_then(|f| f.as_str()).unwrap_or("(none)");
    if format != CHECKPOINT_FORMAT {
        return Err(Error::checkpoint(path, format!("format `{format}` is not `{CHECKPOINT_FORMAT}`")));
    }
    let version = meta.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
    if version != 1 {
        return Err(Error::checkpoint(path, format!("pixel checkpoint version {version}: this hnn reads version 1")));
    }
    let experiment: PixelExperiment = serde_json::from_value(meta["experiment"].clone())
        .map_err(|e| Error::checkpoint(path, format!("stored experiment config: {e}")))?;
    experiment.validate().map_err(|e| Error::checkpoint(path, format!("stored experiment config: {e}")))?;
    let spec: ModelSpec = serde_json::from_value(meta["dynamics"].clone())
        .map_err(|e| Error::checkpoint(path, format!("stored dynamics model: {e}")))?;
    let dtype = match meta.get("dtype").and_then(|d| d.as_str()) {
        Some(name) => checkpoint::dtype_named(path, name)?,
        None => return Err(Error::checkpoint(path, "no dtype in the metadata")),
    };
    Ok(Stored {
        data_seed: meta.get("data_seed").and_then(|s| s.as_u64()),
        step: meta["training"].get("step").and_then(|s| s.as_u64()).unwrap_or(0) as usize,
        experiment,
        spec,
        dtype,
        tensors,
    })
}

/// Loads a pixel checkpoint (written by `hnn exp` or `hnn train` on a pixel experiment) onto
/// `device` in `dtype` (default: the stored one). A checkpoint of another format, a config that
/// does not validate, and a missing, misshapen, extra or non-finite tensor are refused, naming
/// the file.
pub fn load_checkpoint(path: &Path, device: &Device, dtype: Option<DType>) -> Result<PixelCheckpoint> {
    let stored = read_stored(path)?;
    let run = PixelRun::new(&stored.experiment, stored.spec.kind, dtype.unwrap_or(stored.dtype), device)?;
    let what = format!("a pixel model with a latent `{}`", stored.spec.kind.name());
    checkpoint::set_vars(path, stored.tensors, &run.named_vars(), &what)?;
    Ok(PixelCheckpoint { experiment: stored.experiment, run, data_seed: stored.data_seed, step: stored.step })
}
