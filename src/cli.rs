//! The `hnn` command line.

use candle_core::{DType, Device, Tensor};
use clap::{Args, Parser, Subcommand};
use hnn_pixels::experiment::PixelExperiment;
use hnn_train::checkpoint;
use hnn_train::device::{check_precision, select_device, DeviceChoice, Precision};
use hnn_train::eval::{evaluate, EvalSet};
use hnn_train::experiment::{self, model_seed, ExperimentConfig, RunOptions};
use hnn_train::model::{ModelKind, ModelState};
use hnn_train::training::{train, RunContext, TrainData};
use hnn_train::{Error, Result};
use std::path::{Path, PathBuf};

/// Hamiltonian Neural Networks: train, evaluate and integrate learned dynamics.
#[derive(Debug, Parser)]
#[command(name = "hnn", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct Compute {
    /// Device: auto picks CUDA/Metal when this build supports it and the machine has one.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    device: DeviceChoice,
    /// Precision of training.
    #[arg(long, value_enum, default_value_t = Precision::F32)]
    dtype: Precision,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run an experiment end to end: data → train HNN and baseline → evaluate → checkpoints,
    /// metrics.json, plots, under OUT/NAME/SEED/.
    Exp {
        /// Experiment name (experiments/NAME.toml) or path to a config file.
        name: String,
        /// Number of seeds (0, 1, …, N−1).
        #[arg(long, default_value_t = 1)]
        seeds: u64,
        /// First seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Override the number of training steps.
        #[arg(long)]
        steps: Option<usize>,
        /// Output root.
        #[arg(long, default_value = "runs")]
        out: PathBuf,
        /// Data file for experiments that read one (e.g. the real pendulum).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Skip the plots.
        #[arg(long)]
        no_plots: bool,
        /// Train the seeds one after another. By default (on the CPU) every model of every seed
        /// trains in one ensemble, with the same results in less time.
        #[arg(long)]
        sequential: bool,
        #[command(flatten)]
        compute: Compute,
    },
    /// Train one model of an experiment config (optionally resuming a checkpoint).
    Train {
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
    },
    /// Evaluate a checkpoint with the experiment config stored in it (or another one).
    Eval {
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
        /// `eval.dt`); overrides the config's `eval.method`.
        #[arg(long)]
        method: Option<String>,
    },
    /// Integrate a checkpoint's learned dynamics from a state; prints CSV (t, z…, H).
    Rollout {
        /// The checkpoint.
        checkpoint: PathBuf,
        /// Initial state, comma-separated, q first then p. For a pixel checkpoint: the
        /// pendulum's θ and p, whose first frame pair is rendered and encoded.
        #[arg(long, allow_hyphen_values = true)]
        z0: String,
        /// End time (for a pixel checkpoint: in frames); positive (a negative one is refused by
        /// name, not taken for a flag).
        #[arg(long, default_value_t = 10.0, allow_negative_numbers = true)]
        t_end: f64,
        /// Output points (both ends included).
        #[arg(long, default_value_t = 101)]
        points: usize,
        /// dopri5 or dop853 (adaptive, tolerances 1e-9), or a fixed-step integrator name
        /// [default: dopri5; for a pixel checkpoint, its config's eval.method, and fixed-step only].
        #[arg(long)]
        method: Option<String>,
        /// Step of a fixed-step integrator [default: 0.01; for a pixel checkpoint, its eval.dt].
        #[arg(long)]
        dt: Option<f64>,
        /// Pixel checkpoints: also draw the true frames above the decoded ones, as an animated
        /// GIF (`.gif`, one picture per output point) or a strip (`.png`, 20 columns).
        #[arg(long)]
        frames: Option<PathBuf>,
    },
    /// Generate (or load and convert) an experiment's dataset and save it (.safetensors or .npz).
    Data {
        /// Experiment name or config path.
        name: String,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// Seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Data file for experiments that read one.
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// List the built-in experiments (and local files that override them), model kinds,
    /// systems and integrators.
    List,
    /// Fit models to your own data (.npz, .csv, or an hnn dataset file) and write a run
    /// directory: MODEL.safetensors, metrics.json, loss.png (and phase.png for trajectories).
    Fit {
        /// The data: `.npz` (`z`+`dz` pairs, or `t` [T] + `z` [T, B, 2n] trajectories), `.csv`
        /// (columns q…, p… with dq…, dp… or t), or a file from `hnn data`.
        #[arg(long)]
        data: PathBuf,
        /// Models to fit (repeat or comma-separate): hnn, separable_hnn, baseline, …
        #[arg(long, value_delimiter = ',', default_value = "hnn")]
        model: Vec<ModelKind>,
        /// gradient (fit ż) or trajectory (integrate `--substeps` steps, fit the next state).
        #[arg(long, value_enum, default_value_t = FitObjective::Gradient)]
        objective: FitObjective,
        /// Integrator of trajectory matching [default: rk4].
        #[arg(long)]
        integrator: Option<hnn_core::IntegratorKind>,
        /// Integrator steps per sampling interval in trajectory matching [default: 10].
        #[arg(long)]
        substeps: Option<usize>,
        /// Backpropagation of trajectory matching: through the stored steps, or reversible
        /// (leapfrog, yoshida4; memory flat in the steps) [default: stored].
        #[arg(long, value_enum)]
        backprop: Option<hnn_train::training::Backprop>,
        /// Optimizer steps.
        #[arg(long, default_value_t = 2000)]
        steps: usize,
        /// Samples per step (0: the whole training set).
        #[arg(long, default_value_t = 0)]
        batch_size: usize,
        /// Learning rate (Adam).
        #[arg(long, default_value_t = 1e-3)]
        learning_rate: f64,
        /// Hidden widths, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "200,200")]
        hidden: Vec<usize>,
        /// Fraction of the trajectories (or rows, for pairs) held out.
        #[arg(long, default_value_t = 0.2)]
        test_fraction: f64,
        /// Seed of the initialisation and the sampler.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output directory [default: runs/fit/<data file stem>].
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        compute: Compute,
    },
    /// Aggregate runs (metrics.json files) into a Markdown table shaped like the paper's Table 1.
    Table {
        /// Directory to scan.
        #[arg(default_value = "runs")]
        dir: PathBuf,
    },
}

