//! Evaluation of a trained pixel model: latent rollouts from held-out first frames, decoded and
//! compared frame by frame, with the energy through the fitted linear map.

use super::*;
use crate::data::PixelDataset;
use crate::PixelModel;
use candle_core::{DType, Device};
use hnn_core::{rollout, Solver};
use hnn_systems::AnalyticHamiltonian;
use hnn_train::eval::{MeanSem, ModelMetrics};
use hnn_train::metrics;
use hnn_train::Result;
use serde::Serialize;

/// One model's rollout evaluation.
pub(super) struct Rollout {
    pub(super) metrics: ModelMetrics,
    pub(super) frame_mse: Vec<f64>,
    pub(super) latent: Vec<Vec<[f64; 2]>>,
    /// The true frame pairs of the same trajectories, encoded: where the rollout should be.
    pub(super) encoded: Vec<Vec<[f64; 2]>>,
    pub(super) frames: Vec<Vec<Vec<f32>>>,
}

#[allow(clippy::too_many_arguments)]
pub(super) fn evaluate(
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
    let solver = Solver::Fixed { integrator: cfg.eval.method.build(), dt: cfg.eval.dt };
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
        // The frames: the mean squared pixel error per frame, and the first frame past 0.02.
        let errors: Vec<f64> = (0..=steps)
            .map(|t| {
                decoded[t][j].iter().zip(&truth[j][t]).map(|(p, q)| ((p - q) as f64).powi(2)).sum::<f64>() / px as f64
            })
            .collect();
        for (m, err) in frame_mse.iter_mut().zip(&errors) {
            *m += err / e as f64;
        }
        t_mse.push(errors.iter().sum::<f64>() / (steps + 1) as f64);
        valid.push(errors.iter().position(|&err| err > 0.02).map_or(steps as f64, |t| t as f64));
        // The latent rollout mapped to (θ, p), scored by the metrics every model shares.
        let mapped: Vec<f64> = (0..=steps).flat_map(|t| map_state(&a, &latent[t][j])).collect();
        let true_states: Vec<f64> = (0..=steps).flat_map(|t| states[j][t].clone()).collect();
        e_mse.push(metrics::energy_mse(&|z| h.energy_at(z), &mapped, &true_states, 2));
        if let Some(a) = &analysis {
            a_mse.push(metrics::energy_mse(&|z| a.energy_at(z), &mapped, &true_states, 2));
        }
        drift.push(metrics::energy_drift(h.energy_at(&mapped[..2]), h.energy_at(&mapped[2 * steps..])));
        paths.push((0..=steps).map(|t| [latent[t][j][0], latent[t][j][1]]).collect());
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
        energy_mse_paper: None,
        damping_rate: None,
        damping_rate_true: None,
        energy_decay_rate: None,
        energy_decay_rate_true: None,
        thermostat: None,
    };
    // Frames of the first held-out trajectory, for the strip and the GIF.
    let frames = vec![(0..=steps).map(|t| decoded[t][0].clone()).collect()];
    let encoded = encoded_pairs(model, eval, e.min(3), steps, (dtype, device))?;
    Ok(Rollout { metrics, frame_mse, latent: paths, encoded, frames })
}

/// The encoded true frame pairs of the first `shown` held-out trajectories (`steps + 1` each),
/// for the phase portrait: where the rollouts should be.
fn encoded_pairs(
    model: &PixelModel,
    eval: &PixelDataset,
    shown: usize,
    steps: usize,
    (dtype, device): (DType, &Device),
) -> Result<Vec<Vec<[f64; 2]>>> {
    let pairs = eval.pairs(0, shown)?.to_dtype(dtype)?.to_device(device)?; // [shown, steps + 1, 2·px]
    let px = pairs.dims()[2] / 2;
    let encoded = model.ae.encode(&pairs.reshape((shown * (steps + 1), 2 * px))?)?;
    let encoded = encoded.reshape((shown, steps + 1, 2))?.to_dtype(DType::F64)?.to_device(&Device::Cpu)?;
    Ok(encoded.to_vec3::<f64>()?.into_iter().map(|p| p.into_iter().map(|z| [z[0], z[1]]).collect()).collect())
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
