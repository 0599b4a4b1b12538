//! Integrators for batched states `[batch, 2n]`, all built from candle ops so that training
//! can backpropagate through them, and all usable with analytic and learned systems alike.
//!
//! | integrator | order | symplectic | needs |
//! |---|---|---|---|
//! | [`Euler`] | 1 | no | any field |
//! | [`SymplecticEuler`] | 1 | yes | separable H |
//! | [`Leapfrog`] (Störmer–Verlet) | 2 | yes | separable H |
//! | [`Yoshida4`] | 4 | yes | separable H |
//! | [`Yoshida6`] (7 leapfrog stages) | 6 | yes | separable H |
//! | [`Yoshida8`] (15 leapfrog stages) | 8 | yes | separable H |
//! | [`ImplicitMidpoint`] | 2 | yes | any H (any field, then not symplectic) |
//! | [`Tao`] (extended phase space) | 2 | yes (extended) | any H |
//! | [`Rk4`] | 4 | no | any field |
//! | [`DormandPrince`] fixed step / adaptive | 5 | no | any field |
//! | [`DormandPrince`] with [`EmbeddedPair::Dop853`] (adaptive) | 8 | no | any field |
//!
//! Fixed-step schemes implement [`Integrator`]; [`rollout`] samples a trajectory at requested
//! times with either a fixed-step scheme or adaptive Dormand–Prince ([`Solver`]).

mod classical;
pub mod dop853;
pub mod dopri;
pub mod dopri5;
mod implicit;
mod method;
mod pair;
pub mod reversible;
mod separable;
mod state_ops;
mod tao;

pub use classical::{Euler, Rk4};
pub use dopri::{DormandPrince, DormandPrinceStep, EmbeddedPair};
pub use implicit::ImplicitMidpoint;
pub use method::{RolloutMethod, MAX_ADAPTIVE_STEPS};
pub use separable::{Leapfrog, SymplecticEuler, Yoshida4, Yoshida6, Yoshida8};
pub use tao::Tao;

use crate::error::{Error, Result};
use crate::hamiltonian::{Hamiltonian, VectorField};
use candle_core::Tensor;
use std::str::FromStr;

/// A one-step method z(t) ↦ z(t + dt).
///
/// Most integrators act on the state itself. Some (Tao's) carry a larger internal state;
/// [`lift`](Integrator::lift) and [`project`](Integrator::project) convert, and
/// [`step`](Integrator::step) acts on the lifted state. [`propagate`](Integrator::propagate)
/// does lift, steps, project.
pub trait Integrator: Send + Sync {
    /// A short name for logs and configs.
    fn name(&self) -> &'static str;

    /// Order of the global error.
    fn order(&self) -> u32;

    /// Whether the step map is symplectic (for a Hamiltonian field).
    fn is_symplectic(&self) -> bool;

    /// Whether a step of −dt undoes a step of dt exactly (in exact arithmetic) with an explicit
    /// formula: what [`reversible`] needs to backpropagate without storing the states.
    fn is_time_reversible(&self) -> bool {
        false
    }

    /// The integrator's own state for a physical state z (identity unless overridden).
    fn lift(&self, z: &Tensor) -> Result<Tensor> {
        Ok(z.clone())
    }

    /// The physical state z of an integrator state (identity unless overridden).
    fn project(&self, state: &Tensor) -> Result<Tensor> {
        Ok(state.clone())
    }

    /// One step of size dt on the integrator state.
    fn step(&self, field: &dyn VectorField, state: &Tensor, dt: f64) -> Result<Tensor>;

    /// `steps` steps of size dt from the physical state z; returns the physical state. A dt that
    /// is not finite is an error (negative dt integrates backwards in time).
    fn propagate(&self, field: &dyn VectorField, z: &Tensor, dt: f64, steps: usize) -> Result<Tensor> {
        if !dt.is_finite() {
            return Err(Error::InvalidArgument(format!("{}: step dt must be finite, got {dt}", self.name())));
        }
        let mut s = self.lift(z)?;
        for _ in 0..steps {
            s = self.step(field, &s, dt)?;
        }
        self.project(&s)
    }
}