/// The objective of `hnn fit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FitObjective {
    /// Gradient matching.
    Gradient,
    /// Trajectory matching.
    Trajectory,
}

/// An experiment file: state-space (the default) or pixels (`kind = "pixels"`).
enum Config {
    State(Box<ExperimentConfig>),
    Pixels(Box<PixelExperiment>),
}

impl Config {
    /// An experiment by name or path (see [`crate::experiments::find`]).
    fn read(name: &str) -> Result<Self> {
        let crate::experiments::Source { text, origin } = crate::experiments::find(name)?;
        let kind =
            text.parse::<toml::Table>().ok().and_then(|t| t.get("kind").and_then(|k| k.as_str().map(String::from)));
        match kind.as_deref() {
            Some("pixels") => Ok(Config::Pixels(Box::new(PixelExperiment::from_toml(&text, &origin)?))),
            _ => Ok(Config::State(Box::new(ExperimentConfig::from_toml(&text, &origin)?))),
        }
    }
}

/// Parses the arguments and runs the command.
pub fn main() -> anyhow::Result<()> {
    hnn_core::exec::threads::init();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    run(cli.command)?;
    Ok(())
}

/// `hnn train` on a pixel experiment: one model, from scratch or resumed.
fn train_pixels(
    mut cfg: PixelExperiment,
    model: ModelKind,
    seed: u64,
    resume: Option<&Path>,
    steps: Option<usize>,
    out: Option<PathBuf>,
    compute: &Compute,
) -> Result<()> {
    if let Some(s) = steps {
        cfg.train.steps = s;
    }
    cfg.validate()?;
    if !cfg.model.kinds.contains(&model) {
        return Err(Error::Config(format!(
            "model `{}` is not one of this pixel experiment's model.kinds ({})",
            model.name(),
            cfg.model.kinds.iter().map(|k| k.name()).collect::<Vec<_>>().join(", ")
        )));
    }
    let device = select_device(compute.device)?;
    check_precision(&device, compute.dtype)?;
    let checkpoint = out.unwrap_or_else(|| {
        PathBuf::from("runs").join(&cfg.name).join(seed.to_string()).join(format!("{}.safetensors", model.name()))
    });
    let job = hnn_pixels::experiment::TrainJob {
        seed,
        kind: model,
        checkpoint: checkpoint.clone(),
        resume,
        progress: progress(),
    };
    let report = hnn_pixels::experiment::train_model(&cfg, &job, &device, compute.dtype.dtype())?;
    println!(
        "trained the pixel {} for {} steps in {:.2} s; final loss {:.4e}; test loss {:.4e}",
        model.name(),
        report.steps_run,
        report.seconds,
        report.train_curve.last().copied().unwrap_or(f64::NAN),
        report.test_curve.last().map(|t| t.1).unwrap_or(f64::NAN)
    );
    println!("checkpoint: {}", checkpoint.display());
    Ok(())
}

