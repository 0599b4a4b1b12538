//! Training: gradient matching and trajectory matching, with mini-batches, Adam/AdamW, a
//! learning-rate schedule, gradient clipping, optional input noise, periodic test loss,
//! atomic checkpoints, a stop with a clear error on NaN/Inf, and exact resumption; for one
//! model ([`train`], [`train_loop`]) or an ensemble of many in lockstep ([`train_ensemble`]),
//! through one loop.

use crate::checkpoint::{self, ResumeInfo, TrainingInfo};
use crate::error::{Error, Result};
use crate::model::state::all_finite;
use crate::model::ModelState;
use crate::optim::{Gradients, Optimizer, OptimizerKind};
use crate::progress::Progress;
use candle_core::{DType, Device, Tensor, Var};
use hnn_core::{exec, Integrator, IntegratorKind, VectorField};
use hnn_systems::{Dataset, Split};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What the loss compares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum Objective {
    /// Gradient matching: mean ‖ż − f(z)‖² over samples and components.
    #[default]
    Gradient,
    /// Trajectory matching: from each observed z(t_{k−1}), integrate `substeps` steps of
    /// `integrator` across the sampling interval and fit z(t_k); gradients flow through every step.
    Trajectory {
        /// The integrator (by name in configs: `leapfrog`, `rk4`, `implicit_midpoint`, ...).
        integrator: IntegratorKind,
        /// Integrator steps per sampling interval.
        substeps: usize,
        /// How gradients flow back through the steps.
        #[serde(default)]
        backprop: Backprop,
    },
}

/// How trajectory matching backpropagates through its integrator steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum Backprop {
    /// Through the stored graph of every step (any integrator; memory grows with the steps).
    #[default]
    Stored,
    /// By running a time-reversible integrator (leapfrog, yoshida4) backwards, one step's graph
    /// at a time: memory flat in the number of steps (`hnn_core::integrators::reversible`).
    Reversible,
}

/// Learning-rate schedule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Schedule {
    /// Constant learning rate (the reference).
    #[default]
    Constant,
    /// Cosine decay from the learning rate to `final_fraction` of it at the last step.
    Cosine { final_fraction: f64 },
}

impl Schedule {
    /// The learning rate at `step` (1-based) of `total`.
    pub fn rate(&self, base: f64, step: usize, total: usize) -> f64 {
        match *self {
            Schedule::Constant => base,
            Schedule::Cosine { final_fraction } => {
                let progress = (step.saturating_sub(1)) as f64 / (total.max(2) - 1) as f64;
                let cos = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
                base * (final_fraction + (1.0 - final_fraction) * cos)
            }
        }
    }
}

fn default_lr() -> f64 {
    1e-3
}
fn default_eval_every() -> usize {
    100
}

/// Training settings (the `[train]` table of an experiment).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Gradient or trajectory matching.
    #[serde(default)]
    pub objective: Objective,
    /// Optimizer steps.
    pub steps: usize,
    /// Samples per step; 0 = the full training set every step.
    #[serde(default)]
    pub batch_size: usize,
    /// Adam (coupled L2, the reference) or AdamW.
    #[serde(default)]
    pub optimizer: OptimizerKind,
    /// Learning rate.
    #[serde(default = "default_lr")]
    pub learning_rate: f64,
    /// Weight decay.
    #[serde(default)]
    pub weight_decay: f64,
    /// Learning-rate schedule.
    #[serde(default)]
    pub schedule: Schedule,
    /// Clip the global gradient norm to this value.
    #[serde(default)]
    pub grad_clip: Option<f64>,
    /// Std of Gaussian noise added to the input states each step.
    #[serde(default)]
    pub input_noise: f64,
    /// Evaluate the test loss every this many steps (and at the end).
    #[serde(default = "default_eval_every")]
    pub eval_every: usize,
    /// Write a checkpoint every this many steps (0: only at the end).
    #[serde(default)]
    pub checkpoint_every: usize,
}