/// The integrators by name, for configs and the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegratorKind {
    /// Explicit Euler.
    Euler,
    /// Symplectic Euler.
    SymplecticEuler,
    /// Leapfrog / Störmer–Verlet.
    Leapfrog,
    /// Yoshida's 4th-order composition of leapfrog.
    Yoshida4,
    /// Yoshida's 6th-order composition of leapfrog.
    Yoshida6,
    /// Yoshida's 8th-order composition of leapfrog.
    Yoshida8,
    /// Implicit midpoint.
    ImplicitMidpoint,
    /// Tao's explicit extended-phase-space scheme.
    Tao,
    /// Classical Runge–Kutta.
    Rk4,
    /// Dormand–Prince 5th-order solution, fixed step (`dopri5_fixed`; `dopri5` names the
    /// adaptive solver).
    DormandPrince,
}

impl IntegratorKind {
    /// All kinds with their config names.
    pub const ALL: [(IntegratorKind, &'static str); 10] = [
        (IntegratorKind::Euler, "euler"),
        (IntegratorKind::SymplecticEuler, "symplectic_euler"),
        (IntegratorKind::Leapfrog, "leapfrog"),
        (IntegratorKind::Yoshida4, "yoshida4"),
        (IntegratorKind::Yoshida6, "yoshida6"),
        (IntegratorKind::Yoshida8, "yoshida8"),
        (IntegratorKind::ImplicitMidpoint, "implicit_midpoint"),
        (IntegratorKind::Tao, "tao"),
        (IntegratorKind::Rk4, "rk4"),
        (IntegratorKind::DormandPrince, "dopri5_fixed"),
    ];

    /// The config name.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(k, _)| *k == self).map(|(_, n)| *n).unwrap_or("?")
    }

    /// A boxed integrator with default settings.
    pub fn build(self) -> Box<dyn Integrator> {
        match self {
            IntegratorKind::Euler => Box::new(Euler),
            IntegratorKind::SymplecticEuler => Box::new(SymplecticEuler),
            IntegratorKind::Leapfrog => Box::new(Leapfrog),
            IntegratorKind::Yoshida4 => Box::new(Yoshida4),
            IntegratorKind::Yoshida6 => Box::new(Yoshida6),
            IntegratorKind::Yoshida8 => Box::new(Yoshida8),
            IntegratorKind::ImplicitMidpoint => Box::new(ImplicitMidpoint::default()),
            IntegratorKind::Tao => Box::new(Tao::default()),
            IntegratorKind::Rk4 => Box::new(Rk4),
            IntegratorKind::DormandPrince => Box::new(DormandPrinceStep),
        }
    }
}

impl FromStr for IntegratorKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim().to_ascii_lowercase();
        Self::ALL.iter().find(|(_, n)| *n == s).map(|(k, _)| *k).ok_or_else(|| {
            let names: Vec<_> = Self::ALL.iter().map(|(_, n)| *n).collect();
            let hint = match s.as_str() {
                "dopri5" | "dop853" => {
                    format!("; `{s}` names an adaptive solver (eval.method, hnn rollout --method); the fixed-step Dormand–Prince scheme is `dopri5_fixed`")
                }
                _ => String::new(),
            };
            Error::InvalidArgument(format!("unknown integrator `{s}` (known: {}){hint}", names.join(", ")))
        })
    }
}

/// The natural default for a field: leapfrog for a separable Hamiltonian, implicit midpoint for
/// a general one, RK4 for a field without a Hamiltonian.
pub fn default_integrator(field: &dyn VectorField) -> Box<dyn Integrator> {
    match field.hamiltonian() {
        Some(h) if h.is_separable() => Box::new(Leapfrog),
        Some(_) => Box::new(ImplicitMidpoint::default()),
        None => Box::new(Rk4),
    }
}

