//! The pixel-pendulum experiment (`experiments/pixels.toml`, `hnn exp pixels`): generate frames,
//! train the autoencoder with a latent HNN and with the latent baseline through hnn-train's loop,
//! then roll each latent model out from the first frame pair of held-out trajectories and decode
//! every state. Writes under `<out>/<name>/<seed>/`: `hnn.safetensors`, `baseline.safetensors`
//! (autoencoder and dynamics in one file each), `metrics.json` (the Table 1 fields: total loss,
//! energy MSE of the latent rollout through a fitted linear map to (θ, p), frame MSE),
//! `frame_mse.json`, `latent.json` (latent rollouts and encoded true frames), and plots:
//! `loss.png`, `frame_mse.png`, `latent_phase.png`, `rollout_strip.png` (true frames above each
//! model's), `rollout.gif`.

use crate::data::{PixelDataset, PixelTask};
use crate::model::{LatentStep, LossWeights, PixelModel};
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use hnn_core::{rollout, IntegratorKind, Solver};
use hnn_systems::AnalyticHamiltonian;
use hnn_train::checkpoint::{self, TrainingInfo};
use hnn_train::device::{check_precision, device_name, select_device};
use hnn_train::eval::{MeanSem, ModelMetrics};
use hnn_train::experiment::{color, loss_series, model_seed, parse_config, write_run_files, ModelRun, RunMetrics};
use hnn_train::optim::Gradients;
use hnn_train::plots::{line_chart, Chart, Series};
use hnn_train::training::{sample_indices, train_loop, RunContext, TrainConfig, Trainable};
use hnn_train::{Error, Model, ModelKind, ModelSpec, Result, RunOptions};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

fn default_kinds() -> Vec<ModelKind> {
    vec![ModelKind::BASELINE, ModelKind::HNN]
}
fn default_canonical_weight() -> f64 {
    1.0
}
fn default_weight() -> f64 {
    0.1
}

/// The `[model]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PixelModelConfig {
    /// Autoencoder width (the paper: 200).
    pub autoencoder_hidden: usize,
    /// Hidden widths of the latent dynamics MLP (the paper: [200, 200]).
    pub dynamics_hidden: Vec<usize>,
    /// Activation of the latent dynamics (the autoencoder uses ReLU).
    pub activation: String,
    /// Latent dynamics models to train.
    #[serde(default = "default_kinds")]
    pub kinds: Vec<ModelKind>,
    /// Weight of the latent dynamics loss (the paper: 0.1).
    #[serde(default = "default_weight")]
    pub dynamics_weight: f64,
    /// Weight of the canonical-coordinates loss ‖z_p,t − (z_q,t+1 − z_q,t)‖² (the paper: 1).
    #[serde(default = "default_canonical_weight")]
    pub canonical_weight: f64,
    /// Integrator of the latent dynamics loss across its horizon (the reference: `euler`).
    #[serde(default = "default_latent_integrator")]
    pub latent_integrator: String,
    /// Its steps across the horizon.
    #[serde(default = "default_latent_substeps")]
    pub latent_substeps: usize,
    /// Frames from z_t to the dynamics loss's target z_{t+horizon} (the reference: 1).
    #[serde(default = "default_latent_horizon")]
    pub latent_horizon: usize,
}

fn default_latent_integrator() -> String {
    "euler".into()
}
fn default_latent_substeps() -> usize {
    1
}
fn default_latent_horizon() -> usize {
    1
}

impl PixelModelConfig {
    /// The weights of the latent losses.
    pub fn loss_weights(&self) -> LossWeights {
        LossWeights { dynamics: self.dynamics_weight, canonical: self.canonical_weight }
    }

    /// The latent step of the dynamics loss.
    pub fn latent_step(&self) -> Result<LatentStep> {
        let integrator = self
            .latent_integrator
            .parse::<IntegratorKind>()
            .map_err(|err| Error::Config(format!("model.latent_integrator: {err}")))?;
        if self.latent_substeps == 0 {
            return Err(Error::Config("model.latent_substeps must be positive".into()));
        }
        if self.latent_horizon == 0 {
            return Err(Error::Config("model.latent_horizon must be at least 1 frame".into()));
        }
        Ok(LatentStep { integrator, substeps: self.latent_substeps, horizon: self.latent_horizon })
    }
}

