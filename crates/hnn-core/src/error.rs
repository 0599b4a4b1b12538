//! The error type of hnn-core.

use thiserror::Error;

/// Everything that can go wrong in hnn-core. Every variant names the problem in words a user
/// can act on; candle's own errors pass through unchanged.
#[derive(Debug, Error)]
pub enum Error {
    /// An error raised by candle (shapes, dtypes, devices, backprop).
    #[error(transparent)]
    Candle(#[from] candle_core::Error),

    /// A state tensor does not have the layout the operation needs.
    #[error("state has shape {got:?}, expected {expected} (layout [batch, 2n] with q first, then p)")]
    StateShape { got: Vec<usize>, expected: String },

    /// An activation without a usable second derivative was asked for where one is required.
    #[error("activation `{0}` has zero curvature, so a Hamiltonian network built on it cannot be trained by gradient matching (its ∇H is piecewise constant); use tanh, softplus, sin, silu or gelu")]
    ActivationNotTwiceDifferentiable(String),

    /// An activation name that is not known.
    #[error("unknown activation `{0}` (known: tanh, softplus, sin, silu, gelu, relu)")]
    UnknownActivation(String),

    /// An explicit symplectic integrator was given a Hamiltonian that is not separable.
    #[error("{integrator} needs a separable Hamiltonian H = T(p) + V(q); this one is not. use implicit_midpoint or tao (symplectic for any H), rk4, dopri5 or dop853, or the separable_hnn model (SeparableHamiltonian)")]
    NotSeparable { integrator: &'static str },

    /// A Hamiltonian integrator was given a vector field without a Hamiltonian.
    #[error("{integrator} integrates Hamiltonian systems only, and this vector field has no Hamiltonian (the baseline, the dissipative HNN and the Lagrangian models have none, nor does a field evaluated in another precision); use rk4, dopri5 or dop853")]
    NotHamiltonian { integrator: &'static str },

    /// An implicit solve did not converge.
    #[error("{method}: fixed-point iteration did not converge in {iterations} iterations (last change {residual:.3e}, tolerance {tolerance:.1e}); reduce dt or raise the iteration cap")]
    NoConvergence { method: &'static str, iterations: usize, residual: f64, tolerance: f64 },

    /// An adaptive solver hit its step cap or its minimum step.
    #[error("{method}: {reason} at t = {t} (after {steps} steps); the problem may be stiff or singular, or the tolerance too tight")]
    StepLimit { method: &'static str, reason: String, t: f64, steps: usize },

    /// A value produced along the way is NaN or infinite.
    #[error("{0}: non-finite value (NaN or Inf)")]
    NonFinite(String),

    /// A linear system of the dynamics has no usable solution at some state.
    #[error("{what} is singular or too ill-conditioned to solve at state {state} of the batch (its smallest pivot is {ratio:.2e} of its largest entry, or it is not finite): the equations of motion do not determine the accelerations there. A DeLaN-style model (`delan`) keeps its mass matrix positive definite by construction; a lower learning rate or f64 may also help")]
    IllConditioned { what: String, state: usize, ratio: f64 },

    /// An argument that makes no sense (non-positive step, empty grid, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

/// Result with hnn-core's [`Error`](enum@Error).
pub type Result<T> = std::result::Result<T, Error>;
