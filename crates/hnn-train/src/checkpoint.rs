//! Checkpoints: one `.safetensors` file per model, loadable by any safetensors reader.
//!
//! - Tensors: the model's variables under stable names, `<kind>.layers.<i>.weight` `[out, in]`
//!   and `<kind>.layers.<i>.bias` `[out]` (PyTorch's Linear layout; the last layer has no bias);
//!   the separable HNN has `separable_hnn.kinetic.layers.*` and `separable_hnn.potential.layers.*`.
//!   `<kind>` is `hnn`, `separable_hnn` or `baseline`.
//! - Metadata: key `hnn` holds JSON ([`CheckpointMeta`]): model kind, dof, hidden widths,
//!   activation, state layout "q,p", dtype, training mode/integrator/dt/step/seed, the experiment
//!   config, `format` = `hnn-checkpoint`, format version. (A single key, so files are
//!   reproducible byte for byte.)
//! - Optimizer state (for `--resume`) goes to a sidecar `<name>.optim.safetensors`: Adam moments
//!   `m.<var>`, `v.<var>`, and JSON metadata `resume` with the step, the data sampler's position
//!   and the loss curves so far.
//!
//! Every file is written atomically (temporary file, then rename).

use crate::error::{Error, Result};
use crate::model::{ModelKind, ModelSpec, ModelState};
use candle_core::{DType, Device, Tensor, Var};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Value of the `format` metadata key.
pub const FORMAT: &str = "hnn-checkpoint";
/// Current checkpoint version.
pub const VERSION: u32 = 1;

/// What a model was trained by, as checkpoints name it (`mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TrainingMode {
    /// Not trained (a fresh [`HnnModel`](crate::HnnModel)), or not recorded.
    #[default]
    Untrained,
    /// Gradient matching.
    Gradient,
    /// Trajectory matching.
    Trajectory,
    /// The pixel autoencoder's losses.
    Pixels,
    /// A mode this version does not know (a checkpoint written by a later one, or an empty mode
    /// of an earlier one): it still loads.
    #[serde(other)]
    Unknown,
}

/// How a model was trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TrainingInfo {
    /// Gradient or trajectory matching.
    pub mode: TrainingMode,
    /// Integrator used in trajectory matching.
    pub integrator: Option<hnn_core::IntegratorKind>,
    /// Integrator step in trajectory matching.
    pub dt: Option<f64>,
    /// Optimizer steps taken.
    pub step: usize,
    /// Seed of the run.
    pub seed: u64,
    /// The experiment configuration, when trained by an experiment.
    pub experiment: Option<serde_json::Value>,
}

impl TrainingInfo {
    /// What a checkpoint records of training under `objective` on data sampled every `interval`
    /// (trajectory matching's integrator step is the interval over the substeps), from `seed`,
    /// at step 0.
    pub fn of(objective: &crate::training::Objective, interval: Option<f64>, seed: u64) -> Self {
        use crate::training::Objective;
        let (mode, integrator, dt) = match objective {
            Objective::Gradient {} => (TrainingMode::Gradient, None, None),
            Objective::Trajectory { integrator, substeps, .. } => {
                (TrainingMode::Trajectory, Some(*integrator), interval.map(|d| d / *substeps as f64))
            }
        };
        TrainingInfo { mode, integrator, dt, step: 0, seed, experiment: None }
    }
}

/// The JSON stored under the `hnn` metadata key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`VERSION`].
    pub version: u32,
    /// The model.
    pub model: ModelSpec,
    /// State layout, always "q,p".
    pub layout: String,
    /// dtype of the stored weights (`f32`/`f64`).
    pub dtype: String,
    /// How it was trained.
    pub training: TrainingInfo,
}

/// What `--resume` needs besides the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ResumeInfo {
    /// Optimizer steps taken.
    pub step: usize,
    /// Position of the data sampler's random stream.
    pub rng_word_pos: u128,
    /// Training loss per step so far.
    pub train_curve: Vec<f64>,
    /// (step, test loss) evaluations so far.
    pub test_curve: Vec<(usize, f64)>,
}