/// The `[eval]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PixelEvalConfig {
    /// Held-out trajectories rolled out (fresh draws of the same task).
    pub trajectories: usize,
    /// Frames rolled out.
    pub rollout_steps: usize,
    /// Integrator in latent time (one frame = one time unit, as in training).
    pub method: String,
    /// Its step.
    pub dt: f64,
    /// Show every this many frames in the strip.
    pub strip_every: usize,
    /// A second energy measured along the mapped rollouts (`energy_mse_analysis`), in the same
    /// (θ, p) coordinates: the reference analysis measured 1.9(1 − cos θ) + (θ̇/4)², one eighth
    /// of the physical energy, which is the pendulum m = 8, g = 0.2375, l = 1.
    #[serde(default)]
    pub analysis_energy: Option<hnn_systems::System>,
}

/// A pixel experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PixelExperiment {
    /// Name (output folder, table row).
    pub name: String,
    /// Must be "pixels".
    pub kind: String,
    /// What it reproduces.
    #[serde(default)]
    pub description: String,
    /// The data.
    pub data: PixelTask,
    /// The models.
    pub model: PixelModelConfig,
    /// Training (hnn-train's settings).
    pub train: TrainConfig,
    /// Evaluation.
    pub eval: PixelEvalConfig,
}

impl PixelExperiment {
    /// Parses and validates TOML, naming the wrong field.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self> {
        parse_config(text, origin, Self::validate)
    }

    /// The same experiment shrunk to a smoke run of `steps` steps (tests, CI): 10 trajectories
    /// of 20 steps, an autoencoder of width 32, a 16-16 dynamics network, batches of 50, two
    /// evaluation rollouts of 30 steps.
    pub fn smoke(mut self, steps: usize) -> Result<Self> {
        self.data.trajectories = 10;
        self.data.steps = 20;
        self.model.autoencoder_hidden = 32;
        self.model.dynamics_hidden = vec![16, 16];
        self.train.steps = steps;
        self.train.batch_size = 50;
        self.train.eval_every = (steps / 2).max(1);
        self.eval.trajectories = 2;
        self.eval.rollout_steps = 30;
        self.validate()?;
        Ok(self)
    }

    /// Checks every section.
    pub fn validate(&self) -> Result<()> {
        let fail = |m: String| Err(Error::Config(m));
        if self.kind != "pixels" {
            return fail(format!("kind must be \"pixels\", got `{}`", self.kind));
        }
        self.data.validate().map_err(|e| Error::Config(format!("data: {e}")))?;
        if self.model.autoencoder_hidden == 0 || self.model.kinds.is_empty() {
            return fail("model.autoencoder_hidden must be positive and model.kinds non-empty".into());
        }
        for (name, w) in
            [("dynamics_weight", self.model.dynamics_weight), ("canonical_weight", self.model.canonical_weight)]
        {
            if !(w >= 0.0 && w.is_finite()) {
                return fail(format!("model.{name} must be a finite number ≥ 0, got {w}"));
            }
        }
        for kind in &self.model.kinds {
            self.spec(*kind).validate()?;
        }
        let horizon = self.model.latent_step()?.horizon;
        if horizon > self.data.steps {
            return fail(format!(
                "model.latent_horizon ({horizon} frames) must not exceed data.steps ({}): no window would fit in a \
                 trajectory",
                self.data.steps
            ));
        }
        self.train.validate()?;
        if !matches!(self.train.objective, hnn_train::training::Objective::Gradient) || self.train.input_noise != 0.0 {
            return fail(
                "train: the pixel model trains on its own losses; leave `objective` and `input_noise` unset".into(),
            );
        }
        let e = &self.eval;
        if e.trajectories == 0 || e.rollout_steps == 0 || e.strip_every == 0 {
            return fail("eval.trajectories, eval.rollout_steps and eval.strip_every must be positive".into());
        }
        e.method.parse::<IntegratorKind>().map_err(|err| Error::Config(format!("eval.method: {err}")))?;
        if !(e.dt > 0.0 && e.dt <= 1.0) {
            return fail(format!("eval.dt must be in (0, 1] (frames are one time unit apart), got {}", e.dt));
        }
        if let Some(system) = &e.analysis_energy {
            system.validate().map_err(|err| Error::Config(format!("eval.analysis_energy: {err}")))?;
            if system.dof() != 1 {
                return fail("eval.analysis_energy must be a one-degree-of-freedom system".into());
            }
        }
        Ok(())
    }

    /// The latent dynamics' specification.
    pub fn spec(&self, kind: ModelKind) -> ModelSpec {
        ModelSpec {
            kind,
            dof: 1,
            hidden: self.model.dynamics_hidden.clone(),
            activation: self.model.activation.clone(),
        }
    }
}