impl TrainConfig {
    /// Checks every field, naming the wrong one.
    pub fn validate(&self) -> Result<()> {
        let fail = |m: String| Err(Error::Config(m));
        if self.steps == 0 {
            return fail("train.steps must be at least 1".into());
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return fail(format!("train.learning_rate must be positive, got {}", self.learning_rate));
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return fail(format!("train.weight_decay must be ≥ 0, got {}", self.weight_decay));
        }
        if let Some(c) = self.grad_clip {
            if !(c > 0.0 && c.is_finite()) {
                return fail(format!("train.grad_clip must be positive, got {c}"));
            }
        }
        if !(self.input_noise >= 0.0 && self.input_noise.is_finite()) {
            return fail(format!("train.input_noise must be ≥ 0, got {}", self.input_noise));
        }
        if self.eval_every == 0 {
            return fail("train.eval_every must be at least 1".into());
        }
        if let Schedule::Cosine { final_fraction } = self.schedule {
            if !(0.0..=1.0).contains(&final_fraction) {
                return fail(format!("train.schedule.final_fraction must be in [0, 1], got {final_fraction}"));
            }
        }
        if let Objective::Trajectory { substeps, integrator, backprop } = &self.objective {
            if *backprop == Backprop::Reversible && !integrator.build().is_time_reversible() {
                return fail(format!(
                    "train.objective.backprop = \"reversible\" needs a time-reversible integrator (leapfrog, \
                     yoshida4), not {}",
                    integrator.name()
                ));
            }
            if *substeps == 0 {
                return fail("train.objective.substeps must be at least 1".into());
            }
        }
        Ok(())
    }
}

/// Pairs of consecutive observed states, `interval` apart.
#[derive(Debug, Clone)]
pub struct Transitions {
    /// States at t_{k−1}.
    pub start: Tensor,
    /// States at t_k.
    pub end: Tensor,
}

/// Training data, on the training device and dtype.
#[derive(Debug, Clone)]
pub enum TrainData {
    /// (z, ż) pairs for gradient matching.
    Derivatives { train: Split, test: Split },
    /// State transitions for trajectory matching.
    Transitions { train: Transitions, test: Transitions, interval: f64 },
}

fn transitions(split: &Split, length: usize, dtype: DType, device: &Device) -> Result<Transitions> {
    let (n, width) = split.z.dims2()?;
    if n % length != 0 {
        return Err(Error::Config(format!("{n} samples are not whole trajectories of {length} points")));
    }
    if length < 2 {
        return Err(Error::Config(format!(
            "trajectories of {length} point make no transitions: trajectory matching needs at least 2"
        )));
    }
    if n == 0 {
        // candle's strided copy of an empty narrowed view panics: build the empty split directly.
        let empty = Tensor::zeros((0, width), dtype, device)?;
        return Ok(Transitions { start: empty.clone(), end: empty });
    }
    let z = split.z.reshape((n / length, length, width))?;
    let flat = |t: Tensor| -> Result<Tensor> {
        Ok(t.reshape(((n / length) * (length - 1), width))?.to_dtype(dtype)?.to_device(device)?)
    };
    Ok(Transitions { start: flat(z.narrow(1, 0, length - 1)?)?, end: flat(z.narrow(1, 1, length - 1)?)? })
}

impl TrainData {
    /// Prepares a dataset for an objective.
    pub fn new(ds: &Dataset, objective: &Objective, dtype: DType, device: &Device) -> Result<Self> {
        if ds.train.is_empty() {
            return Err(Error::Config(format!(
                "the training set is empty ({} training and {} test samples): nothing to fit",
                ds.train.len(),
                ds.test.len()
            )));
        }
        match objective {
            Objective::Gradient => {
                Ok(TrainData::Derivatives { train: ds.train.to(dtype, device)?, test: ds.test.to(dtype, device)? })
            }
            Objective::Trajectory { .. } => {
                let (Some(length), Some(dt)) = (ds.meta.trajectory_length, ds.meta.dt) else {
                    return Err(Error::Config(
                        "trajectory matching needs data made of whole evenly sampled trajectories (generated data)"
                            .into(),
                    ));
                };
                Ok(TrainData::Transitions {
                    train: transitions(&ds.train, length, dtype, device)?,
                    test: transitions(&ds.test, length, dtype, device)?,
                    interval: dt,
                })
            }
        }
    }

    fn train_len(&self) -> usize {
        match self {
            TrainData::Derivatives { train, .. } => train.len(),
            TrainData::Transitions { train, .. } => train.start.dims()[0],
        }
    }
}

/// The loss of a field on inputs/targets under an objective.
pub struct Loss {
    integrator: Option<(Box<dyn Integrator>, f64, usize)>,
    backprop: Backprop,
}

