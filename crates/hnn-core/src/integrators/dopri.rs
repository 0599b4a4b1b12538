//! Dormand–Prince 5(4): as a fixed-step 5th-order [`Integrator`] ([`DormandPrinceStep`]) and as
//! an adaptive solver with error control and dense output ([`DormandPrince`]), the equivalent
//! of scipy's `solve_ivp(method="RK45")` that the reference code evaluates with; the same solver
//! also runs Dormand and Prince's 8(5,3) pair ([`EmbeddedPair::Dop853`], scipy's `"DOP853"`),
//! which needs several times fewer field evaluations at tight tolerances.
//!
//! The adaptive algorithm is written once, over a `Pair` (one file each: [`super::dopri5`],
//! [`super::dop853`]) and a small `StateOps` backend, and runs on batched candle tensors
//! (learned models, all trajectories sharing one step size) or on plain `f64` slices (one
//! trajectory, for fast data generation in parallel).

use super::dop853::Dop853;
use super::dopri5::Dopri5;
use super::pair::Pair;
use super::state_ops::{SliceOps, StateOps, TensorOps};
use super::{check_times, Integrator};
use crate::error::{Error, Result};
use crate::hamiltonian::VectorField;
use candle_core::{DType, Tensor};

pub use super::dopri5::{A, B, C, E, P};

const SAFETY: f64 = 0.9;
const MIN_FACTOR: f64 = 0.2;
const MAX_FACTOR: f64 = 10.0;

/// The Dormand–Prince 5th-order solution as a fixed-step integrator (no error control).
#[derive(Debug, Clone, Copy, Default)]
pub struct DormandPrinceStep;

impl Integrator for DormandPrinceStep {
    fn name(&self) -> &'static str {
        "dopri5_fixed"
    }
    fn order(&self) -> u32 {
        5
    }
    fn is_symplectic(&self) -> bool {
        false
    }
    fn step(&self, field: &dyn VectorField, z: &Tensor, dt: f64) -> Result<Tensor> {
        let mut ops = TensorOps { field };
        let k1 = ops.derivative(z)?;
        let (y_new, _) = Dopri5::stages(&mut ops, z, &k1, dt)?;
        Ok(y_new)
    }
}

/// The embedded Runge–Kutta pair of an adaptive [`DormandPrince`] solve.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EmbeddedPair {
    /// Order 5 with a 4th-order error estimate and Shampine's quartic dense output: 6 field
    /// evaluations per step (scipy's `RK45`, what the reference code uses).
    #[default]
    Dopri5,
    /// Order 8 with 5th- and 3rd-order error estimates and a 7th-order dense output: 12 field
    /// evaluations per step and 3 more for a step with output times inside (scipy's `DOP853`).
    Dop853,
}

impl EmbeddedPair {
    /// Every pair.
    pub const ALL: [EmbeddedPair; 2] = [EmbeddedPair::Dopri5, EmbeddedPair::Dop853];

    /// The name of the adaptive method that uses the pair (`dopri5`, `dop853`).
    pub fn name(self) -> &'static str {
        match self {
            EmbeddedPair::Dopri5 => "dopri5",
            EmbeddedPair::Dop853 => "dop853",
        }
    }
}

/// The smallest step an adaptive solve may take, as a fraction of its time span.
pub const MIN_STEP_OF_SPAN: f64 = 1e-12;

/// Adaptive Dormand–Prince with scipy's step-size control and dense output: the 5(4) pair by
/// default, or the 8(5,3) pair (`pair`).
#[derive(Debug, Clone, Copy)]
pub struct DormandPrince {
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Cap on attempted steps over the whole solve; exceeding it is an error.
    pub max_steps: usize,
    /// First step size; `None` picks one from the problem (Hairer's heuristic, as scipy).
    pub first_step: Option<f64>,
    /// The embedded pair.
    pub pair: EmbeddedPair,
}

impl Default for DormandPrince {
    /// scipy's defaults: rtol 1e-3, atol 1e-6; the 5(4) pair.
    fn default() -> Self {
        Self { rtol: 1e-3, atol: 1e-6, max_steps: 1_000_000, first_step: None, pair: EmbeddedPair::Dopri5 }
    }
}

impl DormandPrince {
    /// With the given tolerances (the 5(4) pair).
    pub fn new(rtol: f64, atol: f64) -> Self {
        Self { rtol, atol, ..Self::default() }
    }

    /// The solver every true trajectory is integrated with: the 5(4) pair at rtol 1e-10,
    /// atol 1e-12 (evaluation truths, the pixel pendulum's states).
    pub fn truth() -> Self {
        Self::new(1e-10, 1e-12)
    }

