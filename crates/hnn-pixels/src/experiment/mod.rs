//! The pixel-pendulum experiment (`experiments/pixels.toml`, `hnn exp pixels`): generate frames,
//! train the autoencoder with a latent HNN and with the latent baseline through hnn-train's loop,
//! then roll each latent model out from the first frame pair of held-out trajectories and decode
//! every state. Writes under `<out>/<name>/<seed>/`: `hnn.safetensors`, `baseline.safetensors`
//! (autoencoder and dynamics in one file each), `metrics.json` (the Table 1 fields: total loss,
//! energy MSE of the latent rollout through a fitted linear map to (θ, p), frame MSE),
//! `frame_mse.json`, `latent.json` (latent rollouts and encoded true frames), and plots:
//! `loss.png`, `frame_mse.png`, `latent_phase.png`, `rollout_strip.png` (true frames above each
//! model's), `rollout.gif`.
//!
//! One job per module: `config` (the TOML settings), `windows` (training samples), `trainer`
//! (one model through hnn-train's loop, resumable), `linear_map` (latent → (θ, p)), `evaluation`
//! (decoded rollouts and their metrics), `file` (the checkpoint format),
//! `pictures` (plots and GIFs); this file runs them in order for every seed.

mod config;
mod evaluation;
mod file;
mod linear_map;
mod pictures;
mod trainer;
mod windows;

pub use config::{PixelEvalConfig, PixelExperiment, PixelModelConfig};
pub use evaluation::CheckpointEval;
pub use file::{load_checkpoint, PixelCheckpoint, PixelRun, CHECKPOINT_FORMAT};
pub use trainer::{train_model, TrainJob};

use evaluation::*;
use file::*;
use linear_map::*;
use pictures::*;
use trainer::*;
use windows::*;

use crate::data::{PixelDataset, PixelTask};
use candle_core::{DType, Device, Tensor};
use hnn_train::device::{check_precision, select_device};
use hnn_train::experiment::{ModelRun, RunMetrics, RunSetup};
use hnn_train::{Error, Result, RunOptions};
use std::collections::BTreeMap;

/// Runs the experiment for every seed.
pub fn run(cfg: &PixelExperiment, opts: &RunOptions) -> Result<Vec<RunMetrics>> {
    let mut cfg = cfg.clone();
    if let Some(steps) = opts.steps {
        cfg.train.steps = steps;
    }
    cfg.validate()?;
    let device = select_device(opts.device)?;
    check_precision(&device, opts.precision)?;
    opts.seeds.iter().map(|&seed| run_seed(&cfg, opts, &device, seed)).collect()
}

/// What a run trains and evaluates on, for one seed: the training and test windows and the
/// held-out trajectories that are rolled out (fresh draws of the same task).
struct RunData {
    train: Windows,
    test: Windows,
    eval: PixelDataset,
}

impl RunData {
    fn new(cfg: &PixelExperiment, seed: u64, dtype: DType, device: &Device) -> Result<Self> {
        tracing::info!(experiment = %cfg.name, seed, "rendering frames");
        let ds = cfg.data.generate(seed)?;
        let n_test = ds.test_trajectories();
        let n = ds.frames.dims()[0];
        let to = |t: Tensor| -> Result<Tensor> { Ok(t.to_dtype(dtype)?.to_device(device)?) };
        let offsets = cfg.model.latent_step()?.offsets();
        let train = Windows::new(&ds, n_test, n - n_test, offsets.clone(), to)?;
        let test = Windows::new(&ds, 0, n_test, offsets, to)?;
        let eval_task =
            PixelTask { trajectories: cfg.eval.trajectories, steps: cfg.eval.rollout_steps, ..cfg.data.clone() };
        let eval = eval_task.generate(seed ^ 0x00e7_a1f0)?;
        Ok(Self { train, test, eval })
    }
}

fn run_seed(cfg: &PixelExperiment, opts: &RunOptions, device: &Device, seed: u64) -> Result<RunMetrics> {
    let started = std::time::Instant::now();
    let dir = opts.out.join(&cfg.name).join(seed.to_string());
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let dtype = opts.precision.dtype();
    let data = RunData::new(cfg, seed, dtype, device)?;
    let mut models = BTreeMap::new();
    let mut outcomes = vec![];
    for &kind in &cfg.model.kinds {
        let job = TrainJob {
            seed,
            kind,
            checkpoint: dir.join(format!("{}.safetensors", kind.name())),
            resume: None,
            progress: opts.progress,
        };
        let (run, report) = train_run(cfg, &job, &data, dtype, device)?;
        let outcome = evaluate(&run, cfg, &data.eval, &data.train, &data.test, device)?;
        tracing::info!(
            model = kind.name(),
            energy_mse = outcome.metrics.energy_mse.mean,
            frame_mse = outcome.metrics.trajectory_mse.mean,
            seconds = report.seconds,
            "evaluated"
        );
        models.insert(kind.name().to_string(), ModelRun::new(outcome.metrics.clone(), &report));
        outcomes.push((kind, report, outcome));
    }
    let (train, test, eval) = (&data.train, &data.test, &data.eval);
    let curves: BTreeMap<&str, &Vec<f64>> = outcomes.iter().map(|(k, _, o)| (k.name(), &o.frame_mse)).collect();
    hnn_systems::io::atomic_write(
        &dir.join("frame_mse.json"),
        serde_json::to_string(&curves).expect("curves").as_bytes(),
    )?;
    // The latent paths behind `latent_phase.png`, for analysis: per model the rollout and the
    // encoding of the true frames of the first held-out trajectories, and their true (θ, p).
    let shown = outcomes.first().map_or(0, |(_, _, o)| o.encoded.len());
    let latent: BTreeMap<&str, serde_json::Value> = outcomes
        .iter()
        .map(|(k, _, o)| (k.name(), serde_json::json!({ "rollout": &o.latent[..shown], "encoded": &o.encoded })))
        .collect();
    let states = eval.states.narrow(0, 0, shown)?.to_vec3::<f64>()?;
    hnn_systems::io::atomic_write(
        &dir.join("latent.json"),
        serde_json::json!({ "models": latent, "states": states }).to_string().as_bytes(),
    )?;
    if opts.plots {
        if let Err(e) = draw(&dir, cfg, eval, &outcomes) {
            tracing::warn!("plots not drawn: {e}");
        }
    }
    let setup = RunSetup {
        experiment: &cfg.name,
        seed,
        device,
        opts,
        steps: cfg.train.steps,
        samples: (train.starts.len(), test.starts.len()),
        started,
    };
    RunMetrics::write(setup, models, &dir, &toml::to_string(cfg).expect("config serializes"))
}