impl Loss {
    /// The loss for an objective on data with the given sampling interval.
    pub fn new(objective: &Objective, data: &TrainData) -> Result<Self> {
        Ok(match (objective, data) {
            (Objective::Gradient, TrainData::Derivatives { .. }) => {
                Loss { integrator: None, backprop: Backprop::Stored }
            }
            (Objective::Trajectory { integrator, substeps, backprop }, TrainData::Transitions { interval, .. }) => {
                Loss {
                    integrator: Some((integrator.build(), interval / *substeps as f64, *substeps)),
                    backprop: *backprop,
                }
            }
            _ => return Err(Error::Config("objective and data do not match".into())),
        })
    }

    /// Mean squared error of the prediction from `input` against `target`.
    pub fn compute(&self, field: &dyn VectorField, input: &Tensor, target: &Tensor) -> Result<Tensor> {
        let prediction = match &self.integrator {
            None => field.time_derivatives(input)?,
            Some((integrator, dt, steps)) => integrator.propagate(field, input, *dt, *steps)?,
        };
        Ok((prediction - target)?.sqr()?.mean_all()?)
    }

    /// The loss on a whole split, evaluated in chunks (no gradients kept).
    pub fn full(&self, field: &dyn VectorField, input: &Tensor, target: &Tensor) -> Result<f64> {
        let n = input.dims()[0];
        if n == 0 {
            return Ok(f64::NAN);
        }
        let chunk = 8192;
        let mut total = 0.0;
        let mut start = 0;
        while start < n {
            let len = chunk.min(n - start);
            let l = self.compute(field, &input.narrow(0, start, len)?, &target.narrow(0, start, len)?)?;
            total += l.to_dtype(DType::F64)?.to_scalar::<f64>()? * len as f64;
            start += len;
        }
        Ok(total / n as f64)
    }
}

/// Where and how a run writes, and what it records.
#[derive(Debug, Clone, Default)]
pub struct RunContext {
    /// Seed of the data sampler (and of the initialisation, done by the caller).
    pub seed: u64,
    /// Checkpoint path; `None` writes nothing.
    pub checkpoint: Option<PathBuf>,
    /// What the checkpoint metadata records.
    pub info: TrainingInfo,
    /// Show a progress bar.
    pub progress: bool,
    /// Label for logs and the progress bar.
    pub label: String,
}

/// What a training run did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TrainReport {
    /// Training (mini-batch) loss of every step.
    pub train_curve: Vec<f64>,
    /// (step, full test loss) at each evaluation.
    pub test_curve: Vec<(usize, f64)>,
    /// Steps taken in this call (excluding resumed ones).
    pub steps_run: usize,
    /// Wall time of this call's steps, seconds.
    pub seconds: f64,
}

impl TrainReport {
    /// Steps per second in this call.
    pub fn steps_per_second(&self) -> f64 {
        self.steps_run as f64 / self.seconds.max(1e-9)
    }
}

/// What the training loop optimizes: the state-space models ([`FieldTrainer`]) and the pixel
/// model implement it, so they share the loop, checkpoints, resumption and NaN handling.
pub trait Trainable {
    /// The trainable variables, sorted by name.
    fn vars(&self) -> Vec<(String, Var)>;
    /// Loss of one mini-batch of `batch_size` samples (0: all), drawn with `rng`, with Gaussian
    /// input noise of std `input_noise`, and its gradients.
    fn batch_gradients(&self, batch_size: usize, input_noise: f64, rng: &mut ChaCha8Rng) -> Result<(f64, Gradients)>;
    /// Loss on the held-out data (NaN when there is none).
    fn test_loss(&self) -> Result<f64>;
    /// Writes the weights with their metadata.
    fn save(&self, info: &TrainingInfo, path: &Path) -> Result<()>;
}

/// A [`ModelState`] with its data and objective, as a [`Trainable`].
pub struct FieldTrainer<'a> {
    state: &'a ModelState,
    data: &'a TrainData,
    loss: Loss,
}

impl<'a> FieldTrainer<'a> {
    /// Pairs a model with data under an objective.
    pub fn new(state: &'a ModelState, data: &'a TrainData, objective: &Objective) -> Result<Self> {
        Ok(Self { state, data, loss: Loss::new(objective, data)? })
    }
}

