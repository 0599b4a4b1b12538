//! [`RolloutMethod`]: how a rollout is integrated, by one name in configs, checkpoints and on
//! the command line: an adaptive embedded pair (`dopri5`, `dop853`) or a fixed-step integrator.

use super::{DormandPrince, EmbeddedPair, IntegratorKind, Solver};
use crate::error::{Error, Result};
use std::str::FromStr;

/// How a rollout advances: an adaptive embedded pair with tolerances, or a fixed-step
/// integrator with a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RolloutMethod {
    /// Adaptive Dormand–Prince with this pair (`dopri5`, `dop853`).
    Adaptive(EmbeddedPair),
    /// A fixed-step integrator (`rk4`, `leapfrog`, …).
    Fixed(IntegratorKind),
}

impl Default for RolloutMethod {
    /// `dopri5`, as the reference's scipy `RK45`.
    fn default() -> Self {
        RolloutMethod::Adaptive(EmbeddedPair::Dopri5)
    }
}

/// The most attempted steps of one adaptive rollout by method name (a blow-up stops there).
pub const MAX_ADAPTIVE_STEPS: usize = 200_000;

impl RolloutMethod {
    /// The name in configs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            RolloutMethod::Adaptive(pair) => pair.name(),
            RolloutMethod::Fixed(kind) => kind.name(),
        }
    }

    /// The embedded pair of an adaptive method; `None` for a fixed-step one.
    pub fn adaptive_pair(self) -> Option<EmbeddedPair> {
        match self {
            RolloutMethod::Adaptive(pair) => Some(pair),
            RolloutMethod::Fixed(_) => None,
        }
    }

    /// The solver: adaptive with `rtol` and `atol` (at most [`MAX_ADAPTIVE_STEPS`] steps), or the
    /// fixed-step integrator with step `dt`.
    pub fn solver(self, dt: f64, rtol: f64, atol: f64) -> Solver {
        match self {
            RolloutMethod::Adaptive(pair) => Solver::Adaptive(DormandPrince {
                max_steps: MAX_ADAPTIVE_STEPS,
                pair,
                ..DormandPrince::new(rtol, atol)
            }),
            RolloutMethod::Fixed(kind) => Solver::Fixed { integrator: kind.build(), dt },
        }
    }
}

impl FromStr for RolloutMethod {
    type Err = Error;
    /// `dopri5`, `dop853`, or a fixed-step integrator's name; an unknown name is an error listing
    /// the choices.
    fn from_str(s: &str) -> Result<Self> {
        if let Some(pair) = EmbeddedPair::ALL.iter().find(|p| p.name() == s.trim()) {
            return Ok(RolloutMethod::Adaptive(*pair));
        }
        s.parse::<IntegratorKind>().map(RolloutMethod::Fixed).map_err(|e| match e {
            Error::InvalidArgument(m) => {
                Error::InvalidArgument(format!("{m}; adaptive, with tolerances: dopri5, dop853"))
            }
            e => e,
        })
    }
}

impl std::fmt::Display for RolloutMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
