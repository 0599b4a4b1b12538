//! # hnn-core
//!
//! The core of hnn: Hamiltonian systems, learned Hamiltonians, and integrators, on candle.
//!
//! - [`symplectic`]: the state layout z = (q, p) and the symplectic matrix J.
//! - [`hamiltonian`]: the [`VectorField`] and [`Hamiltonian`] traits every system and model
//!   implements, the notebook-style (q, p) API ([`PhaseSpace`]), and [`InPrecision`] (a field
//!   evaluated in another float type than the states).
//! - [`activation`]: activations, each one formula for σ, σ′, σ″ that the tensor path and the
//!   kernels both evaluate; [`fast_tanh`]: vectorized f32 and f64 tanh for the CPU.
//! - [`mlp`]: an MLP that returns ∂output/∂input with plain tensor ops (the second-derivative
//!   route candle needs).
//! - [`exec`]: the execution layer: how a model is computed on each device and dtype (fused
//!   CPU kernels for training and inference, the tensor-op backward for the GPU with its CUDA
//!   kernels, autograd for everything else) and the CPU thread budget, chosen there and nowhere
//!   else.
//! - [`models`]: [`NeuralHamiltonian`], [`SeparableHamiltonian`], [`DissipativeHamiltonian`]
//!   (ż = (J − R)∇H, a learned friction), [`Baseline`], [`NeuralLagrangian`], [`DeepLagrangian`].
//! - [`lagrangian`]: the [`Lagrangian`] trait on states (q, q̇), its Euler–Lagrange field
//!   [`EulerLagrange`] and energy; models [`NeuralLagrangian`] (the LNN) and [`DeepLagrangian`]
//!   (DeLaN's ½q̇ᵀM(q)q̇ − V(q)); [`linalg`]: the batched pivoted solve they need.
//! - [`init`]: seeded orthogonal initialisation of a model's variables.
//! - [`integrators`]: symplectic Euler, leapfrog, Yoshida 4, implicit midpoint, Tao, Euler, RK4,
//!   Dormand–Prince 5(4) (fixed and adaptive) and adaptive DOP853, [`integrators::rollout`] and
//!   [`integrators::rollout_parallel`] (groups of trajectories on CPU threads).
//! - [`langevin`]: the BAOAB Langevin thermostat, sampling exp(−H/kT) with any separable H.
//! - [`error`]: the error type.

pub mod activation;
pub mod error;
pub mod exec;
pub mod fast_tanh;
pub mod hamiltonian;
pub mod init;
pub mod integrators;
pub mod lagrangian;
pub mod langevin;
pub mod linalg;
pub mod mlp;
pub mod models;
mod names;
pub mod symplectic;

pub use activation::Activation;
pub use error::{Error, Result};
pub use exec::threads::cpu_threads;
pub use exec::LossGradients;
pub use hamiltonian::{Hamiltonian, InPrecision, PhaseSpace, VectorField};
pub use integrators::{rollout, rollout_parallel, Integrator, IntegratorKind, RolloutMethod, Solver};
pub use lagrangian::{EulerLagrange, Lagrangian, LagrangianEnergy};
pub use models::{
    Baseline, DeepLagrangian, DissipativeHamiltonian, NeuralHamiltonian, NeuralLagrangian, SeparableHamiltonian,
};
pub use symplectic::{apply_j, join_qp, split_qp, symplectic_matrix, Coordinates};