    /// The 8(5,3) pair with the given tolerances.
    pub fn dop853(rtol: f64, atol: f64) -> Self {
        Self { pair: EmbeddedPair::Dop853, ..Self::new(rtol, atol) }
    }

    /// Solves ż = f(z) for a batch `[batch, 2n]` from `times[0]`; returns `[T, batch, 2n]`.
    /// All trajectories share the step size (the worst one sets it). f64 states on the CPU are
    /// kept as host rows, so that only the field sees tensors (the state arithmetic of a stage on
    /// a few trajectories costs more in tensor ops than in flops); other states stay tensors.
    pub fn solve(&self, field: &dyn VectorField, z0: &Tensor, times: &[f64]) -> Result<Tensor> {
        if z0.device().is_cpu() && z0.dtype() == DType::F64 && z0.rank() == 2 {
            let (rows, dim) = z0.dims2()?;
            let f = |y: &[f64], dy: &mut [f64]| -> Result<()> {
                crate::exec::host::time_derivatives_rows(field, y, dy, dim)
            };
            let mut ops = SliceOps { f, dim };
            let states = self.integrate(&mut ops, z0.flatten_all()?.to_vec1::<f64>()?, times)?;
            return Ok(Tensor::from_vec(states.concat(), (times.len(), rows, dim), z0.device())?);
        }
        self.solve_tensors(field, z0, times)
    }

    /// [`solve`](Self::solve) with the state arithmetic in tensor ops on the states' device,
    /// whatever their type (what `solve` does for states off the CPU or not in f64).
    pub fn solve_tensors(&self, field: &dyn VectorField, z0: &Tensor, times: &[f64]) -> Result<Tensor> {
        let mut ops = TensorOps { field };
        let states = self.integrate(&mut ops, z0.clone(), times)?;
        Ok(Tensor::stack(&states, 0)?)
    }

    /// Solves the autonomous ODE y' = f(y) for one trajectory of plain `f64`s; `f(y, dy)` writes
    /// the derivative into `dy`. Returns the states at `times`, row-major `[T, dim]`.
    pub fn solve_slice<F: FnMut(&[f64], &mut [f64])>(&self, mut f: F, y0: &[f64], times: &[f64]) -> Result<Vec<f64>> {
        let f = |y: &[f64], dy: &mut [f64]| -> Result<()> {
            f(y, dy);
            Ok(())
        };
        super::check_rollout_size(times.len(), y0.len())?;
        let mut ops = SliceOps { f, dim: y0.len().max(1) };
        let states = self.integrate(&mut ops, y0.to_vec(), times)?;
        Ok(states.concat())
    }

    fn validate(&self) -> Result<()> {
        let ok = |x: f64| x.is_finite() && x >= 0.0;
        if !ok(self.rtol) || !ok(self.atol) || self.rtol + self.atol == 0.0 {
            return Err(Error::InvalidArgument(format!(
                "Dormand–Prince tolerances must be non-negative and not both zero (rtol {}, atol {})",
                self.rtol, self.atol
            )));
        }
        if let Some(h) = self.first_step {
            if !(h > 0.0 && h.is_finite()) {
                return Err(Error::InvalidArgument(format!("first_step must be positive, got {h}")));
            }
        }
        Ok(())
    }

    /// The adaptive loop with this solver's pair, independent of the state representation.
    fn integrate<O: StateOps>(&self, ops: &mut O, y0: O::State, times: &[f64]) -> Result<Vec<O::State>> {
        match self.pair {
            EmbeddedPair::Dopri5 => self.integrate_with::<O, Dopri5>(ops, y0, times),
            EmbeddedPair::Dop853 => self.integrate_with::<O, Dop853>(ops, y0, times),
        }
    }