impl FieldTrainer<'_> {
    /// Whether the execution layer computes training steps with a kernel (no autograd graph).
    pub fn is_fused(&self) -> bool {
        let TrainData::Derivatives { train, .. } = self.data else { return false };
        self.loss.integrator.is_none()
            && !train.is_empty()
            && hnn_core::exec::has_matching_kernel(self.state.model.network(), train.z.dtype())
    }

    /// One mini-batch (input, target) of `batch_size` samples (0: all) drawn with `rng`, with
    /// Gaussian input noise of std `input_noise`.
    fn draw(&self, batch_size: usize, input_noise: f64, rng: &mut ChaCha8Rng) -> Result<(Tensor, Tensor)> {
        let full = batch_size == 0 || batch_size >= self.data.train_len();
        let (input, target) = batch(self.data, batch_size, full, rng)?;
        let input = if input_noise > 0.0 { add_noise(&input, input_noise, rng)? } else { input };
        Ok((input, target))
    }

    /// The loss of a drawn batch and its gradients, by the fastest route the execution layer has.
    fn gradients(&self, input: &Tensor, target: &Tensor) -> Result<(f64, Gradients)> {
        if self.loss.integrator.is_none() {
            let model = &self.state.model;
            return Gradients::of_matching(exec::matching_loss(model, model.network(), input, target)?);
        }
        if let (Some((integrator, dt, steps)), Backprop::Reversible) = (&self.loss.integrator, self.loss.backprop) {
            let params: Vec<Var> = self.state.named_vars().into_iter().map(|(_, v)| v).collect();
            let r = hnn_core::integrators::reversible::matching_gradients(
                integrator.as_ref(),
                &self.state.model,
                &params,
                input,
                target,
                *dt,
                *steps,
            )?;
            let grads = r.params.into_iter().map(|(p, g)| (p.id(), g)).collect();
            return Ok((r.loss, Gradients::Direct(grads)));
        }
        Gradients::backward(&self.loss.compute(&self.state.model, input, target)?)
    }
}

impl Trainable for FieldTrainer<'_> {
    fn vars(&self) -> Vec<(String, Var)> {
        self.state.named_vars()
    }
    fn batch_gradients(&self, batch_size: usize, input_noise: f64, rng: &mut ChaCha8Rng) -> Result<(f64, Gradients)> {
        let (input, target) = self.draw(batch_size, input_noise, rng)?;
        self.gradients(&input, &target)
    }
    fn test_loss(&self) -> Result<f64> {
        if test_len(self.data) == 0 {
            return Ok(f64::NAN);
        }
        // A detached copy: no autograd graph is recorded, and on the CPU the fused inference
        // kernel evaluates it.
        let frozen = self.state.frozen(self.state.dtype, &self.state.device)?;
        test_loss(&self.loss, &frozen, self.data)
    }
    fn save(&self, info: &TrainingInfo, path: &Path) -> Result<()> {
        checkpoint::save(self.state, info, path)
    }
}

/// Trains `state` in place. With `resume`, continues from that checkpoint's optimizer sidecar
/// (the caller has loaded its weights into `state`) and ends where an uninterrupted run would.
pub fn train(
    state: &ModelState,
    data: &TrainData,
    cfg: &TrainConfig,
    ctx: &RunContext,
    resume: Option<&Path>,
) -> Result<TrainReport> {
    cfg.validate()?;
    if FieldTrainer::new(state, data, &cfg.objective)?.is_fused() {
        // The fused kernel spreads each batch over rayon's threads itself.
        return train_loop(&FieldTrainer::new(state, data, &cfg.objective)?, cfg, ctx, resume);
    }
    let width = state.spec.hidden.iter().copied().max().unwrap_or(1);
    let rows = if cfg.batch_size == 0 { data.train_len() } else { cfg.batch_size.min(data.train_len()) };
    hnn_core::exec::threads::run_sized(&state.device, rows, width, || {
        train_loop(&FieldTrainer::new(state, data, &cfg.objective)?, cfg, ctx, resume)
    })
}

/// The training loop over any [`Trainable`].
pub fn train_loop(
    task: &dyn Trainable,
    cfg: &TrainConfig,
    ctx: &RunContext,
    resume: Option<&Path>,
) -> Result<TrainReport> {
    let mut gradients = |active: &mut [(usize, &mut ChaCha8Rng)]| {
        active.iter_mut().map(|(_, rng)| task.batch_gradients(cfg.batch_size, cfg.input_noise, rng)).collect()
    };
    let mut reports = lockstep(&[task], &mut gradients, cfg, std::slice::from_ref(ctx), &[resume], None, false)?;
    reports.pop().expect("one member")
}

