//! [`EvalSet`]: the rollout starts of a run and the true trajectories from them, shared by
//! every model the run evaluates.

use super::config::{EvalConfig, StartFrom};
use crate::error::{Error, Result};
use hnn_core::integrators::DormandPrince;
use hnn_systems::{Dataset, InitialStates, System};
use rand::seq::IndexedRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Rollout starts and the true trajectories from them (shared by the models of one run).
#[derive(Debug, Clone)]
pub struct EvalSet {
    /// Output times.
    pub times: Vec<f64>,
    /// Starts, `[starts][2n]`.
    pub starts: Vec<Vec<f64>>,
    /// True trajectories, `[starts][T·2n]`.
    pub truth: Vec<Vec<f64>>,
    /// The true system.
    pub system: System,
    /// The paper's notebook protocol's rollouts, when configured.
    pub paper: Option<crate::paper::PaperSet>,
}

impl EvalSet {
    /// Draws the starts (seeded) and integrates the truth in f64.
    pub fn new(
        cfg: &EvalConfig,
        truth: System,
        sampler: Option<&InitialStates>,
        data: &Dataset,
        seed: u64,
    ) -> Result<Self> {
        cfg.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_e7a1);
        let starts: Vec<Vec<f64>> = match (cfg.start_from, sampler) {
            (StartFrom::Sampler, Some(s)) => (0..cfg.starts).map(|_| s.sample(&mut rng)).collect(),
            (StartFrom::Sampler, None) => {
                return Err(Error::Config(
                    "eval.start_from = \"sampler\" needs generated data; use \"test_data\"".into(),
                ))
            }
            (StartFrom::TestData, _) => {
                let rows = data.test.z.to_vec2::<f64>()?;
                if rows.is_empty() {
                    return Err(Error::Config("eval.start_from = \"test_data\" but the test split is empty".into()));
                }
                (0..cfg.starts).map(|_| rows.choose(&mut rng).expect("non-empty").clone()).collect()
            }
        };
        let times = cfg.times();
        let h = truth.hamiltonian();
        if h.dof() * 2 != starts[0].len() {
            return Err(Error::Config(format!(
                "eval.truth has {} dof but the data have {}",
                h.dof(),
                starts[0].len() / 2
            )));
        }
        let solver = DormandPrince::truth();
        let truth_traj = starts
            .iter()
            .map(|y0| Ok(solver.solve_slice(|y, dy| h.time_derivatives_at(y, dy), y0, &times)?))
            .collect::<Result<Vec<_>>>()?;
        let paper = match &cfg.paper {
            Some(p) => Some(crate::paper::PaperSet::new(p, &truth, sampler, data, seed)?),
            None => None,
        };
        Ok(Self { times, starts, truth: truth_traj, system: truth, paper })
    }
}