    /// The adaptive loop with the pair `P`: step-size control, first-same-as-last and the dense
    /// output of every requested time share the step's state, so the loop is one function.
    fn integrate_with<O: StateOps, P: Pair>(&self, ops: &mut O, y0: O::State, times: &[f64]) -> Result<Vec<O::State>> {
        self.validate()?;
        check_times(times)?;
        let (t_start, t_end) = (times[0], times[times.len() - 1]);
        let mut out = Vec::with_capacity(times.len());
        out.push(y0.clone());
        if times.len() == 1 {
            return Ok(out);
        }
        let mut next_out = 1;
        let mut t = t_start;
        let mut y = y0;
        let mut k1 = ops.derivative(&y)?;
        let mut h = match self.first_step {
            Some(h) => h,
            None => self.initial_step(ops, &y, &k1, P::ERROR_ORDER)?,
        }
        .min(t_end - t_start);
        let mut steps = 0usize;
        let mut rejected = false;
        while next_out < times.len() {
            if steps >= self.max_steps {
                return Err(Error::StepLimit {
                    method: "Dormand–Prince",
                    reason: format!("step cap {} reached", self.max_steps),
                    t,
                    steps,
                });
            }
            // Below 1e-12 of the span, finishing would take ~1e12 steps: a field that blows up
            // (a diverged model) is refused after a few rejected steps, not at the step cap.
            let min_step = (10.0 * f64::EPSILON * t.abs()).max(MIN_STEP_OF_SPAN * (t_end - t_start)).max(1e-300);
            if h < min_step {
                return Err(Error::StepLimit {
                    method: "Dormand–Prince",
                    reason: format!(
                        "step size {h:.3e} below the minimum {min_step:.3e} (1e-12 of the span, or round-off at t): the \
                         field is singular or blows up there (a diverged model?)"
                    ),
                    t,
                    steps,
                });
            }
            h = h.min(t_end - t);
            steps += 1;
            let (y_new, mut k) = P::stages(ops, &y, &k1, h)?;
            // The largest over trajectories; NaN propagates (the step is then refused).
            let norm = P::error_norms(ops, &k, h, &y, &y_new, self.rtol, self.atol)?
                .into_iter()
                .fold(0.0, |m: f64, x| if x.is_nan() || m.is_nan() { f64::NAN } else { m.max(x) });
            if !norm.is_finite() {
                return Err(Error::NonFinite(format!("Dormand–Prince step at t = {t}")));
            }
            let exponent = -1.0 / (P::ERROR_ORDER + 1.0);
            if norm < 1.0 {
                let t_new = if t + h >= t_end - 1e-14 * t_end.abs() { t_end } else { t + h };
                // Dense output for every requested time inside (t, t_new], prepared once per step.
                let mut dense: Option<Vec<O::State>> = None;
                while next_out < times.len() && times[next_out] <= t_new {
                    let theta = if next_out + 1 == times.len() && t_new == t_end {
                        1.0
                    } else {
                        ((times[next_out] - t) / h).clamp(0.0, 1.0)
                    };
                    let state = if theta == 1.0 {
                        y_new.clone()
                    } else {
                        if dense.is_none() {
                            dense = Some(P::dense(ops, &y, &y_new, &mut k, h)?);
                        }
                        P::dense_at(ops, &y, &k, dense.as_ref().expect("prepared"), h, theta)?
                    };
                    out.push(state);
                    next_out += 1;
                }
                let mut factor =
                    if norm == 0.0 { MAX_FACTOR } else { (SAFETY * norm.powf(exponent)).clamp(MIN_FACTOR, MAX_FACTOR) };
                if rejected {
                    factor = factor.min(1.0);
                }
                t = t_new;
                y = y_new;
                // First same as last: the new state's derivative is the last stage of the step.
                k.truncate(P::STEP_STAGES);
                k1 = k.pop().expect("stages");
                h *= factor;
                rejected = false;
            } else {
                h *= (SAFETY * norm.powf(exponent)).max(MIN_FACTOR);
                rejected = true;
            }
        }
        Ok(out)
    }

    /// Hairer's initial step heuristic, as in scipy's `select_initial_step`.
    fn initial_step<O: StateOps>(&self, ops: &mut O, y0: &O::State, f0: &O::State, order: f64) -> Result<f64> {
        let d0 = ops.scaled_norm(y0, y0, y0, self.rtol, self.atol)?;
        let d1 = ops.scaled_norm(f0, y0, y0, self.rtol, self.atol)?;
        let h0 = if d0 < 1e-5 || d1 < 1e-5 { 1e-6 } else { 0.01 * d0 / d1 };
        let y1 = ops.lincomb(Some(y0), &[(h0, f0)])?;
        let f1 = ops.derivative(&y1)?;
        let diff = ops.lincomb(Some(&f1), &[(-1.0, f0)])?;
        let d2 = ops.scaled_norm(&diff, y0, y0, self.rtol, self.atol)? / h0;
        let h1 = if d1 <= 1e-15 && d2 <= 1e-15 {
            (h0 * 1e-3).max(1e-6)
        } else {
            (0.01 / d1.max(d2)).powf(1.0 / (order + 1.0))
        };
        Ok((100.0 * h0).min(h1))
    }
}