/// How [`rollout`] advances between output times.
pub enum Solver {
    /// A fixed-step integrator; each interval between output times is cut into the fewest equal
    /// steps no longer than `dt`.
    Fixed { integrator: Box<dyn Integrator>, dt: f64 },
    /// Adaptive Dormand–Prince (5(4) or 8(5,3)) with dense output at the requested times.
    Adaptive(DormandPrince),
}

impl Solver {
    /// Adaptive Dormand–Prince 5(4) with relative and absolute tolerances (what the paper's
    /// evaluation uses, scipy's `RK45`).
    pub fn dopri5(rtol: f64, atol: f64) -> Self {
        Solver::Adaptive(DormandPrince::new(rtol, atol))
    }

    /// A fixed-step solver.
    pub fn fixed(integrator: impl Integrator + 'static, dt: f64) -> Self {
        Solver::Fixed { integrator: Box::new(integrator), dt }
    }
}

/// The most steps one fixed-step rollout may take (a `dt` that needs more is refused up front).
pub const MAX_FIXED_STEPS: usize = 100_000_000;

/// The most numbers one rollout may return (1e8: 800 MB in f64); a request for more is refused
/// before anything is allocated.
pub const MAX_ROLLOUT_VALUES: f64 = 1e8;

/// The most output times of one rollout (each holds its own tensor along the way: about 250
/// bytes of bookkeeping per time beside the numbers); as `hnn rollout --points`.
pub const MAX_ROLLOUT_TIMES: usize = 10_000_000;

/// Refuses a rollout of more than [`MAX_ROLLOUT_TIMES`] output times, or of `times` × `per_time`
/// numbers at each (starts × width) above [`MAX_ROLLOUT_VALUES`].
pub fn check_rollout_size(times: usize, per_time: usize) -> Result<()> {
    if times > MAX_ROLLOUT_TIMES {
        return Err(Error::InvalidArgument(format!(
            "a rollout of {times} output times is more than the cap of {MAX_ROLLOUT_TIMES:.0e}: ask for fewer times, \
             or roll out in pieces"
        )));
    }
    let values = times as f64 * per_time as f64;
    if values > MAX_ROLLOUT_VALUES {
        return Err(Error::InvalidArgument(format!(
            "a rollout of {times} output times × {per_time} numbers each (starts × state width) is {values:.3e} \
             numbers, more than the cap of {MAX_ROLLOUT_VALUES:.1e} (800 MB in f64): ask for fewer times or starts, \
             or roll out in pieces"
        )));
    }
    Ok(())
}

/// Integrates from z0 (at `times[0]`) and returns the states at every time, `[T, batch, 2n]`.
/// Times must increase strictly. All trajectories of the batch advance together.
pub fn rollout(field: &dyn VectorField, z0: &Tensor, times: &[f64], solver: &Solver) -> Result<Tensor> {
    check_times(times)?;
    check_rollout_size(times.len(), z0.elem_count())?;
    match solver {
        Solver::Adaptive(dp) => dp.solve(field, z0, times),
        Solver::Fixed { integrator, dt } => {
            if !(*dt > 0.0 && dt.is_finite()) {
                return Err(Error::InvalidArgument(format!("rollout step dt must be positive, got {dt}")));
            }
            // Counted in f64 first: a tiny dt must be refused, not overflow or run for ever.
            let steps: f64 = times.windows(2).map(|w| ((w[1] - w[0]) / dt - 1e-9).ceil().max(1.0)).sum();
            if steps > MAX_FIXED_STEPS as f64 {
                return Err(Error::InvalidArgument(format!(
                    "a fixed step dt = {dt:e} takes {steps:.3e} steps to reach t = {}, more than the cap of \
                     {MAX_FIXED_STEPS:.0e}; use a larger dt or an adaptive method",
                    times[times.len() - 1]
                )));
            }
            let mut s = integrator.lift(z0)?;
            let mut out = vec![z0.clone()];
            for w in times.windows(2) {
                let span = w[1] - w[0];
                let n = ((span / dt) - 1e-9).ceil().max(1.0) as usize;
                let h = span / n as f64;
                for _ in 0..n {
                    s = integrator.step(field, &s, h)?;
                }
                out.push(integrator.project(&s)?);
            }
            Ok(Tensor::stack(&out, 0)?)
        }
    }
}