/// Trains several models as one ensemble: the same settings, each model with its own data,
/// initialisation, sampler seed, checkpoint and resume point (`ctxs[i]`, `resumes[i]`), all
/// stepping in lockstep. Each step's gradients of every model that an MLP kernel computes come
/// from one call of [`exec::ensemble_gradient_matching`]; the others are computed side by side
/// on rayon's threads; the optimizer updates run side by side too.
///
/// Every member's weights, curves and checkpoints are bit for bit those of its own [`train`]
/// (same thread count; tested in f64 and f32), and an ensemble of one is [`train`]. A member
/// that diverges, or whose step fails, stops with its error in its slot while the others carry
/// on; the outer error is for settings that stop all (and for a resume point that cannot be
/// used, found before any step).
pub fn train_ensemble(
    states: &[&ModelState],
    data: &[&TrainData],
    cfg: &TrainConfig,
    ctxs: &[RunContext],
    resumes: &[Option<&Path>],
) -> Result<Vec<Result<TrainReport>>> {
    cfg.validate()?;
    let n = states.len();
    if data.len() != n || ctxs.len() != n || resumes.len() != n {
        return Err(Error::Config(format!(
            "an ensemble of {n} models needs as many datasets, run contexts and resume points, got {}, {} and {}",
            data.len(),
            ctxs.len(),
            resumes.len()
        )));
    }
    if n == 1 {
        // An ensemble of one is the single run, thread budget included.
        return Ok(vec![train(states[0], data[0], cfg, &ctxs[0], resumes[0])]);
    }
    let trainers: Vec<FieldTrainer<'_>> =
        states.iter().zip(data).map(|(s, d)| FieldTrainer::new(s, d, &cfg.objective)).collect::<Result<_>>()?;
    let tasks: Vec<&dyn Trainable> = trainers.iter().map(|t| t as &dyn Trainable).collect();
    // On other devices the members queue their kernels one after another.
    let cpu = states.iter().all(|s| s.device.is_cpu());
    // Models without a kernel build autograd graphs, deep ones for trajectory matching: their
    // workers get the large stack that `threads::run_sized` gives a single run.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(rayon::current_num_threads())
        .stack_size(hnn_core::exec::threads::STACK_BYTES)
        .build()
        .map_err(|e| Error::Config(format!("cannot start the ensemble's threads: {e}")))?;
    let mut gradients = |active: &mut [(usize, &mut ChaCha8Rng)]| -> Vec<Result<(f64, Gradients)>> {
        use rayon::prelude::*;
        // Each member draws with its own sampler: side by side, the same draws.
        let draw = |(i, rng): &mut (usize, &mut ChaCha8Rng)| trainers[*i].draw(cfg.batch_size, cfg.input_noise, rng);
        let batches: Vec<Result<(Tensor, Tensor)>> =
            if cpu { active.par_iter_mut().map(draw).collect() } else { active.iter_mut().map(draw).collect() };
        ensemble_gradients(&trainers, active, batches, cpu.then_some(&pool))
    };
    let bar = Some(Progress::new(ctxs.iter().any(|c| c.progress), &format!("{n} models"), cfg.steps, 0));
    lockstep(&tasks, &mut gradients, cfg, ctxs, resumes, bar, cpu)
}

