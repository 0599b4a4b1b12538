//! A trained pixel model rolled out from a pendulum state of one's choosing (`hnn rollout` on a
//! pixel checkpoint): the exact pendulum's first frame pair from (θ, p) is rendered and encoded,
//! the latent state integrated, every latent state decoded, and each decoded frame compared with
//! the exact pendulum's frame at the same time.

use crate::experiment::PixelCheckpoint;
use candle_core::{DType, Device, Tensor};
use hnn_core::{rollout, Solver};
use hnn_train::{Error, Result};

/// A decoded latent rollout beside the exact pendulum.
#[derive(Debug, Clone)]
pub struct PixelRollout {
    /// Output times, in frames.
    pub times: Vec<f64>,
    /// The latent states (z_q, z_p).
    pub latent: Vec<[f64; 2]>,
    /// The latent model's energy H(z) along them (`None` for the baseline, which has none).
    pub energy: Option<Vec<f64>>,
    /// The exact pendulum's (θ, p) at the same times.
    pub states: Vec<[f64; 2]>,
    /// Decoded frames (the first frame of each decoded pair), `size²` grey levels each.
    pub decoded: Vec<Vec<f32>>,
    /// The exact pendulum's frames.
    pub truth: Vec<Vec<f32>>,
    /// Per-time mean squared error of the decoded frame against the true one.
    pub frame_mse: Vec<f64>,
}

/// Rolls the checkpoint's model out from the pendulum state `z0` = (θ, p) over `times` (in
/// frames, starting at 0), with `solver` in latent time (one frame = one time unit, as trained)
/// and in the model's precision.
pub fn rollout_from_state(
    ckpt: &PixelCheckpoint,
    z0: [f64; 2],
    times: &[f64],
    solver: &Solver,
) -> Result<PixelRollout> {
    if times.first() != Some(&0.0) || !times.windows(2).all(|w| w[1] > w[0]) || !z0.iter().all(|v| v.is_finite()) {
        return Err(Error::Config("a pixel rollout needs a finite (θ, p) and increasing times from 0".into()));
    }
    let task = &ckpt.experiment.data;
    if task.amplitude(&z0) > task.max_angle {
        tracing::warn!(
            amplitude = task.amplitude(&z0),
            max_angle = task.max_angle,
            "this swing is wider than any the model was trained on"
        );
    }
    let model = &ckpt.run.model;
    let px = task.renderer.pixels();
    let render = |theta: f64| {
        let mut f = vec![0f32; px];
        task.renderer.render_into(theta, &mut f);
        f
    };
    // The first pair: frame 0 and the exact pendulum one frame on.
    let first = task.integrate_at(&[z0.to_vec()], &[0.0, 1.0])?.remove(0);
    let pair = [render(first[0]), render(first[2])].concat();
    let dtype = ckpt.run.dtype();
    let device = model.ae.encoder[0].weight().device();
    let x0 = Tensor::from_vec(pair, (1, 2 * px), &Device::Cpu)?.to_dtype(dtype)?.to_device(device)?;
    let z = model.ae.encode(&x0)?.detach();
    let dynamics = ckpt.run.frozen_dynamics()?;
    let zs = rollout(&dynamics, &z, times, solver)?.squeeze(1)?; // [T, 2]
    let decoded = model.ae.decode(&zs)?.narrow(1, 0, px)?.to_dtype(DType::F32)?.to_device(&Device::Cpu)?;
    let decoded = decoded.to_vec2::<f32>()?;
    let energy =
        dynamics.energy(&zs)?.map(|e| e.to_dtype(DType::F64)?.to_device(&Device::Cpu)?.to_vec1::<f64>()).transpose()?;
    let latent: Vec<[f64; 2]> =
        zs.to_dtype(DType::F64)?.to_device(&Device::Cpu)?.to_vec2::<f64>()?.into_iter().map(|z| [z[0], z[1]]).collect();
    let exact = task.integrate_at(&[z0.to_vec()], times)?.remove(0);
    let states: Vec<[f64; 2]> = exact.chunks(2).map(|s| [s[0], s[1]]).collect();
    let truth: Vec<Vec<f32>> = states.iter().map(|s| render(s[0])).collect();
    let frame_mse = decoded
        .iter()
        .zip(&truth)
        .map(|(d, t)| d.iter().zip(t).map(|(a, b)| ((a - b) as f64).powi(2)).sum::<f64>() / px as f64)
        .collect();
    Ok(PixelRollout { times: times.to_vec(), latent, energy, states, decoded, truth, frame_mse })
}