/// [`rollout`] with the batch split into `groups` groups of trajectories (e.g. [`crate::exec::threads::cpu_threads`]),
/// each integrated on a thread of its own: an adaptive solver then picks each group's steps for
/// that group alone, as a per-trajectory solver would. Same output, `[T, batch, 2n]`; up to
/// `groups` times faster for batches of a few trajectories, whose steps are too small to share
/// across cores. The groups depend only on the batch size and `groups`, so results are
/// reproducible. Off the CPU, or with one group, it is [`rollout`].
pub fn rollout_parallel(
    field: &(dyn VectorField + Sync),
    z0: &Tensor,
    times: &[f64],
    solver: &Solver,
    groups: usize,
) -> Result<Tensor> {
    check_rollout_size(times.len(), z0.elem_count())?;
    let rows = z0.dim(0)?;
    let groups = groups.min(rows);
    if groups <= 1 || !z0.device().is_cpu() {
        return rollout(field, z0, times, solver);
    }
    let chunk = rows.div_ceil(groups);
    // Scoped OS threads rather than rayon: callers may run inside a one-thread rayon pool (small
    // candle matmuls are faster there), which would serialize the groups.
    let parts: Vec<Result<Tensor>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..rows)
            .step_by(chunk)
            .map(|start| {
                scope.spawn(move || rollout(field, &z0.narrow(0, start, chunk.min(rows - start))?, times, solver))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(Error::InvalidArgument("a rollout thread panicked".into()))))
            .collect()
    });
    Ok(Tensor::cat(&parts.into_iter().collect::<Result<Vec<_>>>()?, 1)?)
}

/// Checks that an output grid is non-empty, finite and strictly increasing.
pub(crate) fn check_times(times: &[f64]) -> Result<()> {
    if times.is_empty() {
        return Err(Error::InvalidArgument("rollout needs at least one output time".into()));
    }
    if times.iter().any(|t| !t.is_finite()) || times.windows(2).any(|w| w[1] <= w[0]) {
        return Err(Error::InvalidArgument("output times must be finite and strictly increasing".into()));
    }
    Ok(())
}

/// `base + Σ cᵢ·tᵢ`, skipping zero coefficients.
pub(crate) fn lincomb(base: &Tensor, terms: &[(f64, &Tensor)]) -> Result<Tensor> {
    let mut acc = base.clone();
    for &(c, t) in terms {
        if c != 0.0 {
            acc = (acc + (t * c)?)?;
        }
    }
    Ok(acc)
}

/// The Hamiltonian of a field, or an error naming the integrator that needed one.
pub(crate) fn require_hamiltonian<'a>(
    field: &'a dyn VectorField,
    integrator: &'static str,
) -> Result<&'a dyn Hamiltonian> {
    field.hamiltonian().ok_or(Error::NotHamiltonian { integrator })
}

/// The Hamiltonian of a field if it is separable, or an error naming the integrator.
pub(crate) fn require_separable<'a>(
    field: &'a dyn VectorField,
    integrator: &'static str,
) -> Result<&'a dyn Hamiltonian> {
    let h = require_hamiltonian(field, integrator)?;
    if h.is_separable() {
        Ok(h)
    } else {
        Err(Error::NotSeparable { integrator })
    }
}
