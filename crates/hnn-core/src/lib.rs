//! # hnn-core
//!
//! The core of hnn: Hamiltonian systems, learned Hamiltonians, and integrators, on candle.
//!
//! - [`symplectic`]: the state layout z = (q, p) and the symplectic matrix J.
//! - [`hamiltonian`]: the [`VectorField`] and [`Hamiltonian`] traits every system and model
//!   implements, the notebook-style (q, p) API ([`PhaseSpace`]), and [`InPrecision`] (a field
//!   evaluated in another float type than the states).
//! - [`activation`]: activations with differentiable derivatives; [`fast_tanh`]: vectorized f32
//!   and f64 tanh for the CPU.
//! - [`mlp`]: an MLP that returns ∂output/∂input with plain tensor ops (the second-derivative
//!   route candle needs).
//! - [`fused`]: CPU kernels that compute a gradient-matching loss and all its parameter
//!   gradients in one pass, without an autograd graph (the fast training path);
//!   [`explicit`]: the same backward in tensor ops, for the GPU; `cuda_kernels` (with the `cuda`
//!   feature): its fused tanh kernels.
//! - [`small_gemm`]: AVX-512 products of a few rows that skip gemm's packing (rollout stages).
//! - [`models`]: [`NeuralHamiltonian`], [`SeparableHamiltonian`], [`Baseline`].
//! - [`init`]: seeded orthogonal initialisation of a model's variables.
//! - [`integrators`]: symplectic Euler, leapfrog, Yoshida 4, implicit midpoint, Tao, Euler, RK4,
//!   Dormand–Prince 5(4) (fixed and adaptive) and adaptive DOP853, [`rollout`](integrators::rollout) and
//!   [`rollout_parallel`](integrators::rollout_parallel) (groups of trajectories on CPU threads).
//! - [`error`]: the error type.

pub mod activation;
#[cfg(feature = "cuda")]
pub mod cuda_kernels;
pub mod error;
pub mod explicit;
pub mod fast_tanh;
pub mod fused;
pub mod hamiltonian;
pub mod init;
pub mod integrators;
pub mod mlp;
pub mod models;
pub mod small_gemm;
pub mod symplectic;

pub use activation::Activation;
pub use error::{Error, Result};
pub use fused::LossGradients;
pub use hamiltonian::{Hamiltonian, InPrecision, PhaseSpace, VectorField};
pub use integrators::{cpu_threads, rollout, rollout_parallel, Integrator, IntegratorKind, Solver};
pub use models::{Baseline, NeuralHamiltonian, SeparableHamiltonian};
pub use symplectic::{apply_j, join_qp, split_qp, symplectic_matrix};