/// `hnn eval` on a pixel checkpoint: its metrics and frame MSE curve as JSON.
fn eval_pixels(ckpt: &Path, config: Option<&Path>, seed: Option<u64>, method: Option<String>) -> Result<()> {
    let stored = hnn_pixels::experiment::load_checkpoint(ckpt, &Device::Cpu, None)?;
    let mut cfg = match config {
        Some(p) => match Config::read(&p.to_string_lossy())? {
            Config::Pixels(p) => *p,
            Config::State(_) => return Err(Error::Config(format!("{} is not a pixel experiment", p.display()))),
        },
        None => stored.experiment.clone(),
    };
    if let Some(m) = method {
        cfg.eval.method = m;
    }
    let out = stored.evaluate(Some(cfg), seed, &Device::Cpu)?;
    println!("{}", serde_json::to_string_pretty(&out).expect("metrics serialize"));
    Ok(())
}

/// The most seeds one `hnn exp` runs (each writes a run directory).
const MAX_SEEDS: u64 = 100_000;

fn progress() -> bool {
    std::io::IsTerminal::is_terminal(&std::io::stderr())
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Exp { name, seeds, seed, steps, out, data, no_plots, sequential, compute } => {
            if !(1..=MAX_SEEDS).contains(&seeds) {
                return Err(Error::Config(format!("--seeds must be between 1 and {MAX_SEEDS}, got {seeds}")));
            }
            let Some(end) = seed.checked_add(seeds) else {
                return Err(Error::Config(format!("--seed {seed} --seeds {seeds}: the seeds run past 2^64")));
            };
            let opts = RunOptions {
                seeds: (seed..end).collect(),
                device: compute.device,
                precision: compute.dtype,
                steps,
                out: out.clone(),
                data_path: data,
                progress: progress(),
                plots: !no_plots,
                ensemble: !sequential,
            };
            let (runs, exp_name) = match Config::read(&name)? {
                Config::State(cfg) => (experiment::run(&cfg, &opts)?, cfg.name),
                Config::Pixels(cfg) => (hnn_pixels::experiment::run(&cfg, &opts)?, cfg.name),
            };
            println!("{}", hnn_train::table::markdown(&runs));
            println!("outputs: {}", out.join(exp_name).display());
            Ok(())
        }
        Command::Train { config, model, seed, resume, steps, out, data, compute } => {
            let mut cfg = match Config::read(&config.to_string_lossy())? {
                Config::State(cfg) => cfg,
                Config::Pixels(p) => {
                    if data.is_some() {
                        return Err(Error::Config("pixel experiments render their own frames: drop --data".into()));
                    }
                    return train_pixels(*p, model, seed, resume.as_deref(), steps, out, &compute);
                }
            };
            if let Some(s) = steps {
                cfg.train.steps = s;
                cfg.validate()?;
            }
            let device = select_device(compute.device)?;
            check_precision(&device, compute.dtype)?;
            let dtype = compute.dtype.dtype();
            let ds = cfg.data.load(seed, data.as_deref())?;
            let file = format!("{}.safetensors", model.name());
            let path = match out {
                // An existing folder holds the checkpoint under the model's name.
                Some(dir) if dir.is_dir() => dir.join(file),
                Some(path) => path,
                None => PathBuf::from("runs").join(&cfg.name).join(seed.to_string()).join(file),
            };
            let mseed = model_seed(seed, model);
            let spec = cfg.model_spec(model, ds.meta.dof);
            let state = match &resume {
                Some(ckpt) => {
                    let (state, _) = checkpoint::load(ckpt, &device, Some(dtype), Some(model))?;
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
            };
            let report = train(&state, &data, &cfg.train, &ctx, resume.as_deref())?;
            println!(
                "trained {} for {} steps in {:.2} s ({:.0} steps/s); final loss {:.4e}; test loss {:.4e}",
                model.name(),
                report.steps_run,
                report.seconds,
                report.steps_per_second(),
                report.train_curve.last().copied().unwrap_or(f64::NAN),
                report.test_curve.last().map(|t| t.1).unwrap_or(f64::NAN)
            );
            println!("checkpoint: {}", path.display());
            Ok(())
        }
        Command::Eval { checkpoint: ckpt, config, seed, data, field_precision, method } => {
            if checkpoint::format_of(&ckpt)? == hnn_pixels::experiment::CHECKPOINT_FORMAT {
                if data.is_some() || field_precision.is_some() {
                    return Err(Error::Config(
                        "a pixel checkpoint renders its own frames in its own precision: drop --data and \
                         --field-precision"
                            .into(),
                    ));
                }
                return eval_pixels(&ckpt, config.as_deref(), seed, method);
            }
            let seed = seed.unwrap_or(0);
            let (state, meta) = checkpoint::load(&ckpt, &Device::Cpu, Some(DType::F64), None)?;
            let cfg = match config {
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
            let mut cfg = cfg;
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
            println!("{}", serde_json::to_string_pretty(&metrics).expect("metrics serialize"));
            Ok(())
        }
        Command::Rollout { checkpoint: ckpt, z0, t_end, points, method, dt, frames } => {
            if checkpoint::format_of(&ckpt)? == hnn_pixels::experiment::CHECKPOINT_FORMAT {
                return pixel_rollout_cmd(&ckpt, &z0, t_end, points, method, dt, frames.as_deref());
            }
            if frames.is_some() {
                return Err(Error::Config("--frames draws pixel rollouts; this is a state-space checkpoint".into()));
            }
            let method = method.as_deref().unwrap_or("dopri5");
            if let (Some(dt), Some(_)) = (dt, hnn_train::eval::adaptive_pair(method)) {
                return Err(Error::Config(format!(
                    "--dt {dt} sets the step of a fixed-step method, and {method} chooses its own steps: drop --dt, or \
                     pick a fixed-step --method (rk4, leapfrog, …)"
                )));
            }
            rollout_cmd(&ckpt, &z0, t_end, points, method, dt.unwrap_or(0.01))
        }
        Command::Data { name, out, seed, data } => {
            let cfg = match Config::read(&name)? {
                Config::State(cfg) => cfg,
                Config::Pixels(p) => {
                    let ds = p.data.generate(seed)?;
                    ds.save(&out)?;
                    println!("{}: {:?} frames → {}", p.name, ds.frames.dims(), out.display());
                    return Ok(());
                }
            };
            let ds = cfg.data.load(seed, data.as_deref())?;
            hnn_systems::io::save(&ds, &out)?;
            println!(
                "{}: {} train + {} test samples of {} (dof {}) → {}",
                cfg.name,
                ds.train.len(),
                ds.test.len(),
                ds.meta.system,
                ds.meta.dof,
                out.display()
            );
            Ok(())
        }
        Command::List => {
            list();
            Ok(())
        }
        Command::Fit {
            data,
            model,
            objective,
            integrator,
            substeps,
            backprop,
            steps,
            batch_size,
            learning_rate,
            hidden,
            test_fraction,
            seed,
            out,
            compute,
        } => {
            let objective = match objective {
                FitObjective::Gradient if integrator.is_some() || substeps.is_some() || backprop.is_some() => {
                    return Err(Error::Config(
                        "--integrator, --substeps and --backprop set trajectory matching: add --objective \
                             trajectory, or drop them"
                            .into(),
                    ))
                }
                FitObjective::Gradient => hnn_train::training::Objective::Gradient,
                FitObjective::Trajectory => hnn_train::training::Objective::Trajectory {
                    integrator: integrator.unwrap_or(hnn_core::IntegratorKind::Rk4),
                    substeps: substeps.unwrap_or(10),
                    backprop: backprop.unwrap_or_default(),
                },
            };
            let options = hnn_train::FitOptions {
                objective,
                steps,
                batch_size,
                learning_rate,
                seed: Some(seed),
                progress: progress(),
                ..hnn_train::FitOptions::default()
            };
            let stem = data.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_else(|| "data".into());
            let out = out.unwrap_or_else(|| PathBuf::from("runs").join("fit").join(stem));
            let fit = crate::fit::FitRun {
                data,
                kinds: model,
                hidden,
                test_fraction,
                seed,
                compute: (compute.device, compute.dtype),
                options,
                out,
            };
            fit.run()
        }
        Command::Table { dir } => {
            let runs = hnn_train::table::collect(&dir)?;
            if runs.is_empty() {
                return Err(Error::Config(format!("no metrics.json under {}", dir.display())));
            }
            println!("{}", hnn_train::table::markdown(&runs));
            Ok(())
        }
    }
}

/// `--z0` as `dim` numbers.
fn parse_state(z0: &str, dim: usize) -> Result<Vec<f64>> {
    let z: Vec<f64> = z0
        .split(',')
        .map(|s| s.trim().parse::<f64>().map_err(|e| Error::Config(format!("--z0: `{s}` is not a number ({e})"))))
        .collect::<Result<_>>()?;
    if let Some(bad) = z.iter().find(|v| !v.is_finite()) {
        return Err(Error::Config(format!("--z0: {bad} is not a finite number")));
    }
    if z.len() != dim {
        return Err(Error::Config(format!(
            "--z0 has {} numbers; this model's state has {dim} (q first, then p)",
            z.len()
        )));
    }
    Ok(z)
}

/// `points` output times from 0 to `t_end`.
/// The most output times `hnn rollout --points` takes.
const MAX_POINTS: usize = 10_000_000;

fn output_times(t_end: f64, points: usize) -> Result<Vec<f64>> {
    if points < 2 || t_end.is_nan() || t_end <= 0.0 || t_end.is_infinite() {
        return Err(Error::Config(format!(
            "--points must be ≥ 2 and --t-end positive (rollouts run forward from t = 0), got {points} and {t_end}"
        )));
    }
    if points > MAX_POINTS {
        return Err(Error::Config(format!(
            "--points {points} is more than {MAX_POINTS} output times (each holds the whole state)"
        )));
    }
    Ok((0..points).map(|i| t_end * i as f64 / (points - 1) as f64).collect())
}

/// `hnn rollout` on a pixel checkpoint: CSV of the latent rollout beside the exact pendulum,
/// optionally its frames as a GIF or strip.
fn pixel_rollout_cmd(
    ckpt: &Path,
    z0: &str,
    t_end: f64,
    points: usize,
    method: Option<String>,
    dt: Option<f64>,
    frames: Option<&Path>,
) -> Result<()> {
    let stored = hnn_pixels::experiment::load_checkpoint(ckpt, &Device::Cpu, None)?;
    let z = parse_state(z0, 2)?;
    let times = output_times(t_end, points)?;
    let eval = &stored.experiment.eval;
    // The latent state is in the model's precision (f32 by default), where an adaptive method's
    // 1e-9 tolerance is out of reach: fixed steps, as in evaluation.
    let method = method.unwrap_or_else(|| eval.method.clone());
    let kind = method.parse::<hnn_core::IntegratorKind>().map_err(|e| {
        Error::Config(format!("--method: pixel rollouts take a fixed-step integrator (as eval.method): {e}"))
    })?;
    let solver = hnn_core::Solver::Fixed { integrator: kind.build(), dt: dt.unwrap_or(eval.dt) };
    let r = hnn_pixels::rollout::rollout_from_state(&stored, [z[0], z[1]], &times, &solver)?;
    if let Some(path) = frames {
        let size = stored.experiment.data.renderer.size;
        let rows = [r.truth.clone(), r.decoded.clone()];
        match path.extension().and_then(|e| e.to_str()) {
            Some("gif") => hnn_pixels::frames::write_gif(path, &rows, size, times.len(), 50)?,
            Some("png") => {
                let cols: Vec<usize> = (0..times.len()).step_by(times.len().div_ceil(20)).collect();
                hnn_pixels::frames::write_strip(path, &rows, size, &cols)?
            }
            _ => return Err(Error::Config(format!("--frames {}: use a .gif or .png name", path.display()))),
        }
    }
    println!("t,z_q,z_p,H,theta,p,frame_mse");
    for (k, t) in times.iter().enumerate() {
        let h = r.energy.as_ref().map_or(f64::NAN, |e| e[k]);
        let (z, s) = (r.latent[k], r.states[k]);
        println!("{t},{},{},{h},{},{},{}", z[0], z[1], s[0], s[1], r.frame_mse[k]);
    }
    Ok(())
}

fn rollout_cmd(ckpt: &Path, z0: &str, t_end: f64, points: usize, method: &str, dt: f64) -> Result<()> {
    let (state, _) = checkpoint::load(ckpt, &Device::Cpu, Some(DType::F64), None)?;
    let z = parse_state(z0, 2 * state.spec.dof)?;
    let times = output_times(t_end, points)?;
    let solver = hnn_train::eval::solver_named(method, dt, 1e-9, 1e-9)?;
    let z0 = Tensor::from_vec(z.clone(), (1, z.len()), &Device::Cpu)?;
    let (traj, energy) = state.rollout(&z0, &times, &solver)?;
    let rows = traj.squeeze(1)?.to_vec2::<f64>()?;
    let e = match energy {
        Some(e) => e.squeeze(1)?.to_vec1::<f64>()?,
        None => vec![f64::NAN; rows.len()],
    };
    let n = z.len() / 2;
    let header: Vec<String> = (0..n).map(|i| format!("q{i}")).chain((0..n).map(|i| format!("p{i}"))).collect();
    println!("t,{},H", header.join(","));
    for ((t, r), e) in times.iter().zip(&rows).zip(e) {
        let cols: Vec<String> = r.iter().map(|v| format!("{v}")).collect();
        println!("{t},{},{e}", cols.join(","));
    }
    Ok(())
}

/// `hnn list`.
fn list() {
    println!("Experiments (hnn exp NAME; a local experiments/NAME.toml overrides the built-in one):");
    for (name, text) in crate::experiments::BUILTIN {
        let local = crate::experiments::local(name).map(|p| format!("  [local: {}]", p.display())).unwrap_or_default();
        println!("  {name:<24} {}{local}", crate::experiments::summary(text));
    }
    println!("\nModel kinds (--model, model.kinds):");
    for kind in ModelKind::all() {
        println!("  {:<24} {}", kind.name(), kind.family().summary());
    }
    println!("\nSystems ([data.task.system] kind):");
    for (name, formula) in hnn_systems::System::KINDS {
        println!("  {name:<24} {formula}");
    }
    println!("\nIntegrators (fixed step; adaptive: dopri5, dop853):");
    let names: Vec<&str> = hnn_core::IntegratorKind::ALL.iter().map(|(_, n)| *n).collect();
    println!("  {}", names.join(", "));
}
