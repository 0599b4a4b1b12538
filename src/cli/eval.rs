//! `hnn eval`: a checkpoint evaluated with the experiment config stored in it (or another).

use super::{is_pixel_checkpoint, Config};
use candle_core::{DType, Device};
use hnn_core::RolloutMethod;
use hnn_train::checkpoint;
use hnn_train::device::Precision;
use hnn_train::eval::{evaluate, EvalSet};
use hnn_train::experiment::ExperimentConfig;
use hnn_train::training::TrainData;
use hnn_train::{Error, Result};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub(super) struct EvalArgs {
    /// The checkpoint.
    checkpoint: PathBuf,
    /// Use this config instead of the stored one.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Seed of the data and rollout starts (default: 0; for a pixel checkpoint, the seed it
    /// was trained on).
    #[arg(long)]
    seed: Option<u64>,
    /// Data file override.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Evaluate the learned field in this precision during rollouts (states stay f64);
    /// overrides the config's `eval.field_precision`.
    #[arg(long, value_enum)]
    field_precision: Option<Precision>,
    /// Rollout method (`dopri5`, `dop853`, or a fixed-step integrator with the config's
    /// `eval.dt`; for a pixel checkpoint, fixed-step only); overrides the config's
    /// `eval.method`.
    #[arg(long)]
    method: Option<RolloutMethod>,
}

impl EvalArgs {
    pub(super) fn run(self) -> Result<()> {
        if is_pixel_checkpoint(&self.checkpoint)? {
            self.pixels()
        } else {
            self.state()
        }
    }

    fn state(self) -> Result<()> {
        let EvalArgs { checkpoint: ckpt, config, seed, data, field_precision, method } = self;
        let seed = seed.unwrap_or(0);
        let (state, meta) = checkpoint::load(&ckpt, &Device::Cpu, Some(DType::F64), None)?;
        let mut cfg = match config {
            Some(p) => ExperimentConfig::from_file(&p)?,
            None => {
                let json = meta
                    .training
                    .experiment
                    .clone()
                    .ok_or_else(|| Error::checkpoint(&ckpt, "stores no experiment config: pass --config"))?;
                serde_json::from_value(json).map_err(|e| Error::checkpoint(&ckpt, format!("stored config: {e}")))?
            }
        };
        if let Some(p) = field_precision {
            cfg.eval.field_precision = p;
        }
        if let Some(m) = method {
            cfg.eval.method = m;
        }
        // A stored config is checked as a config file is (sizes, truth, every section).
        cfg.validate().map_err(|e| Error::checkpoint(&ckpt, format!("its experiment config: {e}")))?;
        let ds = cfg.data.load(seed, data.as_deref())?;
        if ds.meta.dof != state.spec.dof {
            return Err(Error::Config(format!("the data have {} dof, the model {}", ds.meta.dof, state.spec.dof)));
        }
        let truth = cfg.eval.truth.clone().or_else(|| cfg.data.truth()).expect("validated");
        let set = EvalSet::new(&cfg.eval, truth, cfg.data.sampler(), &ds, seed)?;
        let tdata = TrainData::new(&ds, &cfg.train.objective, DType::F64, &Device::Cpu)?;
        let (metrics, _) = evaluate(&state, &cfg.train.objective, &tdata, &set, &cfg.eval)?;
        say!("{}", serde_json::to_string_pretty(&metrics).expect("metrics serialize"));
        Ok(())
    }

    /// A pixel checkpoint: its metrics and frame MSE curve as JSON.
    fn pixels(self) -> Result<()> {
        if self.data.is_some() || self.field_precision.is_some() {
            return Err(Error::Config(
                "a pixel checkpoint renders its own frames in its own precision: drop --data and --field-precision"
                    .into(),
            ));
        }
        let stored = hnn_pixels::experiment::load_checkpoint(&self.checkpoint, &Device::Cpu, None)?;
        let mut cfg = match &self.config {
            Some(p) => match Config::read(&p.to_string_lossy())? {
                Config::Pixels(p) => *p,
                Config::State(_) => return Err(Error::Config(format!("{} is not a pixel experiment", p.display()))),
            },
            None => stored.experiment.clone(),
        };
        if let Some(m) = self.method {
            cfg.eval.method = super::rollout::fixed_step(m)?;
        }
        let out = stored.evaluate(Some(cfg), self.seed, &Device::Cpu)?;
        say!("{}", serde_json::to_string_pretty(&out).expect("metrics serialize"));
        Ok(())
    }
}