/// The sidecar path of a checkpoint: `x.safetensors` → `x.optim.safetensors`.
pub fn optimizer_path(path: &Path) -> PathBuf {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!("{stem}.optim.safetensors"))
}

fn dtype_name(d: DType) -> String {
    format!("{d:?}").to_lowercase()
}

/// Writes `tensors` with one metadata entry `key` = `json` (a JSON object), atomically, sealed
/// with a checksum of the whole content ([`hnn_systems::sealed`]) that [`header`] verifies.
fn serialize(path: &Path, tensors: Vec<(String, Tensor)>, key: &str, json: String) -> Result<()> {
    let bytes = hnn_systems::sealed::serialize(tensors, key, &json)
        .map_err(|e| Error::checkpoint(path, format!("cannot serialize: {e}")))?;
    // Creates the folder where missing and clears a killed writer's temporary files.
    hnn_systems::io::atomic_write(path, &bytes)?;
    Ok(())
}

/// Saves the model's weights with metadata.
pub fn save(state: &ModelState, training: &TrainingInfo, path: &Path) -> Result<()> {
    let meta = CheckpointMeta {
        format: FORMAT.into(),
        version: VERSION,
        model: state.spec.clone(),
        layout: "q,p".into(),
        dtype: dtype_name(state.dtype),
        training: training.clone(),
    };
    let tensors = state.named_vars().into_iter().map(|(n, v)| (n, v.as_tensor().clone())).collect();
    serialize(path, tensors, "hnn", serde_json::to_string(&meta).expect("metadata serializes"))
}

/// Saves named tensors with `meta_json` under the `hnn` metadata key: for models beyond the
/// built-in ones (the pixel model writes `format` = `hnn-pixel-checkpoint` there).
pub fn save_tensors(path: &Path, tensors: Vec<(String, Tensor)>, meta_json: String) -> Result<()> {
    serialize(path, tensors, "hnn", meta_json)
}

/// Saves the optimizer sidecar.
pub fn save_optimizer(path: &Path, tensors: Vec<(String, Tensor)>, resume: &ResumeInfo) -> Result<()> {
    serialize(&optimizer_path(path), tensors, "resume", serde_json::to_string(resume).expect("resume info serializes"))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    if path.is_dir() {
        return Err(Error::checkpoint(path, "is a directory, not a checkpoint file"));
    }
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// The metadata map of a whole file, each entry's checksum verified against the tensors and
/// removed. A file written before checksums existed loads with a warning.
fn header(path: &Path, bytes: &[u8]) -> Result<HashMap<String, String>> {
    let (map, seal) = hnn_systems::sealed::verified_metadata(bytes).map_err(|e| Error::checkpoint(path, e))?;
    if seal == hnn_systems::sealed::Seal::Absent {
        tracing::warn!("{}: written without a checksum (before hnn recorded them); not verified", path.display());
    }
    Ok(map)
}

/// Reads only the metadata of a checkpoint.
pub fn read_meta(path: &Path) -> Result<CheckpointMeta> {
    let bytes = read(path)?;
    parse_meta(path, &header(path, &bytes)?)
}

/// The JSON under the `hnn` metadata key.
fn meta_value(path: &Path, header: &HashMap<String, String>) -> Result<serde_json::Value> {
    let json = header.get("hnn").ok_or_else(|| {
        Error::checkpoint(
            path,
            "no `hnn` metadata: not an hnn checkpoint (an optimizer sidecar or another program's file?)",
        )
    })?;
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| Error::checkpoint(path, format!("metadata is not valid JSON ({e})")))?;
    Ok(value)
}