/// Training windows of a split: the frame pairs of its trajectories, flattened to rows, and the
/// rows where a window (the pairs at [`LatentStep::offsets`]) fits in its trajectory.
struct Windows {
    /// `[trajectories·(steps + 1), 2·pixels]`.
    pairs: Tensor,
    /// Window starts, trajectory by trajectory.
    starts: Vec<u32>,
    /// The true states at each start, `[starts, 2]` (f64, CPU).
    states: Tensor,
    offsets: Vec<usize>,
}

impl Windows {
    fn new(
        ds: &PixelDataset,
        start: usize,
        len: usize,
        offsets: Vec<usize>,
        to: impl Fn(Tensor) -> Result<Tensor>,
    ) -> Result<Self> {
        let pairs = ds.pairs(start, len)?; // [len, steps + 1, 2·px]
        let (n, t, w) = pairs.dims3()?;
        let span = offsets.iter().copied().max().unwrap_or(0);
        let per = t.saturating_sub(span);
        let starts: Vec<u32> = (0..n).flat_map(|j| (0..per).map(move |i| (j * t + i) as u32)).collect();
        let states = ds.states.narrow(0, start, len)?.narrow(1, 0, t)?.reshape((n * t, 2))?;
        let index = Tensor::from_slice(&starts, starts.len(), &Device::Cpu)?;
        Ok(Self { pairs: to(pairs.reshape((n * t, w))?)?, states: states.index_select(&index, 0)?, starts, offsets })
    }

    /// The windows starting at `starts` (rows of [`Windows::pairs`]): one tensor per offset.
    fn gather(&self, starts: &[u32]) -> Result<Vec<Tensor>> {
        let device = self.pairs.device();
        self.offsets
            .iter()
            .map(|&k| {
                let rows: Vec<u32> = starts.iter().map(|s| s + k as u32).collect();
                Ok(self.pairs.index_select(&Tensor::from_slice(&rows, rows.len(), device)?, 0)?)
            })
            .collect()
    }

    /// The first frame pair of every window, `[starts, 2·pixels]`.
    fn first_pairs(&self) -> Result<Tensor> {
        let index = Tensor::from_slice(&self.starts, self.starts.len(), self.pairs.device())?;
        Ok(self.pairs.index_select(&index, 0)?)
    }
}

