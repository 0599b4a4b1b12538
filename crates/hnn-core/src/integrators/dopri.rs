//! Dormand–Prince 5(4): as a fixed-step 5th-order [`Integrator`] ([`DormandPrinceStep`]) and as
//! an adaptive solver with error control and dense output ([`DormandPrince`]), the equivalent
//! of scipy's `solve_ivp(method="RK45")` that the reference code evaluates with; the same solver
//! also runs Dormand and Prince's 8(5,3) pair ([`EmbeddedPair::Dop853`], scipy's `"DOP853"`),
//! which needs several times fewer field evaluations at tight tolerances.
//!
//! The adaptive algorithm is written once over a small [`StateOps`] backend and runs on batched
//! candle tensors (learned models, all trajectories sharing one step size) or on plain `f64`
//! slices (one trajectory, for fast data generation in parallel).

use super::{check_times, dop853, lincomb, Integrator};
use crate::error::{Error, Result};
use crate::hamiltonian::VectorField;
use candle_core::{DType, Tensor};

/// Nodes c of the Dormand–Prince tableau (7 stages, FSAL).
pub const C: [f64; 7] = [0.0, 1.0 / 5.0, 3.0 / 10.0, 4.0 / 5.0, 8.0 / 9.0, 1.0, 1.0];

