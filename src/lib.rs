//! # hnn: Hamiltonian Neural Networks on candle
//!
//! Learn a system's dynamics from data as an energy H(q, p), whose symplectic gradient
//! ż = J∇H is the field: long rollouts then keep an energy-like quantity where a plain network
//! drifts. With your own data, in about ten lines:
//!
//! ```no_run
//! use hnn::prelude::*;
//!
//! fn main() -> hnn::Result<()> {
//!     // Trajectories from numpy: np.savez("pendulum.npz", t=t, z=z), t [T], z [T, B, 2n] (q, then p);
//!     // or pairs np.savez(…, z=z, dz=dz), both [N, 2n]; or `hnn data pendulum --out pendulum.npz`.
//!     let data = load_dataset("pendulum.npz", &TrajectoryOptions::default())?;
//!     let mut model = HnnModel::new(&ModelConfig::default(), data.meta.dof)?;
//!     let report = model.fit(&data, TrainConfig { steps: 500, ..TrainConfig::default() })?;
//!     println!("train loss {:.2e}, {:?}", report.train_curve.last().unwrap(), model.evaluate(&data)?.test_loss);
//!     let z0 = Tensor::new(&[[1.0f64, 0.0]], &Device::Cpu)?;
//!     let (dz, h) = (model.predict_derivatives(&z0)?.to_vec2::<f64>()?, model.energy(&z0)?.to_vec1::<f64>()?);
//!     println!("ż(1, 0) = {dz:?}, H(1, 0) = {h:?}");
//!     let times: Vec<f64> = (0..=100).map(|k| 0.1 * k as f64).collect();
//!     let orbit = model.rollout(&z0, &times, &Solver::dopri5(1e-9, 1e-9))?; // [101, 1, 2]
//!     println!("z(10) = {:?}", orbit.get(100)?.to_vec2::<f64>()?);
//!     model.save("pendulum_hnn.safetensors")
//! }
//! ```
//!
//! The same program runs as a test below, on a file it makes first. [`HnnModel`] takes every
//! model kind ([`ModelKind`](prelude::ModelKind): HNN, separable HNN, baseline, and any kind
//! registered later), gradient or trajectory matching with any integrator
//! ([`TrainConfig::trajectory`](prelude::TrainConfig::trajectory)), f32 or f64, the CPU or a GPU.
//!
//! ```
//! # use hnn::prelude::*;
//! # fn main() -> hnn::Result<()> {
//! # let dir = std::env::temp_dir().join(format!("hnn-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).unwrap();
//! # std::env::set_current_dir(&dir).unwrap();
//! # // Eight pendulum trajectories on one grid, saved as numpy would.
//! # let pendulum = hnn::systems::Pendulum { m: 1.0, g: 3.0, l: 1.0 };
//! # let times: Vec<f64> = (0..30).map(|k| 0.1 * k as f64).collect();
//! # let z0 = Tensor::new(&[[0.5f64, 0.0], [1.0, 0.5], [-0.8, 0.3], [0.2, -1.0], [1.2, 0.0], [0.0, 1.1], [-0.4, -0.6], [0.7, 0.7]], &Device::Cpu)?;
//! # let z = hnn::core::rollout(&pendulum, &z0, &times, &Solver::dopri5(1e-10, 1e-10))?;
//! # let t = Tensor::new(times.as_slice(), &Device::Cpu)?;
//! # Tensor::write_npz(&[("t", &t), ("z", &z)], "pendulum.npz")?;
//! let data = load_dataset("pendulum.npz", &TrajectoryOptions::default())?;
//! let config = ModelConfig { hidden: vec![32, 32], ..ModelConfig::default() };
//! let mut model = HnnModel::new(&config, data.meta.dof)?;
//! let report = model.fit(&data, TrainConfig { steps: 300, learning_rate: 3e-3, ..TrainConfig::default() })?;
//! assert!(report.train_curve.last().unwrap() < &report.train_curve[0]);
//! let z0 = Tensor::new(&[[1.0f64, 0.0]], &Device::Cpu)?;
//! let dz = model.predict_derivatives(&z0)?;
//! let orbit = model.rollout(&z0, &[0.0, 0.5, 1.0], &Solver::dopri5(1e-9, 1e-9))?;
//! assert_eq!((dz.dims(), orbit.dims()), (&[1, 2][..], &[3, 1, 2][..]));
//! model.save("pendulum_hnn.safetensors")?;
//! let loaded = HnnModel::load("pendulum_hnn.safetensors")?;
//! assert_eq!(loaded.predict_derivatives(&z0)?.to_vec2::<f64>()?, dz.to_vec2::<f64>()?);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok(())
//! # }
//! ```
//!
//! ## The crates
//! This facade re-exports the workspace's crates:
//! - [`core`] (`hnn-core`): the `Hamiltonian`/`VectorField` traits, `NeuralHamiltonian`,
//!   `SeparableHamiltonian`, `Baseline`, the integrators, and the execution layer.
//! - [`systems`] (`hnn-systems`): analytic systems, data generators, datasets, and
//!   [`systems::import`] for your own data.
//! - [`pixels`] (`hnn-pixels`): the pixel pendulum.
//! - [`train`] (`hnn-train`): [`HnnModel`], training, evaluation, checkpoints, experiments.
//! - [`cli`]: the `hnn` command line; [`experiments`]: the experiments it knows (embedded in
//!   the binary, overridden by local files); [`prelude`]: what a program needs.
//!
//! ## Fast by default
//! Nothing to call or set: hnn's products run its own CPU kernels with their own thread
//! budget (no environment variables are read or written for it), and with the default
//! feature `mimalloc` this crate installs mimalloc as the program's allocator, set to keep
//! freed memory (small-tensor training allocates and frees the same buffers every step). A
//! program that installs its own `#[global_allocator]` depends on hnn with
//! `default-features = false`.

/// `println!` for the command's results: a standard output that cannot be written (a full
/// device) is an error naming it, returned with `?`, not a panic.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::cli::say(format_args!($($arg)*))?
    };
}

pub mod cli;
#[cfg(doctest)]
mod docs;
pub mod experiments;
pub mod fit;
pub mod prelude;

pub use hnn_core as core;
pub use hnn_pixels as pixels;
pub use hnn_systems as systems;
pub use hnn_train as train;
pub use hnn_train::{Error, Evaluation, FitOptions, HnnModel, ModelConfig, Result};

#[cfg(feature = "mimalloc")]
mod allocator;

/// Tunes mimalloc for training loops: keep freed memory instead of returning it to the OS
/// after 10 ms. Each training step frees and reallocates the same large temporaries; with
/// purging on, the kernel zeroes those pages again every step (measured: 15 900 → 2 100 page
/// faults, 5.7 → 3.7 s on a 100-step spring run). With the `mimalloc` feature this happens by
/// itself at the first allocation.
#[cfg(feature = "mimalloc")]
pub fn keep_freed_memory() {
    // mi_option_purge_delay: index 15 in mimalloc v2 and v3 (mimalloc.h); -1 = never purge.
    const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: sets a process-wide allocator option; mimalloc reads options atomically.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}