/// The gradients of each active member's batch: members with a kernel in one
/// [`exec::ensemble_gradient_matching`] call, the others side by side in `pool` (one after
/// another without one).
fn ensemble_gradients(
    trainers: &[FieldTrainer<'_>],
    active: &[(usize, &mut ChaCha8Rng)],
    batches: Vec<Result<(Tensor, Tensor)>>,
    pool: Option<&rayon::ThreadPool>,
) -> Vec<Result<(f64, Gradients)>> {
    use rayon::prelude::*;
    let mut out: Vec<Option<Result<(f64, Gradients)>>> = (0..active.len()).map(|_| None).collect();
    // A failed draw is that member's answer, its error kept as it is.
    let batches: Vec<Option<(Tensor, Tensor)>> =
        batches.into_iter().enumerate().map(|(k, batch)| batch.map_err(|e| out[k] = Some(Err(e))).ok()).collect();
    let mut fused = vec![];
    for (k, ((i, _), batch)) in active.iter().zip(&batches).enumerate() {
        if let Some((input, target)) = batch {
            if trainers[*i].is_fused() {
                let network = trainers[*i].state.model.network().expect("a fused model is an MLP field");
                fused.push((k, (network, input, target)));
            }
        }
    }
    let members: Vec<_> = fused.iter().map(|(_, m)| *m).collect();
    match exec::ensemble_gradient_matching(&members) {
        Ok(Some(all)) => {
            for ((k, _), g) in fused.iter().zip(all) {
                out[*k] = Some(Ok(Gradients::fused(g)));
            }
        }
        Ok(None) => {} // Computed one by one below.
        Err(e) => {
            let message = e.to_string();
            for (k, _) in &fused {
                out[*k] = Some(Err(Error::Config(message.clone())));
            }
        }
    }
    let rest: Vec<usize> = (0..active.len()).filter(|k| out[*k].is_none()).collect();
    let one = |&k: &usize| {
        let (input, target) = batches[k].as_ref().expect("failed draws are answered above");
        trainers[active[k].0].gradients(input, target)
    };
    let computed: Vec<Result<(f64, Gradients)>> = match pool {
        Some(pool) => pool.install(|| rest.par_iter().map(one).collect()),
        None => rest.iter().map(one).collect(),
    };
    for (k, g) in rest.into_iter().zip(computed) {
        out[k] = Some(g);
    }
    out.into_iter().map(|g| g.expect("every member answered")).collect()
}

/// One model's run inside [`lockstep`]: what the optimizer update touches (moved to a rayon
/// thread each step) and the rest.
struct Member<'a> {
    task: &'a dyn Trainable,
    ctx: &'a RunContext,
    run: MemberRun,
    /// The first step this call takes (after a resume: the step after the checkpoint's).
    first: usize,
    bar: Progress,
    /// `Some` once the member has stopped: `Ok` at the last step, its error otherwise.
    outcome: Option<Result<()>>,
}

/// A member's optimizer, sampler and curves.
struct MemberRun {
    vars: Vec<(String, Var)>,
    opt: Optimizer,
    rng: ChaCha8Rng,
    report: TrainReport,
}

impl<'a> Member<'a> {
    /// A member at its first step: fresh, or continuing from `resume`'s optimizer sidecar.
    fn start(
        task: &'a dyn Trainable,
        cfg: &TrainConfig,
        ctx: &'a RunContext,
        resume: Option<&Path>,
        show_bar: bool,
    ) -> Result<Self> {
        if let Some(path) = &ctx.checkpoint {
            // Before any step: a checkpoint that cannot be written would leave its sidecar behind.
            if path.is_dir() {
                return Err(Error::checkpoint(
                    path,
                    "is a directory: give a file name for the checkpoint (e.g. DIR/hnn.safetensors)",
                ));
            }
        }
        let vars = task.vars();
        let mut opt = Optimizer::new(cfg.optimizer, vars.clone(), cfg.weight_decay);
        let mut rng = ChaCha8Rng::seed_from_u64(ctx.seed);
        let mut report = TrainReport::default();
        let mut first = 1;
        if let Some(path) = resume {
            let (tensors, info) = checkpoint::load_optimizer(path)?;
            if let Some(step) = checkpoint::stored_step(path)? {
                if step != info.step {
                    return Err(Error::checkpoint(
                        path,
                        format!(
                            "is at step {step} but its optimizer sidecar {} is at step {}: they are from different runs",
                            checkpoint::optimizer_path(path).display(),
                            info.step
                        ),
                    ));
                }
            }
            opt.load_state(tensors, info.step)?;
            rng.set_word_pos(info.rng_word_pos);
            report.train_curve = info.train_curve;
            report.test_curve = info.test_curve;
            first = info.step + 1;
            if info.step > cfg.steps {
                return Err(Error::Config(format!(
                    "checkpoint is at step {}, beyond train.steps = {}",
                    info.step, cfg.steps
                )));
            }
        }
        let bar = Progress::new(ctx.progress && show_bar, &ctx.label, cfg.steps, first - 1);
        Ok(Self { task, ctx, run: MemberRun { vars, opt, rng, report }, first, bar, outcome: None })
    }

    fn is_active(&self, step: usize) -> bool {
        self.outcome.is_none() && step >= self.first
    }

    /// The test loss and checkpoint after `step`, where due.
    fn after_update(&mut self, step: usize, value: f64, cfg: &TrainConfig) -> Result<()> {
        let run = &mut self.run;
        if step.is_multiple_of(cfg.eval_every) || step == cfg.steps {
            let test = self.task.test_loss()?;
            if test.is_infinite() {
                return Err(diverged(step, "the test loss", cfg));
            }
            run.report.test_curve.push((step, test));
            tracing::debug!(label = %self.ctx.label, step, train = value, test, "evaluation");
        }
        let last = step == cfg.steps;
        if let Some(path) = &self.ctx.checkpoint {
            if last || (cfg.checkpoint_every > 0 && step.is_multiple_of(cfg.checkpoint_every)) {
                if !all_finite(&run.vars)? {
                    return Err(diverged(step, "a weight", cfg));
                }
                save(self.task, &run.opt, &run.rng, &run.report, self.ctx, path, step)?;
            }
        }
        if step.is_multiple_of(10) || last {
            self.bar.update(step, || format!("loss {value:.3e}"));
        }
        Ok(())
    }
}