fn parse_meta(path: &Path, header: &HashMap<String, String>) -> Result<CheckpointMeta> {
    let value = meta_value(path, header)?;
    let format = value.get("format").and_then(|f| f.as_str()).unwrap_or("(none)");
    if format != FORMAT {
        return Err(Error::checkpoint(
            path,
            format!("format `{format}` is not `{FORMAT}` (a different kind of hnn file)"),
        ));
    }
    let meta: CheckpointMeta =
        serde_json::from_value(value).map_err(|e| Error::checkpoint(path, format!("metadata is not valid ({e})")))?;
    if meta.version > VERSION {
        return Err(Error::checkpoint(
            path,
            format!("version {} is newer than this hnn understands ({VERSION})", meta.version),
        ));
    }
    if meta.layout != "q,p" {
        return Err(Error::checkpoint(path, format!("state layout `{}` is not supported", meta.layout)));
    }
    Ok(meta)
}

/// Loads a checkpoint onto `device` in `dtype` (default: the stored one). With `expect`, a
/// checkpoint of another model kind is refused.
pub fn load(
    path: &Path,
    device: &Device,
    dtype: Option<DType>,
    expect: Option<ModelKind>,
) -> Result<(ModelState, CheckpointMeta)> {
    let bytes = read(path)?;
    let meta = parse_meta(path, &header(path, &bytes)?)?;
    if let Some(kind) = expect {
        check_kind(path, meta.model.kind, kind)?;
    }
    meta.model.validate().map_err(|e| Error::checkpoint(path, format!("model spec: {e}")))?;
    let stored = dtype_named(path, &meta.dtype)?;
    let dtype = dtype.unwrap_or(stored);
    let tensors = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu)
        .map_err(|e| Error::checkpoint(path, format!("cannot read tensors ({e})")))?;
    if let Some((name, t)) = tensors.iter().find(|(_, t)| t.dtype() != stored) {
        return Err(Error::checkpoint(
            path,
            format!("tensor `{name}` is stored as {:?}, its metadata says `{}`", t.dtype(), meta.dtype),
        ));
    }
    // The metadata must describe a model of about the size the file holds, before anything of
    // that size is made (a corrupted width would otherwise allocate and initialise it first).
    let held: usize = tensors.values().map(|t| t.elem_count()).sum();
    let claimed = meta.model.parameter_bound();
    if claimed > 4.0 * held as f64 + 1e4 {
        return Err(Error::checkpoint(
            path,
            format!(
                "its metadata describes a model of about {claimed:.3e} parameters (model.hidden = {:?}, dof {}), \
                 but the file holds {held} values",
                meta.model.hidden, meta.model.dof
            ),
        ));
    }
    let state = ModelState::new(meta.model.clone(), dtype, device, 0)?;
    set_vars(path, tensors, &state.named_vars(), &format!("a `{}` model", meta.model.kind.name()))?;
    Ok((state, meta))
}

/// Errors unless a checkpoint's model kind is the one expected, naming both.
pub fn check_kind(path: &Path, stored: ModelKind, expected: ModelKind) -> Result<()> {
    if stored != expected {
        return Err(Error::checkpoint(
            path,
            format!("holds a `{}` model, expected `{}`", stored.name(), expected.name()),
        ));
    }
    Ok(())
}

/// The dtype a checkpoint's metadata names (`f32`, `f64`, `f16`, `bf16`).
pub fn dtype_named(path: &Path, name: &str) -> Result<DType> {
    Ok(match name {
        "f32" => DType::F32,
        "f64" => DType::F64,
        "f16" => DType::F16,
        "bf16" => DType::BF16,
        other => {
            return Err(Error::checkpoint(path, format!("unsupported dtype `{other}` (known: f32, f64, f16, bf16)")))
        }
    })
}

