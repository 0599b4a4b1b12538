//! [`Pair`]: one embedded Runge–Kutta pair with dense output, as the adaptive
//! [`DormandPrince`](super::DormandPrince) solver runs it. A pair is one file that implements
//! this trait ([`Dopri5`](super::dopri5::Dopri5), [`Dop853`](super::dop853::Dop853)) and one
//! variant of [`EmbeddedPair`](super::EmbeddedPair) that names it.

use super::state_ops::StateOps;
use crate::error::Result;

/// An embedded pair: its stages, its error estimate and its dense output.
pub(super) trait Pair {
    /// The order q of the error estimator: the step-size factor goes as error^(−1/(q+1)).
    const ERROR_ORDER: f64;
    /// Stages of a step, the last being f at the new state (first same as last; dense output
    /// may append more).
    const STEP_STAGES: usize;

    /// One step of size `h` from `y` whose first stage is `k1`: (y_new, the step's stages).
    fn stages<O: StateOps>(ops: &mut O, y: &O::State, k1: &O::State, h: f64) -> Result<(O::State, Vec<O::State>)>;

    /// Per trajectory, the scaled error norm of the step (scipy's `_estimate_error_norm`).
    fn error_norms<O: StateOps>(
        ops: &O,
        k: &[O::State],
        h: f64,
        y: &O::State,
        y_new: &O::State,
        rtol: f64,
        atol: f64,
    ) -> Result<Vec<f64>>;

    /// Prepares the dense output of an accepted step from y to y_new (it may evaluate further
    /// stages and append them to `k`); returns what [`dense_at`](Self::dense_at) reads.
    fn dense<O: StateOps>(
        ops: &mut O,
        y: &O::State,
        y_new: &O::State,
        k: &mut Vec<O::State>,
        h: f64,
    ) -> Result<Vec<O::State>>;

    /// The state at t + θh inside the accepted step of size `h`.
    fn dense_at<O: StateOps>(
        ops: &O,
        y: &O::State,
        k: &[O::State],
        prepared: &[O::State],
        h: f64,
        theta: f64,
    ) -> Result<O::State>;
}
