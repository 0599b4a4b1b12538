//! Running an experiment: for every seed, data and evaluation set, every model trained (the
//! seeds' models as one ensemble on the CPU), evaluated, and written with its plots.

use super::config::ExperimentConfig;
use super::metrics::{ModelRun, RunMetrics, RunSetup};
use super::plots::{draw_plots, draw_thermostat};
use crate::device::{check_precision, device_name, select_device, DeviceChoice, Precision};
use crate::error::{Error, Result};
use crate::eval::{evaluate, EvalSet, Rollouts};
use crate::model::{ModelKind, ModelState};
use crate::thermostat::{Samples, ThermostatResult};
use crate::training::{train_ensemble, RunContext, TrainData, TrainReport};
use hnn_systems::Dataset;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// How to run an experiment.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Seeds, one run each.
    pub seeds: Vec<u64>,
    /// Device.
    pub device: DeviceChoice,
    /// Precision.
    pub precision: Precision,
    /// Override of train.steps.
    pub steps: Option<usize>,
    /// Output root (runs/).
    pub out: PathBuf,
    /// Override of the data file path.
    pub data_path: Option<PathBuf>,
    /// Progress bars.
    pub progress: bool,
    /// Draw plots.
    pub plots: bool,
    /// Train the models of every seed as one ensemble (CPU only; see
    /// [`train_ensemble`]): the same results as one seed after another, in less time. Off:
    /// seed after seed.
    pub ensemble: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            seeds: vec![0],
            device: DeviceChoice::Auto,
            precision: Precision::F32,
            steps: None,
            out: PathBuf::from("runs"),
            data_path: None,
            progress: false,
            plots: true,
            ensemble: true,
        }
    }
}

/// The seed of a model's initialisation and data sampler within a run.
pub fn model_seed(seed: u64, kind: ModelKind) -> u64 {
    seed.wrapping_mul(1000).wrapping_add(kind.family().seed_offset())
}

/// Runs an experiment for every seed; returns the metrics of each run.
///
/// On the CPU with [`RunOptions::ensemble`] (the default) every model of every seed trains in
/// one ensemble ([`train_ensemble`]; up to [`ENSEMBLE_SEEDS`] seeds and [`ENSEMBLE_DATA_BYTES`]
/// of data each, then the next ensemble): each ends bit for bit as it would alone, and a model
/// that diverges stops alone; the seeds whose models all trained are evaluated and written, and
/// the failures are reported together at the end.
pub fn run(cfg: &ExperimentConfig, opts: &RunOptions) -> Result<Vec<RunMetrics>> {
    let mut cfg = cfg.clone();
    if let Some(steps) = opts.steps {
        cfg.train.steps = steps;
        cfg.validate()?;
    }
    let device = select_device(opts.device)?;
    check_precision(&device, opts.precision)?;
    let together = opts.ensemble && device.is_cpu();
    let mut all = vec![];
    let mut failed: Vec<(u64, Error)> = vec![];
    let mut seeds = opts.seeds.iter().copied().peekable();
    while seeds.peek().is_some() {
        // Seeds join an ensemble while it is small enough: memory stays bounded however many
        // seeds are asked for.
        let mut group: Vec<SeedRun> = vec![];
        let mut bytes = 0;
        while let Some(seed) = seeds
            .next_if(|_| group.is_empty() || (together && group.len() < ENSEMBLE_SEEDS && bytes < ENSEMBLE_DATA_BYTES))
        {
            let run = prepare_seed(&cfg, opts, &device, seed)?;
            bytes += run.data_bytes();
            group.push(run);
        }
        let seeds_of_group: Vec<u64> = group.iter().map(|r| r.seed).collect();
        for (seed, outcome) in seeds_of_group.into_iter().zip(run_group(&cfg, opts, &device, group)?) {
            match outcome {
                Ok(metrics) => all.push(metrics),
                Err(e) => failed.push((seed, e)),
            }
        }
    }
    if failed.is_empty() {
        return Ok(all);
    }
    if opts.seeds.len() == 1 {
        return Err(failed.pop().expect("one failure").1);
    }
    let written: Vec<String> = all.iter().map(|m| m.seed.to_string()).collect();
    let reasons: Vec<String> = failed.iter().map(|(seed, e)| format!("seed {seed}: {e}")).collect();
    Err(Error::Seeds(format!(
        "{} of {} seeds failed ({}); the results of seeds [{}] are written",
        failed.len(),
        opts.seeds.len(),
        reasons.join("; "),
        written.join(", ")
    )))
}