/// Coupling coefficients a (row i uses the first i stages).
pub const A: [[f64; 6]; 7] = [
    [0.0; 6],
    [1.0 / 5.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [3.0 / 40.0, 9.0 / 40.0, 0.0, 0.0, 0.0, 0.0],
    [44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0, 0.0, 0.0, 0.0],
    [19372.0 / 6561.0, -25360.0 / 2187.0, 64448.0 / 6561.0, -212.0 / 729.0, 0.0, 0.0],
    [9017.0 / 3168.0, -355.0 / 33.0, 46732.0 / 5247.0, 49.0 / 176.0, -5103.0 / 18656.0, 0.0],
    [35.0 / 384.0, 0.0, 500.0 / 1113.0, 125.0 / 192.0, -2187.0 / 6784.0, 11.0 / 84.0],
];

/// 5th-order weights b (equal to the last row of A: first same as last).
pub const B: [f64; 7] = [35.0 / 384.0, 0.0, 500.0 / 1113.0, 125.0 / 192.0, -2187.0 / 6784.0, 11.0 / 84.0, 0.0];

/// Error weights b − b̂ (5th minus embedded 4th order).
pub const E: [f64; 7] =
    [-71.0 / 57600.0, 0.0, 71.0 / 16695.0, -71.0 / 1920.0, 17253.0 / 339200.0, -22.0 / 525.0, 1.0 / 40.0];

/// Shampine's quartic dense output: y(t + θh) = y + h Σᵢ kᵢ Σⱼ P[i][j] θ^{j+1}.
pub const P: [[f64; 4]; 7] = [
    [1.0, -8048581381.0 / 2820520608.0, 8663915743.0 / 2820520608.0, -12715105075.0 / 11282082432.0],
    [0.0, 0.0, 0.0, 0.0],
    [0.0, 131558114200.0 / 32700410799.0, -68118460800.0 / 10900136933.0, 87487479700.0 / 32700410799.0],
    [0.0, -1754552775.0 / 470086768.0, 14199869525.0 / 1410260304.0, -10690763975.0 / 1880347072.0],
    [0.0, 127303824393.0 / 49829197408.0, -318862633887.0 / 49829197408.0, 701980252875.0 / 199316789632.0],
    [0.0, -282668133.0 / 205662961.0, 2019193451.0 / 616988883.0, -1453857185.0 / 822651844.0],
    [0.0, 40617522.0 / 29380423.0, -110615467.0 / 29380423.0, 69997945.0 / 29380423.0],
];

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
        let (y_new, _) = stages(&mut ops, z, &k1, dt)?;
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
    /// The order of the error estimator q; the step-size factor goes as error^(−1/(q+1)).
    fn error_order(self) -> f64 {
        match self {
            EmbeddedPair::Dopri5 => 4.0,
            EmbeddedPair::Dop853 => 7.0,
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
            let f = |y: &[f64], dy: &mut [f64]| -> Result<()> { field.time_derivatives_rows(y, dy, dim) };
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

    /// The adaptive loop, independent of the state representation.
    fn integrate<O: StateOps>(&self, ops: &mut O, y0: O::State, times: &[f64]) -> Result<Vec<O::State>> {
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
            None => self.initial_step(ops, &y, &k1)?,
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
            let (y_new, mut k) = match self.pair {
                EmbeddedPair::Dopri5 => stages(ops, &y, &k1, h)?,
                EmbeddedPair::Dop853 => stages_853(ops, &y, &k1, h)?,
            };
            let norm = self.error_norm(ops, &k, h, &y, &y_new)?;
            if !norm.is_finite() {
                return Err(Error::NonFinite(format!("Dormand–Prince step at t = {t}")));
            }
            let exponent = -1.0 / (self.pair.error_order() + 1.0);
            if norm < 1.0 {
                let t_new = if t + h >= t_end - 1e-14 * t_end.abs() { t_end } else { t + h };
                // Dense output for every requested time inside (t, t_new], prepared once per step.
                let mut dense: Option<Dense<O::State>> = None;
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
                            dense = Some(self.dense(ops, &y, &y_new, &mut k, h)?);
                        }
                        dense.as_ref().expect("prepared").at(ops, &y, &k, theta)?
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
                k.truncate(self.step_stages());
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

    /// Stages of a step, the last being f at the new state (dense output may append more).
    fn step_stages(&self) -> usize {
        match self.pair {
            EmbeddedPair::Dopri5 => 7,
            EmbeddedPair::Dop853 => 13,
        }
    }

    /// The scaled error norm of a step, the largest over trajectories (scipy's
    /// `_estimate_error_norm` for each pair).
    fn error_norm<O: StateOps>(&self, ops: &O, k: &[O::State], h: f64, y: &O::State, y_new: &O::State) -> Result<f64> {
        let combine = |w: &[f64]| lincomb_ops(ops, None, &w.iter().zip(k).map(|(e, k)| (*e, k)).collect::<Vec<_>>());
        let (rtol, atol) = (self.rtol, self.atol);
        let norms: Vec<f64> = match self.pair {
            EmbeddedPair::Dopri5 => {
                // The error h Σ eᵢ kᵢ, scaled: RMS per trajectory (as before the 8(5,3) pair).
                let (sums, n) = ops.scaled_row_sums(&combine(&E.map(|e| h * e))?, y, y_new, rtol, atol)?;
                sums.iter().map(|s| (s / n as f64).sqrt()).collect()
            }
            EmbeddedPair::Dop853 => {
                let (e5, n) = ops.scaled_row_sums(&combine(&dop853::E5)?, y, y_new, rtol, atol)?;
                let (e3, _) = ops.scaled_row_sums(&combine(&dop853::E3)?, y, y_new, rtol, atol)?;
                e5.iter()
                    .zip(&e3)
                    .map(
                        |(&e5, &e3)| {
                            if e5 == 0.0 && e3 == 0.0 {
                                0.0
                            } else {
                                h * e5 / ((e5 + 0.01 * e3) * n as f64).sqrt()
                            }
                        },
                    )
                    .collect()
            }
        };
        // NaN propagates: the caller stops on a non-finite norm.
        Ok(norms.into_iter().fold(0.0, |m: f64, x| if x.is_nan() || m.is_nan() { f64::NAN } else { m.max(x) }))
    }

    /// The dense output of an accepted step from y to y_new with stages k (DOP853 evaluates its
    /// three extra stages here and appends them to k).
    fn dense<O: StateOps>(
        &self,
        ops: &mut O,
        y: &O::State,
        y_new: &O::State,
        k: &mut Vec<O::State>,
        h: f64,
    ) -> Result<Dense<O::State>> {
        match self.pair {
            EmbeddedPair::Dopri5 => Ok(Dense::Quartic { h }),
            EmbeddedPair::Dop853 => {
                use dop853::{A as A8, D};
                for (s, row) in A8.iter().enumerate().skip(13) {
                    let terms: Vec<(f64, &O::State)> =
                        row.iter().take(s).zip(k.iter()).map(|(a, k)| (h * a, k)).collect();
                    let ys = ops.lincomb(Some(y), &terms)?;
                    let ks = ops.derivative(&ys)?;
                    k.push(ks);
                }
                // F₀ = Δy, F₁ = h f₀ − Δy, F₂ = 2Δy − h (f₀ + f₁), F₃…F₆ = h D·K.
                let dy = ops.lincomb(Some(y_new), &[(-1.0, y)])?;
                let (f0, f1) = (&k[0], &k[12]);
                let mut f = vec![
                    dy.clone(),
                    ops.lincomb(None, &[(h, f0), (-1.0, &dy)])?,
                    ops.lincomb(None, &[(2.0, &dy), (-h, f0), (-h, f1)])?,
                ];
                for row in &D {
                    f.push(ops.lincomb(None, &row.iter().zip(k.iter()).map(|(d, k)| (h * d, k)).collect::<Vec<_>>())?);
                }
                Ok(Dense::Septic { f })
            }
        }
    }

    /// Hairer's initial step heuristic, as in scipy's `select_initial_step`.
    fn initial_step<O: StateOps>(&self, ops: &mut O, y0: &O::State, f0: &O::State) -> Result<f64> {
        let d0 = ops.scaled_norm(y0, y0, y0, self.rtol, self.atol)?;
        let d1 = ops.scaled_norm(f0, y0, y0, self.rtol, self.atol)?;
        let h0 = if d0 < 1e-5 || d1 < 1e-5 { 1e-6 } else { 0.01 * d0 / d1 };
        let y1 = lincomb_ops(ops, Some(y0), &[(h0, f0)])?;
        let f1 = ops.derivative(&y1)?;
        let diff = lincomb_ops(ops, Some(&f1), &[(-1.0, f0)])?;
        let d2 = ops.scaled_norm(&diff, y0, y0, self.rtol, self.atol)? / h0;
        let order = self.pair.error_order();
        let h1 = if d1 <= 1e-15 && d2 <= 1e-15 {
            (h0 * 1e-3).max(1e-6)
        } else {
            (0.01 / d1.max(d2)).powf(1.0 / (order + 1.0))
        };
        Ok((100.0 * h0).min(h1))
    }
}

/// Everything the adaptive loop needs from a state representation.
trait StateOps {
    type State: Clone;
    /// f(y).
    fn derivative(&mut self, y: &Self::State) -> Result<Self::State>;
    /// base + Σ cᵢ·vᵢ (base absent: 0).
    fn lincomb(&self, base: Option<&Self::State>, terms: &[(f64, &Self::State)]) -> Result<Self::State>;
    /// Per trajectory, Σ (v / (atol + rtol·max(|a|, |b|)))², and the length of one trajectory's
    /// state.
    fn scaled_row_sums(
        &self,
        v: &Self::State,
        a: &Self::State,
        b: &Self::State,
        rtol: f64,
        atol: f64,
    ) -> Result<(Vec<f64>, usize)>;
    /// max over trajectories of RMS(v / (atol + rtol·max(|a|, |b|))); NaN if any is NaN.
    fn scaled_norm(&self, v: &Self::State, a: &Self::State, b: &Self::State, rtol: f64, atol: f64) -> Result<f64> {
        let (sums, n) = self.scaled_row_sums(v, a, b, rtol, atol)?;
        let rms = sums.into_iter().map(|s| (s / n.max(1) as f64).sqrt());
        Ok(rms.fold(0.0, |m: f64, x| if x.is_nan() || m.is_nan() { f64::NAN } else { m.max(x) }))
    }
}

/// The dense output of one accepted step.
enum Dense<S> {
    /// Dormand–Prince 5(4): y + h Σᵢ kᵢ Σⱼ P[i][j] θ^{j+1}, from the step's stages.
    Quartic { h: f64 },
    /// DOP853: y + Σⱼ cⱼ(θ) Fⱼ, the cⱼ products of θ and 1 − θ alternately (scipy's
    /// `Dop853DenseOutput`).
    Septic { f: Vec<S> },
}

impl<S> Dense<S> {
    /// The state at t + θh.
    fn at<O: StateOps<State = S>>(&self, ops: &O, y: &S, k: &[S], theta: f64) -> Result<S> {
        match self {
            Dense::Quartic { h } => {
                let terms: Vec<(f64, &S)> = (0..7)
                    .map(|i| {
                        let p = &P[i];
                        (h * (theta * (p[0] + theta * (p[1] + theta * (p[2] + theta * p[3])))), &k[i])
                    })
                    .collect();
                ops.lincomb(Some(y), &terms)
            }
            Dense::Septic { f } => {
                // Horner from the last F: add Fⱼ, then multiply by θ and 1 − θ in turn.
                let n = f.len();
                let c =
                    (0..n).map(|j| ((n - 1 - j)..n).map(|l| if l % 2 == 0 { theta } else { 1.0 - theta }).product());
                ops.lincomb(Some(y), &c.zip(f).collect::<Vec<(f64, &S)>>())
            }
        }
    }
}

fn lincomb_ops<O: StateOps>(ops: &O, base: Option<&O::State>, terms: &[(f64, &O::State)]) -> Result<O::State> {
    ops.lincomb(base, terms)
}

/// The seven stages of one step from y with first stage k1; returns (y_new, [k1..k7]).
fn stages<O: StateOps>(ops: &mut O, y: &O::State, k1: &O::State, h: f64) -> Result<(O::State, Vec<O::State>)> {
    let mut k: Vec<O::State> = Vec::with_capacity(7);
    k.push(k1.clone());
    for (i, row) in A.iter().enumerate().skip(1) {
        let terms: Vec<(f64, &O::State)> = row.iter().take(i).zip(&k).map(|(a, k)| (h * a, k)).collect();
        let yi = ops.lincomb(Some(y), &terms)?;
        if i == 6 {
            // The 7th stage point is the 5th-order solution itself (FSAL).
            let k7 = ops.derivative(&yi)?;
            k.push(k7);
            return Ok((yi, k));
        }
        k.push(ops.derivative(&yi)?);
    }
    unreachable!("the tableau has seven stages")
}

/// The thirteen stages of one DOP853 step from y with first stage k1: twelve make the 8th-order
/// solution y_new, the thirteenth is f(y_new). Returns (y_new, [k1..k13]).
fn stages_853<O: StateOps>(ops: &mut O, y: &O::State, k1: &O::State, h: f64) -> Result<(O::State, Vec<O::State>)> {
    let mut k: Vec<O::State> = Vec::with_capacity(16);
    k.push(k1.clone());
    for (i, row) in dop853::A.iter().enumerate().take(12).skip(1) {
        let terms: Vec<(f64, &O::State)> = row.iter().take(i).zip(&k).map(|(a, k)| (h * a, k)).collect();
        let yi = ops.lincomb(Some(y), &terms)?;
        k.push(ops.derivative(&yi)?);
    }
    let terms: Vec<(f64, &O::State)> = dop853::B.iter().zip(&k).map(|(b, k)| (h * b, k)).collect();
    let y_new = ops.lincomb(Some(y), &terms)?;
    k.push(ops.derivative(&y_new)?);
    Ok((y_new, k))
}

/// Batched candle tensors `[batch, dim]`.
struct TensorOps<'a> {
    field: &'a dyn VectorField,
}

impl StateOps for TensorOps<'_> {
    type State = Tensor;
    fn derivative(&mut self, y: &Tensor) -> Result<Tensor> {
        self.field.time_derivatives(y)
    }
    fn lincomb(&self, base: Option<&Tensor>, terms: &[(f64, &Tensor)]) -> Result<Tensor> {
        match base {
            Some(b) => lincomb(b, terms),
            None => {
                let (c0, t0) = terms[0];
                lincomb(&(t0 * c0)?, &terms[1..])
            }
        }
    }
    fn scaled_row_sums(&self, v: &Tensor, a: &Tensor, b: &Tensor, rtol: f64, atol: f64) -> Result<(Vec<f64>, usize)> {
        let scale = (a.abs()?.maximum(&b.abs()?)? * rtol)? + atol;
        let r = (v / scale?)?.to_dtype(DType::F64)?;
        let n = r.dims().last().copied().unwrap_or(1);
        Ok((r.sqr()?.sum(1)?.to_vec1::<f64>()?, n))
    }
}

/// Trajectories as plain row-major vectors `[rows, dim]` (one row: a single trajectory).
struct SliceOps<F> {
    f: F,
    /// Length of one trajectory's state.
    dim: usize,
}

impl<F: FnMut(&[f64], &mut [f64]) -> Result<()>> StateOps for SliceOps<F> {
    type State = Vec<f64>;
    fn derivative(&mut self, y: &Vec<f64>) -> Result<Vec<f64>> {
        let mut dy = vec![0.0; y.len()];
        (self.f)(y, &mut dy)?;
        Ok(dy)
    }
    fn lincomb(&self, base: Option<&Vec<f64>>, terms: &[(f64, &Vec<f64>)]) -> Result<Vec<f64>> {
        let mut acc = match base {
            Some(b) => b.clone(),
            None => vec![0.0; terms[0].1.len()],
        };
        for &(c, v) in terms {
            if c != 0.0 {
                acc.iter_mut().zip(v).for_each(|(a, x)| *a += c * x);
            }
        }
        Ok(acc)
    }
    fn scaled_row_sums(
        &self,
        v: &Vec<f64>,
        a: &Vec<f64>,
        b: &Vec<f64>,
        rtol: f64,
        atol: f64,
    ) -> Result<(Vec<f64>, usize)> {
        let rows = v.chunks(self.dim).zip(a.chunks(self.dim).zip(b.chunks(self.dim)));
        let sums = rows.map(|(v, (a, b))| {
            v.iter()
                .zip(a.iter().zip(b))
                .map(|(v, (a, b))| {
                    let r = v / (atol + rtol * a.abs().max(b.abs()));
                    r * r
                })
                .sum()
        });
        Ok((sums.collect(), self.dim))
    }
}
