//! `hnn train`: one model of an experiment config, from scratch or resumed.

use super::{progress, Compute, Config};
use hnn_pixels::experiment::PixelExperiment;
use hnn_train::checkpoint;
use hnn_train::device::{check_precision, select_device};
use hnn_train::experiment::{model_seed, ExperimentConfig};
use hnn_train::model::{ModelKind, ModelState};
use hnn_train::training::{train, RunContext, TrainData};
use hnn_train::{Error, Result};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub(super) struct TrainArgs {
    /// The experiment config (TOML).
    #[arg(long)]
    config: PathBuf,
    /// Which model: hnn, baseline, separable_hnn, or any registered kind.
    #[arg(long, default_value = "hnn")]
    model: ModelKind,
    /// Seed (data and initialisation).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Continue from this checkpoint (its optimizer sidecar must be beside it).
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Override the number of training steps.
    #[arg(long)]
    steps: Option<usize>,
    /// Where to write the checkpoint (default: runs/NAME/SEED/MODEL.safetensors).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Data file override.
    #[arg(long)]
    data: Option<PathBuf>,
    #[command(flatten)]
    compute: Compute,
}

impl TrainArgs {
    pub(super) fn run(self) -> Result<()> {
        match Config::read(&self.config.to_string_lossy())? {
            Config::State(cfg) => self.state(*cfg),
            Config::Pixels(cfg) => self.pixels(*cfg),
        }
    }

    /// The default checkpoint path of the model in `experiment`: runs/NAME/SEED/MODEL.safetensors.
    fn default_checkpoint(&self, experiment: &str) -> PathBuf {
        PathBuf::from("runs")
            .join(experiment)
            .join(self.seed.to_string())
            .join(format!("{}.safetensors", self.model.name()))
    }

    fn state(self, mut cfg: ExperimentConfig) -> Result<()> {
        let TrainArgs { model, seed, ref resume, steps, ref out, ref data, ref compute, .. } = self;
        if let Some(s) = steps {
            cfg.train.steps = s;
            cfg.validate()?;
        }
        let device = select_device(compute.device)?;
        check_precision(&device, compute.dtype)?;
        let dtype = compute.dtype.dtype();
        let ds = cfg.data.load(seed, data.as_deref())?;
        let path = match out {
            // An existing folder holds the checkpoint under the model's name.
            Some(dir) if dir.is_dir() => dir.join(format!("{}.safetensors", model.name())),
            Some(path) => path.clone(),
            None => self.default_checkpoint(&cfg.name),
        };
        let mseed = model_seed(seed, model);
        let spec = cfg.model_spec(model, ds.meta.dof);
        let state = match resume {
            Some(ckpt) => {
                let (state, meta) = checkpoint::load(ckpt, &device, Some(dtype), Some(model))?;
                if meta.training.step >= cfg.train.steps {
                    return Err(Error::Config(format!(
                        "--resume {}: the checkpoint is at step {}, and train.steps is {}: nothing is left to \
                         train and nothing is written (pass --steps N with N > {} to continue)",
                        ckpt.display(),
                        meta.training.step,
                        cfg.train.steps,
                        meta.training.step
                    )));
                }
                if state.spec != spec {
                    return Err(Error::Config(format!(
                        "--resume {}: the checkpoint's model {} is not this config's {}",
                        ckpt.display(),
                        state.spec,
                        spec
                    )));
                }
                state
            }
            None => ModelState::new(spec, dtype, &device, mseed)?,
        };
        let data = TrainData::new(&ds, &cfg.train.objective, dtype, &device)?;
        let ctx = RunContext {
            seed: mseed,
            checkpoint: Some(path.clone()),
            info: cfg.training_info(&ds, mseed),
            progress: progress(),
            label: format!("{} {}", cfg.name, model.name()),
            stop: None,
        };
        let report = train(&state, &data, &cfg.train, &ctx, resume.as_deref())?;
        say!(
            "trained {} for {} steps in {:.2} s ({:.0} steps/s); final loss {:.4e}; test loss {:.4e}",
            model.name(),
            report.steps_run,
            report.seconds,
            report.steps_per_second(),
            report.train_curve.last().copied().unwrap_or(f64::NAN),
            report.test_curve.last().map(|t| t.1).unwrap_or(f64::NAN)
        );
        say!("checkpoint: {}", path.display());
        Ok(())
    }

    fn pixels(self, mut cfg: PixelExperiment) -> Result<()> {
        if self.data.is_some() {
            return Err(Error::Config("pixel experiments render their own frames: drop --data".into()));
        }
        if let Some(s) = self.steps {
            cfg.train.steps = s;
        }
        cfg.validate()?;
        let model = self.model;
        if !cfg.model.kinds.contains(&model) {
            return Err(Error::Config(format!(
                "model `{}` is not one of this pixel experiment's model.kinds ({})",
                model.name(),
                cfg.model.kinds.iter().map(|k| k.name()).collect::<Vec<_>>().join(", ")
            )));
        }
        let device = select_device(self.compute.device)?;
        check_precision(&device, self.compute.dtype)?;
        let checkpoint = self.out.clone().unwrap_or_else(|| self.default_checkpoint(&cfg.name));
        let job = hnn_pixels::experiment::TrainJob {
            seed: self.seed,
            kind: model,
            checkpoint: checkpoint.clone(),
            resume: self.resume.as_deref(),
            progress: progress(),
        };
        let report = hnn_pixels::experiment::train_model(&cfg, &job, &device, self.compute.dtype.dtype())?;
        say!(
            "trained the pixel {} for {} steps in {:.2} s; final loss {:.4e}; test loss {:.4e}",
            model.name(),
            report.steps_run,
            report.seconds,
            report.train_curve.last().copied().unwrap_or(f64::NAN),
            report.test_curve.last().map(|t| t.1).unwrap_or(f64::NAN)
        );
        say!("checkpoint: {}", checkpoint.display());
        Ok(())
    }
}
