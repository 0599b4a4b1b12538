//! # hnn-systems
//!
//! The ground truth of every experiment.
//!
//! - [`analytic`]: analytic Hamiltonians with exact gradients — [`HarmonicOscillator`]
//!   (and the reference spring), [`DampedOscillator`] (with friction, exact solution), [`Pendulum`], [`NBody`] gravity, [`DoubleWell`],
//!   [`HenonHeiles`], [`OscillatorChain`], the N-link [`ChainPendulum`] (in (q, p) or (q, q̇)) — usable on `f64` slices and as hnn-core tensor
//!   Hamiltonians.
//! - [`system`]: [`System`], every analytic system as one serializable value.
//! - [`generate`]: the reference data generators ([`TrajectoryTask`] and its presets),
//!   parallel and deterministic by seed.
//! - [`real`]: the Schmidt & Lipson real-pendulum measurements.
//! - [`derivatives`]: finite differences of sampled trajectories, honouring gaps.
//! - [`dataset`]: [`Dataset`] of (z, ż) with train/test split, metadata and batching.
//! - [`import`]: datasets from your own data: (z, ż) pairs, trajectories, `.npz` and CSV files.
//! - [`io`]: `.safetensors` and `.npz` dataset files, atomic writes.
//! - [`sealed`]: safetensors files with a checksum of their whole content (datasets, checkpoints).
//! - [`error`]: the error type.

pub mod analytic;
pub mod dataset;
pub mod derivatives;
pub mod error;
pub mod generate;
pub mod import;
pub mod io;
pub mod real;
pub mod sealed;
pub mod system;

pub use analytic::{
    AnalyticHamiltonian, ChainPendulum, DampedOscillator, DoubleWell, HarmonicOscillator, HenonHeiles, NBody,
    OscillatorChain, Pendulum,
};
pub use dataset::{Dataset, DatasetMeta, Split};
pub use error::{Error, Result};
pub use generate::{InitialStates, TrajectoryTask};
pub use system::System;
