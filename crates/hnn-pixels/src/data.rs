//! Pixel-pendulum datasets: trajectories of the exact pendulum (no torque), rendered frame by
//! frame; a training sample is a pair of consecutive frames, x_t = (frame_t, frame_{t+1}).
//! Deterministic by seed (initial states drawn in order from one generator; integration and
//! rendering in parallel). Saved by `hnn data` as `.safetensors` or `.npz` ([`PixelDataset::save`]).
//! Experiments render afresh instead of reading a cache: the reference's 200 trajectories take
//! under a second to render and would take 64 MB per seed on disk.

use crate::render::PendulumRenderer;
use candle_core::{Device, Tensor};
use hnn_core::integrators::DormandPrince;
use hnn_systems::{AnalyticHamiltonian, Error, Pendulum, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Metadata key of a pixel dataset file (the task, the seed and the layout, as JSON).
pub const META_KEY: &str = "hnn.pixels";

/// A pixel-pendulum data task (the reference: 200 trajectories of 100 usable steps, |θ| < π/6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PixelTask {
    /// Number of trajectories.
    pub trajectories: usize,
    /// Usable steps per trajectory: each trajectory has `steps + 2` frames, giving `steps + 1`
    /// frame pairs and `steps` transitions between pairs.
    pub steps: usize,
    /// Time between frames.
    pub dt: f64,
    /// Largest |θ| reached along a trajectory (initial states are drawn until this holds).
    pub max_angle: f64,
    /// The pendulum (default: g/l = 15, the small-angle frequency of the reference's rendered
    /// gym pendulum, 3g/2l with g = 10, l = 1).
    pub pendulum: Pendulum,
    /// How frames are drawn.
    pub renderer: PendulumRenderer,
    /// Fraction of trajectories held out (the first ones).
    pub test_fraction: f64,
}

impl Default for PixelTask {
    fn default() -> Self {
        Self {
            trajectories: 200,
            steps: 100,
            dt: 0.05,
            max_angle: std::f64::consts::FRAC_PI_6,
            pendulum: Pendulum::new(1.0, 15.0, 1.0),
            renderer: PendulumRenderer::default(),
            test_fraction: 0.2,
        }
    }
}

/// Frames and the true states behind them.
#[derive(Debug, Clone)]
pub struct PixelDataset {
    /// `[trajectories, frames, size²]` grey levels (f32).
    pub frames: Tensor,
    /// `[trajectories, frames, 2]` true (θ, p) (f64).
    pub states: Tensor,
    /// The task that made them.
    pub task: PixelTask,
    /// The seed.
    pub seed: u64,
}

impl PixelTask {
    /// Checks the settings, naming the wrong one.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidSetting(m));
        self.renderer.validate()?;
        if self.trajectories == 0 || self.steps == 0 {
            return bad("pixels: trajectories and steps must be at least 1".into());
        }
        if !(self.dt > 0.0 && self.dt.is_finite()) {
            return bad(format!("pixels.dt must be positive, got {}", self.dt));
        }
        if !(self.max_angle > 0.0 && self.max_angle < std::f64::consts::PI) {
            return bad(format!("pixels.max_angle must be in (0, π), got {}", self.max_angle));
        }
        if !(0.0..1.0).contains(&self.test_fraction) {
            return bad(format!("pixels.test_fraction must be in [0, 1), got {}", self.test_fraction));
        }
        hnn_systems::System::from(hnn_systems::analytic::Pendulum::new(
            self.pendulum.m,
            self.pendulum.g,
            self.pendulum.l,
        ))
        .validate()
    }

    /// Frames per trajectory.
    pub fn frames(&self) -> usize {
        self.steps + 2
    }

    /// The amplitude reached from (θ, p): the angle where all the energy is potential.
    pub fn amplitude(&self, z: &[f64]) -> f64 {
        let h = &self.pendulum;
        let e = h.energy_at(z);
        let mgl = h.m * h.g * h.l;
        if e >= 2.0 * mgl {
            f64::INFINITY // it goes over the top
        } else {
            (1.0 - e / mgl).acos()
        }
    }

    /// One initial state whose swing stays within `max_angle` (rejection sampling).
    pub fn initial_state(&self, rng: &mut impl Rng) -> Vec<f64> {
        let h = &self.pendulum;
        let p_max = (2.0 * h.m * h.l * h.l * h.m * h.g * h.l * (1.0 - self.max_angle.cos())).sqrt();
        loop {
            let z = vec![rng.random_range(-self.max_angle..self.max_angle), rng.random_range(-p_max..p_max)];
            if self.amplitude(&z) < self.max_angle {
                return z;
            }
        }
    }

    /// Trajectories from `starts` sampled at `frames` instants `dt` apart (row-major `[F·2]`).
    pub fn integrate(&self, starts: &[Vec<f64>], frames: usize) -> Result<Vec<Vec<f64>>> {
        let times: Vec<f64> = (0..frames).map(|k| k as f64).collect();
        self.integrate_at(starts, &times)
    }

    /// Trajectories from `starts` at `frames` (times in frames, `dt` apart; row-major `[T·2]`),
    /// integrated to 1e-10.
    pub fn integrate_at(&self, starts: &[Vec<f64>], frames: &[f64]) -> Result<Vec<Vec<f64>>> {
        let times: Vec<f64> = frames.iter().map(|k| k * self.dt).collect();
        let solver = DormandPrince::truth();
        starts
            .par_iter()
            .map(|y0| Ok(solver.solve_slice(|y, dy| self.pendulum.time_derivatives_at(y, dy), y0, &times)?))
            .collect()
    }

    /// Renders trajectories (`[F·2]` states each) into `[N·F·size²]` grey levels.
    pub fn render(&self, trajectories: &[Vec<f64>]) -> Vec<f32> {
        let px = self.renderer.pixels();
        let angles: Vec<f64> = trajectories.iter().flat_map(|t| t.chunks(2).map(|z| z[0])).collect();
        let mut out = vec![0f32; angles.len() * px];
        out.par_chunks_mut(px)
            .zip(angles.par_iter())
            .for_each(|(frame, &theta)| self.renderer.render_into(theta, frame));
        out
    }

    /// Generates the dataset for `seed`.
    pub fn generate(&self, seed: u64) -> Result<PixelDataset> {
        self.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let starts: Vec<Vec<f64>> = (0..self.trajectories).map(|_| self.initial_state(&mut rng)).collect();
        let f = self.frames();
        let states = self.integrate(&starts, f)?;
        let frames = self.render(&states);
        let n = self.trajectories;
        Ok(PixelDataset {
            frames: Tensor::from_vec(frames, (n, f, self.renderer.pixels()), &Device::Cpu)?,
            states: Tensor::from_vec(states.concat(), (n, f, 2), &Device::Cpu)?,
            task: self.clone(),
            seed,
        })
    }
}