/// Sets each of `vars` from the tensor of the same name, converted to the variable's dtype and
/// device. A missing tensor, a shape the variable does not have, a tensor no variable takes, and
/// NaN or Inf are refused, naming the file and the tensor (`what` names the model for errors).
pub fn set_vars(path: &Path, mut tensors: HashMap<String, Tensor>, vars: &[(String, Var)], what: &str) -> Result<()> {
    for (name, var) in vars {
        let t = tensors.remove(name).ok_or_else(|| Error::checkpoint(path, format!("tensor `{name}` is missing")))?;
        if t.dims() != var.dims() {
            return Err(Error::checkpoint(
                path,
                format!("tensor `{name}` has shape {:?}, the model needs {:?}", t.dims(), var.dims()),
            ));
        }
        let finite = t.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?.iter().all(|v| v.is_finite());
        if !finite {
            return Err(Error::checkpoint(path, format!("tensor `{name}` holds NaN or Inf")));
        }
        var.set(&t.to_dtype(var.dtype())?.to_device(var.device())?)?;
    }
    if let Some(extra) = tensors.keys().next() {
        return Err(Error::checkpoint(path, format!("unexpected tensor `{extra}` for {what}")));
    }
    Ok(())
}

/// The `hnn` metadata of a checkpoint of any format, as JSON, with its tensors (on the CPU, as
/// stored): for models beyond the built-in ones, which check the `format` field themselves.
pub fn read_raw(path: &Path) -> Result<(serde_json::Value, HashMap<String, Tensor>)> {
    let bytes = read(path)?;
    let value = meta_value(path, &header(path, &bytes)?)?;
    let tensors = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu)
        .map_err(|e| Error::checkpoint(path, format!("cannot read tensors ({e})")))?;
    Ok((value, tensors))
}

/// The optimizer step a checkpoint of any format records (`training.step` in its metadata), if
/// it records one.
pub fn stored_step(path: &Path) -> Result<Option<usize>> {
    let bytes = read(path)?;
    let value = meta_value(path, &header(path, &bytes)?)?;
    Ok(value.get("training").and_then(|t| t.get("step")).and_then(|s| s.as_u64()).map(|s| s as usize))
}

/// The `format` a checkpoint declares (`hnn-checkpoint`, `hnn-pixel-checkpoint`, …; empty when
/// it declares none), read from its header alone: the tensors are not read.
pub fn format_of(path: &Path) -> Result<String> {
    use std::io::Read;
    let corrupt = |why: &str| Error::checkpoint(path, format!("not a valid safetensors file ({why})"));
    if path.is_dir() {
        return Err(Error::checkpoint(path, "is a directory, not a checkpoint file"));
    }
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut len = [0u8; 8];
    file.read_exact(&mut len).map_err(|_| corrupt("shorter than its header"))?;
    let len = u64::from_le_bytes(len);
    // safetensors caps its header at 100 MB.
    if len > 100_000_000 {
        return Err(corrupt("header length out of range"));
    }
    let mut json = vec![0u8; len as usize];
    file.read_exact(&mut json).map_err(|_| corrupt("truncated header"))?;
    let header: serde_json::Value = serde_json::from_slice(&json).map_err(|_| corrupt("header is not JSON"))?;
    let meta = header.get("__metadata__").and_then(|m| m.get("hnn")).and_then(|j| j.as_str());
    let value: Option<serde_json::Value> = meta.and_then(|j| serde_json::from_str(j).ok());
    Ok(value.and_then(|v| v.get("format").and_then(|f| f.as_str()).map(String::from)).unwrap_or_default())
}

/// Loads the optimizer sidecar of a checkpoint.
pub fn load_optimizer(path: &Path) -> Result<(HashMap<String, Tensor>, ResumeInfo)> {
    let side = optimizer_path(path);
    let bytes = read(&side)?;
    let header = header(&side, &bytes)?;
    let json = header
        .get("resume")
        .ok_or_else(|| Error::checkpoint(&side, "no `resume` metadata: not an optimizer sidecar"))?;
    let resume: ResumeInfo = serde_json::from_str(json)
        .map_err(|e| Error::checkpoint(&side, format!("resume metadata is not valid ({e})")))?;
    let tensors = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu)
        .map_err(|e| Error::checkpoint(&side, format!("cannot read tensors ({e})")))?;
    Ok((tensors, resume))
}