struct PixelTrainer<'a> {
    run: &'a PixelRun,
    train: &'a Windows,
    test: &'a Windows,
    weights: LossWeights,
    meta: serde_json::Value,
    /// The latent dynamics model's variables (everything outside `ae.`), for the fused step.
    dynamics_vars: Vec<Var>,
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
fn total_loss(model: &PixelModel, windows: &Windows, weights: LossWeights) -> Result<f64> {
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

/// Least squares S ≈ [Z, 1]·A for Z `[N, 2]`, S `[N, 2]`: returns A (3 × 2).
fn fit_linear_map(z: &[Vec<f64>], s: &[Vec<f64>]) -> [[f64; 2]; 3] {
    let mut xtx = [[0.0; 3]; 3];
    let mut xts = [[0.0; 2]; 3];
    for (zi, si) in z.iter().zip(s) {
        let x = [zi[0], zi[1], 1.0];
        for a in 0..3 {
            for b in 0..3 {
                xtx[a][b] += x[a] * x[b];
            }
            for c in 0..2 {
                xts[a][c] += x[a] * si[c];
            }
        }
    }
    // Solve the 3×3 system by Gauss–Jordan with partial pivoting.
    let mut m = [[0.0; 5]; 3];
    for a in 0..3 {
        m[a][..3].copy_from_slice(&xtx[a]);
        m[a][3..].copy_from_slice(&xts[a]);
    }
    for col in 0..3 {
        let piv = (col..3).max_by(|&i, &j| m[i][col].abs().total_cmp(&m[j][col].abs())).expect("rows");
        m.swap(col, piv);
        let p = m[col][col];
        if p.abs() < 1e-300 {
            continue;
        }
        m[col].iter_mut().for_each(|v| *v /= p);
        let pivot_row = m[col];
        for (r, row) in m.iter_mut().enumerate() {
            if r != col {
                let f = row[col];
                row.iter_mut().zip(pivot_row).for_each(|(v, pv)| *v -= f * pv);
            }
        }
    }
    [[m[0][3], m[0][4]], [m[1][3], m[1][4]], [m[2][3], m[2][4]]]
}

fn map_state(a: &[[f64; 2]; 3], z: &[f64]) -> [f64; 2] {
    [a[0][0] * z[0] + a[1][0] * z[1] + a[2][0], a[0][1] * z[0] + a[1][1] * z[1] + a[2][1]]
}

/// One model's rollout evaluation.
struct Rollout {
    metrics: ModelMetrics,
    frame_mse: Vec<f64>,
    latent: Vec<Vec<[f64; 2]>>,
    /// The true frame pairs of the same trajectories, encoded: where the rollout should be.
    encoded: Vec<Vec<[f64; 2]>>,
    frames: Vec<Vec<Vec<f32>>>,
}

#[allow(clippy::too_many_arguments)]
fn evaluate(
    run: &PixelRun,
    cfg: &PixelExperiment,
    eval: &PixelDataset,
    train: &Windows,
    test: &Windows,
    device: &Device,
) -> Result<Rollout> {
    let model = &run.model;
    let dynamics = run.frozen_dynamics()?;
    let px = cfg.data.renderer.pixels();
    let steps = cfg.eval.rollout_steps;
    let e = eval.frames.dims()[0];
    // Linear map latent → (θ, p), fitted on the training pairs.
    let x_train = train.first_pairs()?;
    let z_train = model.ae.encode(&x_train)?.to_dtype(DType::F64)?.to_vec2::<f64>()?;
    let s_train = train.states.to_vec2::<f64>()?;
    let a = fit_linear_map(&z_train, &s_train);
    // Roll out from the first pair of each held-out trajectory.
    let dtype = x_train.dtype();
    let x0 = eval.pairs(0, e)?.narrow(1, 0, 1)?.squeeze(1)?.to_dtype(dtype)?.to_device(device)?;
    let z0 = model.ae.encode(&x0)?.detach();
    let times: Vec<f64> = (0..=steps).map(|t| t as f64).collect();
    let solver = Solver::Fixed { integrator: cfg.eval.method.parse::<IntegratorKind>()?.build(), dt: cfg.eval.dt };
    let rollout_started = std::time::Instant::now();
    let zs = rollout(&dynamics, &z0, &times, &solver)?; // [T, E, 2]
    let rollout_seconds = rollout_started.elapsed().as_secs_f64();
    let decoded = model.ae.decode(&zs.reshape(((steps + 1) * e, 2))?)?.narrow(1, 0, px)?.reshape((steps + 1, e, px))?;
    let decoded = decoded.to_dtype(DType::F32)?.to_device(&Device::Cpu)?.to_vec3::<f32>()?;
    let truth = eval.frames.to_vec3::<f32>()?; // [E, steps + 2, px]
    let states = eval.states.to_vec3::<f64>()?;
    let latent = zs.to_dtype(DType::F64)?.to_device(&Device::Cpu)?.to_vec3::<f64>()?;
    let h = &cfg.data.pendulum;
    let analysis = cfg.eval.analysis_energy.as_ref().map(|s| s.hamiltonian());
    let mut frame_mse = vec![0.0; steps + 1];
    let (mut e_mse, mut a_mse, mut t_mse, mut drift, mut valid) = (vec![], vec![], vec![], vec![], vec![]);
    let mut paths = vec![];
    for j in 0..e {
        let (mut se_energy, mut se_analysis) = (0.0, 0.0);
        let mut se_frames = 0.0;
        let mut valid_until = steps as f64;
        let mut path = vec![];
        for t in 0..=steps {
            let err: f64 =
                decoded[t][j].iter().zip(&truth[j][t]).map(|(p, q)| ((p - q) as f64).powi(2)).sum::<f64>() / px as f64;
            frame_mse[t] += err / e as f64;
            se_frames += err;
            if err > 0.02 && valid_until == steps as f64 {
                valid_until = t as f64;
            }
            let s = map_state(&a, &latent[t][j]);
            path.push([latent[t][j][0], latent[t][j][1]]);
            se_energy += (h.energy_at(&s) - h.energy_at(&states[j][t])).powi(2);
            if let Some(a) = &analysis {
                se_analysis += (a.energy_at(&s) - a.energy_at(&states[j][t])).powi(2);
            }
        }
        let e0 = h.energy_at(&map_state(&a, &latent[0][j]));
        let e1 = h.energy_at(&map_state(&a, &latent[steps][j]));
        e_mse.push(se_energy / (steps + 1) as f64);
        a_mse.push(se_analysis / (steps + 1) as f64);
        t_mse.push(se_frames / (steps + 1) as f64);
        drift.push(((e1 - e0) / e0).abs());
        valid.push(valid_until);
        paths.push(path);
    }
    let weights = cfg.model.loss_weights();
    let train_loss = total_loss(model, train, weights)?;
    let test_loss = total_loss(model, test, weights)?;
    let metrics = ModelMetrics {
        train_loss: MeanSem::of(&[train_loss]),
        test_loss: MeanSem::of(&[test_loss]),
        energy_mse: MeanSem::of(&e_mse),
        energy_mse_analysis: analysis.is_some().then(|| MeanSem::of(&a_mse)),
        trajectory_mse: MeanSem::of(&t_mse),
        energy_drift: MeanSem::of(&drift),
        valid_time: MeanSem::of(&valid),
        solver_fallback: false,
        rollout_seconds,
    };
    // Frames of the first held-out trajectory, for the strip and the GIF.
    let frames = vec![(0..=steps).map(|t| decoded[t][0].clone()).collect()];
    // The encoded true pairs of the first few trajectories, for the phase portrait.
    let shown = e.min(3);
    let pairs = eval.pairs(0, shown)?.to_dtype(dtype)?.to_device(device)?; // [shown, steps + 1, 2·px]
    let encoded = model.ae.encode(&pairs.reshape((shown * (steps + 1), 2 * px))?)?;
    let encoded = encoded.reshape((shown, steps + 1, 2))?.to_dtype(DType::F64)?.to_device(&Device::Cpu)?;
    let encoded =
        encoded.to_vec3::<f64>()?.into_iter().map(|p| p.into_iter().map(|z| [z[0], z[1]]).collect()).collect();
    Ok(Rollout { metrics, frame_mse, latent: paths, encoded, frames })
}

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

/// Format of pixel checkpoints (the `format` field of their `hnn` metadata).
pub const CHECKPOINT_FORMAT: &str = "hnn-pixel-checkpoint";

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
    fn new(cfg: &PixelExperiment, kind: ModelKind, dtype: DType, device: &Device) -> Result<Self> {
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
    fn named_vars(&self) -> Vec<(String, Var)> {
        hnn_train::model::state::sorted_vars(&self.varmap)
    }

    /// The dtype of its weights.
    pub fn dtype(&self) -> DType {
        self.named_vars().first().map_or(DType::F32, |(_, v)| v.dtype())
    }

    /// The checkpoint metadata (without the `training` entry the trainer adds).
    fn meta(&self, cfg: &PixelExperiment, dtype: DType, data_seed: u64) -> serde_json::Value {
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
struct Stored {
    experiment: PixelExperiment,
    spec: ModelSpec,
    dtype: DType,
    data_seed: Option<u64>,
    step: usize,
    tensors: std::collections::HashMap<String, Tensor>,
}

/// Reads and checks a pixel checkpoint's metadata: its format, version, config and model.
fn read_stored(path: &Path) -> Result<Stored> {
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

fn train_run(
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
                    format!("its latent model {:?} is not this config's {:?}", stored.spec, run.spec),
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
        info: TrainingInfo { mode: "pixels".into(), seed: mseed, ..Default::default() },
        progress: job.progress,
        label: format!("{} {}", cfg.name, job.kind.name()),
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

/// What evaluating a pixel checkpoint gives: the Table 1 metrics and the frame MSE per frame.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointEval {
    /// Losses, energy MSE (physical and, if configured, the analysis's), frame MSE.
    pub metrics: ModelMetrics,
    /// Mean frame MSE at each rolled-out frame.
    pub frame_mse: Vec<f64>,
}

impl PixelCheckpoint {
    /// Evaluates the model as `hnn exp` evaluates the models it trains, with the stored config or
    /// `config`, on the data of `seed` (default: the seed it was trained on, else 0). `hnn eval`
    /// on a pixel checkpoint.
    pub fn evaluate(
        self,
        config: Option<PixelExperiment>,
        seed: Option<u64>,
        device: &Device,
    ) -> Result<CheckpointEval> {
        let cfg = config.unwrap_or(self.experiment);
        cfg.validate()?;
        let mut run = self.run;
        run.model.latent_step = cfg.model.latent_step()?;
        let dtype = run.dtype();
        let data = RunData::new(&cfg, seed.or(self.data_seed).unwrap_or(0), dtype, device)?;
        let o = evaluate(&run, &cfg, &data.eval, &data.train, &data.test, device)?;
        Ok(CheckpointEval { metrics: o.metrics, frame_mse: o.frame_mse })
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
    let metrics = RunMetrics {
        experiment: cfg.name.clone(),
        seed,
        device: device_name(device).into(),
        dtype: opts.precision.name().into(),
        steps: cfg.train.steps,
        train_samples: train.starts.len(),
        test_samples: test.starts.len(),
        models,
        wall_seconds: started.elapsed().as_secs_f64(),
    };
    write_run_files(&dir, &metrics, &toml::to_string(cfg).expect("config serializes"))?;
    Ok(metrics)
}

fn draw(
    dir: &Path,
    cfg: &PixelExperiment,
    eval: &PixelDataset,
    outcomes: &[(ModelKind, hnn_train::training::TrainReport, Rollout)],
) -> Result<()> {
    let title = |w: &str| format!("{}: {w}", cfg.name);
    let mut loss = vec![];
    let mut mse = vec![];
    let mut phase = vec![];
    for (kind, report, o) in outcomes {
        loss.extend(loss_series(*kind, report));
        mse.push(Series::new(
            kind.name(),
            o.frame_mse.iter().enumerate().map(|(t, v)| (t as f64, *v)).collect(),
            color(*kind),
        ));
        for (i, path) in o.latent.iter().take(3).enumerate() {
            phase.push(Series {
                label: if i == 0 { format!("{} rollout", kind.name()) } else { String::new() },
                points: path.iter().map(|z| (z[0], z[1])).collect(),
                color: color(*kind),
                thin: false,
            });
        }
        for (i, path) in o.encoded.iter().enumerate() {
            phase.push(Series {
                label: if i == 0 { format!("{}: true frames encoded", kind.name()) } else { String::new() },
                points: path.iter().map(|z| (z[0], z[1])).collect(),
                color: color(*kind),
                thin: true,
            });
        }
    }
    line_chart(
        &dir.join("loss.png"),
        &Chart { title: &title("loss"), x: "step", y: "total loss", log_y: true, equal_axes: false },
        &loss,
    )?;
    line_chart(
        &dir.join("frame_mse.png"),
        &Chart { title: &title("frame MSE along the rollout"), x: "frame", y: "MSE", log_y: true, equal_axes: false },
        &mse,
    )?;
    line_chart(
        &dir.join("latent_phase.png"),
        &Chart { title: &title("latent phase portrait"), x: "z_q", y: "z_p", log_y: false, equal_axes: false },
        &phase,
    )?;
    strip_and_gif(dir, cfg, eval, outcomes)
}

/// A strip (true frames on top, each model's below, every `strip_every` frames) and a GIF.
fn strip_and_gif(
    dir: &Path,
    cfg: &PixelExperiment,
    eval: &PixelDataset,
    outcomes: &[(ModelKind, hnn_train::training::TrainReport, Rollout)],
) -> Result<()> {
    let size = cfg.data.renderer.size;
    let truth = eval.frames.get(0)?.to_vec2::<f32>()?;
    let rows: Vec<Vec<Vec<f32>>> =
        std::iter::once(truth).chain(outcomes.iter().map(|(_, _, o)| o.frames[0].clone())).collect();
    let cols: Vec<usize> = (0..=cfg.eval.rollout_steps).step_by(cfg.eval.strip_every).collect();
    crate::frames::write_strip(&dir.join("rollout_strip.png"), &rows, size, &cols)?;
    crate::frames::write_gif(&dir.join("rollout.gif"), &rows, size, cfg.eval.rollout_steps + 1, 50)
}