impl PixelDataset {
    /// Number of held-out trajectories (the first ones).
    pub fn test_trajectories(&self) -> usize {
        (self.frames.dims()[0] as f64 * self.task.test_fraction).floor() as usize
    }

    /// Frame pairs x_t = (frame_t, frame_{t+1}) of trajectories `[start, start + len)`:
    /// `[len, steps + 1, 2·size²]`.
    pub fn pairs(&self, start: usize, len: usize) -> Result<Tensor> {
        let frames = self.frames.narrow(0, start, len)?;
        let f = frames.dims()[1];
        Ok(Tensor::cat(&[frames.narrow(1, 0, f - 1)?, frames.narrow(1, 1, f - 1)?], 2)?)
    }

    /// Saves as `.safetensors` (tensors `frames`, `states`; JSON metadata under `hnn.pixels`) or
    /// as numpy's `.npz` (the metadata as the byte array `meta_json`), by extension, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let meta = serde_json::json!({ "task": self.task, "seed": self.seed, "layout": "q,p" }).to_string();
        let tensors = [("frames", self.frames.contiguous()?), ("states", self.states.contiguous()?)];
        hnn_systems::io::write_tensors(path, &tensors, META_KEY, &meta)
    }

    /// Loads a file written by [`PixelDataset::save`], checking shapes and values.
    pub fn load(path: &Path) -> Result<Self> {
        let (mut map, meta) = hnn_systems::io::read_tensors(path, META_KEY)?;
        let meta = meta.ok_or_else(|| Error::bad_file(path, "no `hnn.pixels` metadata: not a pixel dataset"))?;
        #[derive(Deserialize)]
        struct Meta {
            task: PixelTask,
            seed: u64,
        }
        let meta: Meta = serde_json::from_str(&meta).map_err(|e| Error::bad_file(path, format!("metadata: {e}")))?;
        let (Some(frames), Some(states)) = (map.remove("frames"), map.remove("states")) else {
            return Err(Error::bad_file(path, "tensors `frames` and `states` are required"));
        };
        let frames = frames.to_dtype(candle_core::DType::F32)?;
        let (n, f, px) = frames.dims3().map_err(|_| Error::bad_file(path, "frames must be [N, F, pixels]"))?;
        if states.dims() != [n, f, 2] || px != meta.task.renderer.pixels() || f != meta.task.frames() {
            return Err(Error::bad_file(
                path,
                format!("shapes {:?} / {:?} do not match the task", frames.dims(), states.dims()),
            ));
        }
        let values: Vec<f32> = frames.flatten_all()?.to_vec1()?;
        if values.iter().any(|v| !(0.0..=1.0).contains(v)) {
            return Err(Error::bad_file(path, "frames hold values outside [0, 1] or NaN"));
        }
        Ok(Self { frames, states: states.to_dtype(candle_core::DType::F64)?, task: meta.task, seed: meta.seed })
    }
}