/// Seeds per ensemble, at most (with the default HNN and baseline, 32 models).
pub const ENSEMBLE_SEEDS: usize = 16;

/// Bytes of data per ensemble past which no further seed joins it (each seed holds its own).
pub const ENSEMBLE_DATA_BYTES: usize = 1 << 30;

/// One seed's data, evaluation set and output folder.
struct SeedRun {
    seed: u64,
    dir: PathBuf,
    ds: Dataset,
    set: EvalSet,
    data: TrainData,
    started: std::time::Instant,
    /// How many models train together with this seed's (set once the group is known).
    ensemble_models: usize,
}

/// Runs `seeds`, all their models trained as one ensemble (with [`RunOptions::ensemble`], else
/// one after another); one outcome per seed.
fn run_group(
    cfg: &ExperimentConfig,
    opts: &RunOptions,
    device: &candle_core::Device,
    mut runs: Vec<SeedRun>,
) -> Result<Vec<Result<RunMetrics>>> {
    let seeds: Vec<u64> = runs.iter().map(|r| r.seed).collect();
    if opts.ensemble {
        let models = runs.len() * cfg.model.kinds.len();
        runs.iter_mut().for_each(|r| r.ensemble_models = models);
    }
    let dtype = opts.precision.dtype();
    let mut states = vec![];
    let mut ctxs = vec![];
    for run in &runs {
        for &kind in &cfg.model.kinds {
            let mseed = model_seed(run.seed, kind);
            states.push(ModelState::new(cfg.model_spec(kind, run.ds.meta.dof), dtype, device, mseed)?);
            ctxs.push(RunContext {
                seed: mseed,
                checkpoint: Some(run.dir.join(format!("{}.safetensors", kind.name()))),
                info: cfg.training_info(&run.ds, mseed),
                progress: opts.progress,
                label: format!("{} {}", cfg.name, kind.name()),
                stop: None,
            });
        }
    }
    let kinds = cfg.model.kinds.len();
    tracing::info!(experiment = %cfg.name, seeds = ?seeds, models = states.len(), steps = cfg.train.steps, "training");
    let data: Vec<&TrainData> = runs.iter().flat_map(|r| std::iter::repeat_n(&r.data, kinds)).collect();
    let members: Vec<&ModelState> = states.iter().collect();
    let mut reports = if opts.ensemble {
        train_ensemble(&members, &data, &cfg.train, &ctxs, &vec![None; members.len()])?
    } else {
        let mut reports = vec![];
        for i in 0..members.len() {
            let alone = (&members[i..=i], &data[i..=i], &ctxs[i..=i]);
            reports.extend(train_ensemble(alone.0, alone.1, &cfg.train, alone.2, &[None])?);
        }
        reports
    }
    .into_iter();
    let mut states = states.into_iter();
    let mut outcomes = vec![];
    for run in &runs {
        let trained: Vec<(ModelKind, ModelState, Result<TrainReport>)> = cfg
            .model
            .kinds
            .iter()
            .map(|&kind| (kind, states.next().expect("one per model"), reports.next().expect("one per model")))
            .collect();
        let outcome = finish_seed(cfg, opts, device, run, trained);
        if let Err(e) = &outcome {
            tracing::error!(experiment = %cfg.name, seed = run.seed, "{e}");
        }
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

impl SeedRun {
    /// Bytes held by the seed's dataset and its training copy.
    fn data_bytes(&self) -> usize {
        let split = |s: &hnn_systems::Split| [&s.z, &s.dz].map(|t| t.elem_count() * t.dtype().size_in_bytes());
        let own: usize = split(&self.ds.train).iter().chain(&split(&self.ds.test)).sum();
        own + self.data.bytes()
    }
}

/// Loads a seed's data and builds its evaluation set.
fn prepare_seed(cfg: &ExperimentConfig, opts: &RunOptions, device: &candle_core::Device, seed: u64) -> Result<SeedRun> {
    let started = std::time::Instant::now();
    let dir = opts.out.join(&cfg.name).join(seed.to_string());
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let dtype = opts.precision.dtype();
    tracing::info!(experiment = %cfg.name, seed, device = device_name(device), "data");
    let ds = cfg.data.load(seed, opts.data_path.as_deref())?;
    if ds.test.is_empty() {
        return Err(Error::Config(format!(
            "the data split into {} training and 0 test samples: an experiment reports the test loss, so it needs \
             held-out data (more samples, or a larger test fraction)",
            ds.train.len()
        )));
    }
    let truth = cfg.eval.truth.clone().or_else(|| cfg.data.truth()).expect("validated");
    let set = EvalSet::new(&cfg.eval, truth, cfg.data.sampler(), &ds, seed)?;
    let data = TrainData::new(&ds, &cfg.train.objective, dtype, device)?;
    Ok(SeedRun { seed, dir, ds, set, data, started, ensemble_models: 1 })
}

/// Evaluates a seed's trained models and writes its metrics and plots; the first model that
/// failed to train fails the seed.
fn finish_seed(
    cfg: &ExperimentConfig,
    opts: &RunOptions,
    device: &candle_core::Device,
    run: &SeedRun,
    trained: Vec<(ModelKind, ModelState, Result<TrainReport>)>,
) -> Result<RunMetrics> {
    let SeedRun { seed, dir, ds, set, data, started, .. } = run;
    let (seed, dir, set) = (*seed, dir.as_path(), set);
    let mut models = BTreeMap::new();
    let mut reports: Vec<(ModelKind, TrainReport, Rollouts)> = vec![];
    let mut recording: Vec<(ModelKind, crate::paper::RecordingEnergy)> = vec![];
    let mut thermostat_samples: Vec<(ModelKind, Vec<(ThermostatResult, Samples)>)> = vec![];
    for (kind, state, report) in trained {
        let report = report.map_err(|e| match e {
            Error::Diverged { .. } => e,
            e => e.context(format!("training the `{}` model", kind.name())),
        })?;
        let (metrics, rollouts) =
            evaluate(&state, &cfg.train.objective, data, set, &cfg.eval).map_err(|e| match e {
                Error::Evaluation(_) => e,
                e => e.context(format!("evaluating the `{}` model", kind.name())),
            })?;
        tracing::info!(
            model = kind.name(),
            train_loss = metrics.train_loss.mean,
            test_loss = metrics.test_loss.mean,
            energy_mse = metrics.energy_mse.mean,
            seconds = report.seconds,
            "evaluated"
        );
        let mut metrics = metrics;
        if let Some(tc) = &cfg.thermostat {
            let model = state.frozen(candle_core::DType::F64, &candle_core::Device::Cpu)?;
            match hnn_core::VectorField::hamiltonian(&model).filter(|h| h.is_separable()) {
                Some(h) => {
                    tracing::info!(model = kind.name(), "thermostat");
                    let truth = hnn_systems::system::SystemHamiltonian(set.system.hamiltonian());
                    let runs =
                        crate::thermostat::compare(tc, h, candle_core::DType::F64, &truth, &truth, seed ^ 0x7e4a_0057)?;
                    metrics.thermostat = Some(runs.iter().map(|(r, _)| *r).collect());
                    thermostat_samples.push((kind, runs));
                }
                None => tracing::info!(model = kind.name(), "no separable Hamiltonian: no thermostat run"),
            }
        }
        if let Some(paper) = &set.paper {
            let model = state.frozen(candle_core::DType::F32, &candle_core::Device::Cpu)?;
            if let Some(curve) = paper.recording_energy(&model)? {
                recording.push((kind, curve));
            }
        }
        models.insert(kind.name().to_string(), ModelRun::new(metrics, &report).in_ensemble(run.ensemble_models));
        reports.push((kind, report, rollouts));
    }
    if opts.plots {
        if let Err(e) = draw_thermostat(dir, cfg, set, &thermostat_samples) {
            tracing::warn!("thermostat plots not drawn: {e}");
        }
        if let Err(e) = draw_plots(dir, cfg, set, &reports, &recording) {
            tracing::warn!("plots not drawn: {e}");
        }
    }
    let setup = RunSetup {
        experiment: &cfg.name,
        seed,
        device,
        opts,
        steps: cfg.train.steps,
        samples: (ds.train.len(), ds.test.len()),
        started: *started,
    };
    RunMetrics::write(setup, models, dir, &cfg.to_toml())
}
