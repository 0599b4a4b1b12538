//! Training one pixel model: the [`Trainable`](hnn_train::training::Trainable) that hnn-train's
//! loop drives (fused CPU step or autograd), from scratch or resumed from a checkpoint.

use super::*;
use crate::model::{LossWeights, PixelModel};
use candle_core::{DType, Device, Var};
use hnn_train::checkpoint::{self, TrainingInfo};
use hnn_train::experiment::model_seed;
use hnn_train::optim::Gradients;
use hnn_train::training::{sample_indices, train_loop, RunContext, Trainable};
use hnn_train::{Error, ModelKind, Result};
use rand_chacha::ChaCha8Rng;
use std::path::Path;

pub(super) struct PixelTrainer<'a> {
    pub(super) run: &'a PixelRun,
    pub(super) train: &'a Windows,
    pub(super) test: &'a Windows,
    pub(super) weights: LossWeights,
    pub(super) meta: serde_json::Value,
    /// The latent dynamics model's variables (everything outside `ae.`), for the fused step.
    pub(super) dynamics_vars: Vec<Var>,
}

impl Trainable for PixelTrainer<'_> {
    fn vars(&self) -> Vec<(String, Var)> {
        self.run.named_vars()
    }
    fn batch_gradients(&self, batch_size: usize, _noise: f64, rng: &mut ChaCha8Rng) -> Result<(f64, Gradients)> {
        let n = self.train.starts.len();
        let idx = sample_indices(n, if batch_size == 0 { n } else { batch_size }, rng);
        let starts: Vec<u32> = idx.iter().map(|&i| self.train.starts[i as usize]).collect();
        let window = self.train.gather(&starts)?;
        if let Some(fused) =
            crate::kernel::pixel_gradients(&self.run.model, &self.dynamics_vars, &window, self.weights)?
        {
            return Ok(fused);
        }
        Gradients::backward(&self.run.model.losses(&window, self.weights)?.total)
    }
    fn test_loss(&self) -> Result<f64> {
        total_loss(&self.run.model, self.test, self.weights)
    }
    fn save(&self, info: &TrainingInfo, path: &Path) -> Result<()> {
        let mut meta = self.meta.clone();
        meta["training"] = serde_json::to_value(info).expect("training info serializes");
        let tensors = self.vars().into_iter().map(|(n, v)| (n, v.as_tensor().clone())).collect();
        checkpoint::save_tensors(path, tensors, meta.to_string())
    }
}

/// Total loss over every window of a split, in chunks.
pub(super) fn total_loss(model: &PixelModel, windows: &Windows, weights: LossWeights) -> Result<f64> {
    let n = windows.starts.len();
    if n == 0 {
        return Ok(f64::NAN);
    }
    let mut sum = 0.0;
    for chunk in windows.starts.chunks(2048) {
        let l = model.losses(&windows.gather(chunk)?, weights)?.total;
        sum += l.to_dtype(DType::F64)?.to_scalar::<f64>()? * chunk.len() as f64;
    }
    Ok(sum / n as f64)
}

/// One model's training job: what `hnn exp` runs per model kind and `hnn train` runs alone.
pub struct TrainJob<'a> {
    /// Data seed (the model's initialisation and sampling derive from it and the kind).
    pub seed: u64,
    /// Which latent dynamics.
    pub kind: ModelKind,
    /// Where the checkpoint (and its optimizer sidecar) goes.
    pub checkpoint: std::path::PathBuf,
    /// Continue from this checkpoint and its sidecar instead of starting afresh.
    pub resume: Option<&'a Path>,
    /// Show a progress bar.
    pub progress: bool,
}

pub(super) fn train_run(
    cfg: &PixelExperiment,
    job: &TrainJob,
    data: &RunData,
    dtype: DType,
    device: &Device,
) -> Result<(PixelRun, hnn_train::training::TrainReport)> {
    let run = PixelRun::new(cfg, job.kind, dtype, device)?;
    let mseed = model_seed(job.seed, job.kind);
    match job.resume {
        Some(path) => {
            // The weights go straight into this run's model; shapes alone would not catch
            // another activation, so the stored dynamics model must be this config's.
            let stored = read_stored(path)?;
            checkpoint::check_kind(path, stored.spec.kind, job.kind)?;
            if stored.spec != run.spec {
                return Err(Error::checkpoint(
                    path,
                    format!("its latent model {} is not this config's {}", stored.spec, run.spec),
                ));
            }
            checkpoint::set_vars(path, stored.tensors, &run.named_vars(), "this experiment's model")?;
        }
        None => hnn_core::init::orthogonal_init(&run.varmap, mseed)?,
    }
    let dynamics_vars =
        run.named_vars().into_iter().filter(|(name, _)| !name.starts_with("ae.")).map(|(_, v)| v).collect();
    let trainer = PixelTrainer {
        run: &run,
        train: &data.train,
        test: &data.test,
        weights: cfg.model.loss_weights(),
        meta: run.meta(cfg, dtype, job.seed),
        dynamics_vars,
    };
    let ctx = RunContext {
        seed: mseed,
        checkpoint: Some(job.checkpoint.clone()),
        info: TrainingInfo { mode: hnn_train::checkpoint::TrainingMode::Pixels, seed: mseed, ..Default::default() },
        progress: job.progress,
        label: format!("{} {}", cfg.name, job.kind.name()),
        stop: None,
    };
    tracing::info!(experiment = %cfg.name, seed = job.seed, model = job.kind.name(), steps = cfg.train.steps, "training");
    let report = train_loop(&trainer, &cfg.train, &ctx, job.resume)?;
    Ok((run, report))
}

/// Trains one model of a pixel experiment (from scratch, or resuming `job.resume` up to
/// `train.steps`) and writes its checkpoint; `hnn train` on a pixel config.
pub fn train_model(
    cfg: &PixelExperiment,
    job: &TrainJob,
    device: &Device,
    dtype: DType,
) -> Result<hnn_train::training::TrainReport> {
    cfg.validate()?;
    let data = RunData::new(cfg, job.seed, dtype, device)?;
    Ok(train_run(cfg, job, &data, dtype, device)?.1)
}
