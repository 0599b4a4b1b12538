//! `hnn rollout`: a checkpoint's learned dynamics integrated from a state, as CSV (and, for a
//! pixel checkpoint, its frames).

use super::is_pixel_checkpoint;
use candle_core::{DType, Device, Tensor};
use hnn_core::{IntegratorKind, RolloutMethod};
use hnn_train::checkpoint;
use hnn_train::{Error, Result};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub(super) struct RolloutArgs {
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
    method: Option<RolloutMethod>,
    /// Step of a fixed-step integrator [default: 0.01; for a pixel checkpoint, its eval.dt].
    #[arg(long)]
    dt: Option<f64>,
    /// Pixel checkpoints: also draw the true frames above the decoded ones, as an animated
    /// GIF (`.gif`, one picture per output point) or a strip (`.png`, 20 columns).
    #[arg(long)]
    frames: Option<PathBuf>,
}

/// The most output times `hnn rollout --points` takes.
const MAX_POINTS: usize = hnn_core::integrators::MAX_ROLLOUT_TIMES;

impl RolloutArgs {
    pub(super) fn run(self) -> Result<()> {
        if is_pixel_checkpoint(&self.checkpoint)? {
            return self.pixels();
        }
        if self.frames.is_some() {
            return Err(Error::Config("--frames draws pixel rollouts; this is a state-space checkpoint".into()));
        }
        let method = self.method.unwrap_or_default();
        if let (Some(dt), Some(_)) = (self.dt, method.adaptive_pair()) {
            return Err(Error::Config(format!(
                "--dt {dt} sets the step of a fixed-step method, and {method} chooses its own steps: drop --dt, or \
                 pick a fixed-step --method (rk4, leapfrog, …)"
            )));
        }
        let (state, _) = checkpoint::load(&self.checkpoint, &Device::Cpu, Some(DType::F64), None)?;
        let z = parse_state(&self.z0, 2 * state.spec.dof)?;
        let times = output_times(self.t_end, self.points)?;
        let solver = method.solver(self.dt.unwrap_or(0.01), 1e-9, 1e-9);
        let z0 = Tensor::from_vec(z.clone(), (1, z.len()), &Device::Cpu)?;
        let (traj, energy) = state.rollout(&z0, &times, &solver)?;
        let rows = traj.squeeze(1)?.to_vec2::<f64>()?;
        let e = match energy {
            Some(e) => e.squeeze(1)?.to_vec1::<f64>()?,
            None => vec![f64::NAN; rows.len()],
        };
        let n = z.len() / 2;
        let header: Vec<String> = (0..n).map(|i| format!("q{i}")).chain((0..n).map(|i| format!("p{i}"))).collect();
        say!("t,{},H", header.join(","));
        for ((t, r), e) in times.iter().zip(&rows).zip(e) {
            let cols: Vec<String> = r.iter().map(|v| format!("{v}")).collect();
            say!("{t},{},{e}", cols.join(","));
        }
        Ok(())
    }

    /// A pixel checkpoint: CSV of the latent rollout beside the exact pendulum, optionally its
    /// frames as a GIF or strip.
    fn pixels(self) -> Result<()> {
        let stored = hnn_pixels::experiment::load_checkpoint(&self.checkpoint, &Device::Cpu, None)?;
        let z = parse_state(&self.z0, 2)?;
        let times = output_times(self.t_end, self.points)?;
        let eval = &stored.experiment.eval;
        // The latent state is in the model's precision (f32 by default), where an adaptive
        // method's 1e-9 tolerance is out of reach: fixed steps, as in evaluation.
        let kind = match self.method {
            Some(m) => fixed_step(m)?,
            None => eval.method,
        };
        let solver = hnn_core::Solver::Fixed { integrator: kind.build(), dt: self.dt.unwrap_or(eval.dt) };
        let r = hnn_pixels::rollout::rollout_from_state(&stored, [z[0], z[1]], &times, &solver)?;
        if let Some(path) = &self.frames {
            write_frames(path, &stored, &r, times.len())?;
        }
        say!("t,z_q,z_p,H,theta,p,frame_mse");
        for (k, t) in times.iter().enumerate() {
            let h = r.energy.as_ref().map_or(f64::NAN, |e| e[k]);
            let (z, s) = (r.latent[k], r.states[k]);
            say!("{t},{},{},{h},{},{},{}", z[0], z[1], s[0], s[1], r.frame_mse[k]);
        }
        Ok(())
    }
}

/// The true frames above the decoded ones: an animated GIF (`.gif`) or a strip (`.png`).
fn write_frames(
    path: &Path,
    stored: &hnn_pixels::experiment::PixelCheckpoint,
    r: &hnn_pixels::rollout::PixelRollout,
    points: usize,
) -> Result<()> {
    let size = stored.experiment.data.renderer.size;
    let rows = [r.truth.clone(), r.decoded.clone()];
    match path.extension().and_then(|e| e.to_str()) {
        Some("gif") => hnn_pixels::frames::write_gif(path, &rows, size, points, 50)?,
        Some("png") => {
            let cols: Vec<usize> = (0..points).step_by(points.div_ceil(20)).collect();
            hnn_pixels::frames::write_strip(path, &rows, size, &cols)?
        }
        _ => return Err(Error::Config(format!("--frames {}: use a .gif or .png name", path.display()))),
    }
    Ok(())
}

/// The fixed-step integrator of a method a pixel model can take (its latent state is in the
/// model's precision, where adaptive tolerances are out of reach).
pub(super) fn fixed_step(method: RolloutMethod) -> Result<IntegratorKind> {
    match method {
        RolloutMethod::Fixed(kind) => Ok(kind),
        RolloutMethod::Adaptive(_) => Err(Error::Config(format!(
            "--method {method}: pixel rollouts take a fixed-step integrator (as eval.method), e.g. rk4 or leapfrog"
        ))),
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