impl MemberRun {
    /// The optimizer update of `step` from a batch's loss `value` and gradients: a non-finite
    /// loss or gradient norm stops the member.
    fn update(&mut self, step: usize, value: f64, grads: &Gradients, cfg: &TrainConfig) -> Result<()> {
        if !value.is_finite() {
            return Err(diverged(step, "the training loss", cfg));
        }
        let scale = match cfg.grad_clip {
            Some(max) => {
                let norm = self.opt.grad_norm(grads)?;
                if !norm.is_finite() {
                    return Err(diverged(step, "the gradient norm", cfg));
                }
                if norm > max {
                    max / norm
                } else {
                    1.0
                }
            }
            None => 1.0,
        };
        self.opt.step(grads, cfg.schedule.rate(cfg.learning_rate, step, cfg.steps), scale)?;
        self.report.train_curve.push(value);
        self.report.steps_run += 1;
        Ok(())
    }
}

/// Given the active members (index, sampler), the (loss, gradients) of each one's next batch.
type StepGradients<'a> = dyn FnMut(&mut [(usize, &mut ChaCha8Rng)]) -> Vec<Result<(f64, Gradients)>> + 'a;

/// The one training loop: members step together, each with its own optimizer, sampler, curves,
/// checkpoint and resume point; `gradients` computes the (loss, gradients) of every active
/// member's next batch, given (member index, its sampler). A member whose step fails stops with
/// its error; the others go on. `bar`: one progress bar for all members (else one each);
/// `parallel`: the optimizer updates on rayon's threads (CPU variables).
fn lockstep(
    tasks: &[&dyn Trainable],
    gradients: &mut StepGradients<'_>,
    cfg: &TrainConfig,
    ctxs: &[RunContext],
    resumes: &[Option<&Path>],
    bar: Option<Progress>,
    parallel: bool,
) -> Result<Vec<Result<TrainReport>>> {
    use rayon::prelude::*;
    cfg.validate()?;
    let mut members: Vec<Member<'_>> = tasks
        .iter()
        .zip(ctxs)
        .zip(resumes)
        .map(|((task, ctx), resume)| Member::start(*task, cfg, ctx, *resume, bar.is_none()))
        .collect::<Result<_>>()?;
    let first = members.iter().map(|m| m.first).min().unwrap_or(1);
    let started = Instant::now();
    for step in first..=cfg.steps {
        let mut active: Vec<(usize, &mut ChaCha8Rng)> = members
            .iter_mut()
            .enumerate()
            .filter(|(_, m)| m.is_active(step))
            .map(|(i, m)| (i, &mut m.run.rng))
            .collect();
        if active.is_empty() {
            if members.iter().all(|m| m.outcome.is_some()) {
                break;
            }
            continue;
        }
        let order: Vec<usize> = active.iter().map(|(i, _)| *i).collect();
        let results = gradients(&mut active);
        drop(active);
        let mut stepping: Vec<(usize, f64, Gradients)> = vec![];
        for (i, result) in order.into_iter().zip(results) {
            match result {
                Ok((value, grads)) => stepping.push((i, value, grads)),
                Err(e) => members[i].outcome = Some(Err(e)),
            }
        }
        // The optimizer updates, side by side (elementwise: each member's bits do not depend on it).
        let mut runs: Vec<(usize, &mut MemberRun, f64, Gradients)> = vec![];
        let mut slots: Vec<Option<&mut Member<'_>>> = members.iter_mut().map(Some).collect();
        for (i, value, grads) in stepping {
            let m = slots[i].take().expect("each member once");
            runs.push((i, &mut m.run, value, grads));
        }
        let updated: Vec<(usize, f64, Result<()>)> = if !parallel || runs.len() == 1 {
            runs.into_iter().map(|(i, run, v, g)| (i, v, run.update(step, v, &g, cfg))).collect()
        } else {
            runs.into_par_iter().map(|(i, run, v, g)| (i, v, run.update(step, v, &g, cfg))).collect()
        };
        drop(slots);
        for (i, value, result) in updated {
            let member = &mut members[i];
            if let Err(e) = result.and_then(|()| member.after_update(step, value, cfg)) {
                member.outcome = Some(Err(e));
            } else if step == cfg.steps {
                member.outcome = Some(Ok(()));
            }
        }
        if let Some(bar) = &bar {
            if step.is_multiple_of(10) || step == cfg.steps {
                let live: Vec<f64> = members
                    .iter()
                    .filter(|m| !matches!(m.outcome, Some(Err(_))))
                    .filter_map(|m| m.run.report.train_curve.last().copied())
                    .collect();
                let mean = live.iter().sum::<f64>() / live.len().max(1) as f64;
                bar.update(step, || format!("mean loss {mean:.3e}, {} running", live.len()));
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    if let Some(bar) = &bar {
        bar.finish();
    }
    Ok(members
        .into_iter()
        .map(|m| {
            m.bar.finish();
            let MemberRun { mut report, .. } = m.run;
            report.seconds = seconds;
            match m.outcome {
                Some(Err(e)) => {
                    if tasks.len() > 1 {
                        tracing::warn!(label = %m.ctx.label, "stopped: {e}");
                    }
                    Err(e)
                }
                _ => Ok(report),
            }
        })
        .collect())
}

fn diverged(step: usize, what: &str, cfg: &TrainConfig) -> Error {
    let hint = if cfg.grad_clip.is_none() {
        "; try a lower learning rate or train.grad_clip"
    } else {
        "; try a lower learning rate"
    };
    Error::Diverged { step, what: what.into(), hint: hint.into() }
}

/// `size` distinct indices out of `n`, drawn with `rng` (all of them, in order, if size ≥ n).
pub fn sample_indices(n: usize, size: usize, rng: &mut ChaCha8Rng) -> Vec<u32> {
    let mut idx: Vec<u32> = (0..n as u32).collect();
    if size >= n {
        return idx;
    }
    let (chosen, _) = rand::seq::SliceRandom::partial_shuffle(idx.as_mut_slice(), rng, size);
    chosen.to_vec()
}

fn batch(data: &TrainData, size: usize, full: bool, rng: &mut ChaCha8Rng) -> Result<(Tensor, Tensor)> {
    let (input, target) = match data {
        TrainData::Derivatives { train, .. } => (&train.z, &train.dz),
        TrainData::Transitions { train, .. } => (&train.start, &train.end),
    };
    if full {
        return Ok((input.clone(), target.clone()));
    }
    let chosen = sample_indices(input.dims()[0], size, rng);
    let idx = Tensor::from_slice(&chosen, chosen.len(), input.device())?;
    Ok((input.index_select(&idx, 0)?, target.index_select(&idx, 0)?))
}

fn add_noise(input: &Tensor, std: f64, rng: &mut ChaCha8Rng) -> Result<Tensor> {
    let noise: Vec<f64> = (0..input.elem_count()).map(|_| std * rng.sample::<f64, _>(StandardNormal)).collect();
    let noise =
        Tensor::from_vec(noise, input.dims(), &Device::Cpu)?.to_dtype(input.dtype())?.to_device(input.device())?;
    Ok((input + noise)?)
}

fn test_len(data: &TrainData) -> usize {
    match data {
        TrainData::Derivatives { test, .. } => test.len(),
        TrainData::Transitions { test, .. } => test.start.dims()[0],
    }
}

fn test_loss(loss: &Loss, field: &dyn VectorField, data: &TrainData) -> Result<f64> {
    match data {
        TrainData::Derivatives { test, .. } => loss.full(field, &test.z, &test.dz),
        TrainData::Transitions { test, .. } => loss.full(field, &test.start, &test.end),
    }
}

fn save(
    task: &dyn Trainable,
    opt: &Optimizer,
    rng: &ChaCha8Rng,
    report: &TrainReport,
    ctx: &RunContext,
    path: &Path,
    step: usize,
) -> Result<()> {
    let mut info = ctx.info.clone();
    info.step = step;
    info.seed = ctx.seed;
    // Sidecar first: a checkpoint never points at optimizer state older than its weights.
    let (tensors, _) = opt.state()?;
    let resume = ResumeInfo {
        step,
        rng_word_pos: rng.get_word_pos(),
        train_curve: report.train_curve.clone(),
        test_curve: report.test_curve.clone(),
    };
    checkpoint::save_optimizer(path, tensors, &resume)?;
    task.save(&info, path)
}
