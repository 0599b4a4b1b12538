//! [`FitOptions`] and [`HnnModel::fit`](super::HnnModel::fit): the training loop of
//! [`crate::training`] on a user's dataset.

use super::HnnModel;
use crate::checkpoint::TrainingInfo;
use crate::error::{Error, Result};
use crate::optim::OptimizerKind;
use crate::training::{train_ensemble, Backprop, Objective, RunContext, Schedule, TrainConfig, TrainData, TrainReport};
use hnn_core::IntegratorKind;
use hnn_systems::Dataset;

/// How to fit: the paper's defaults (gradient matching, 2000 steps of Adam at 1e-3 on the whole
/// training set). Set fields with struct-update syntax:
/// `FitOptions { steps: 500, ..FitOptions::default() }`, or start from
/// [`FitOptions::trajectory`].
#[derive(Debug, Clone, PartialEq)]
pub struct FitOptions {
    /// Gradient matching (fit ż) or trajectory matching (integrate, fit the next state).
    pub objective: Objective,
    /// Optimizer steps.
    pub steps: usize,
    /// Samples per step; 0 = the whole training set every step.
    pub batch_size: usize,
    /// Adam (coupled L2, PyTorch's) or AdamW.
    pub optimizer: OptimizerKind,
    /// Learning rate.
    pub learning_rate: f64,
    /// Learning-rate schedule.
    pub schedule: Schedule,
    /// Weight decay.
    pub weight_decay: f64,
    /// Clip the global gradient norm to this value.
    pub grad_clip: Option<f64>,
    /// Std of Gaussian noise added to the input states each step.
    pub input_noise: f64,
    /// Seed of the mini-batch sampler and the noise (default: the model's seed).
    pub seed: Option<u64>,
    /// Test loss every this many steps (and at the end), into the report's `test_curve`.
    pub eval_every: usize,
    /// Show a progress bar (drawn when hnn-train's `progress` feature is on, as in `hnn`).
    pub progress: bool,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self {
            objective: Objective::Gradient,
            steps: 2000,
            batch_size: 0,
            optimizer: OptimizerKind::default(),
            learning_rate: 1e-3,
            schedule: Schedule::Constant,
            weight_decay: 0.0,
            grad_clip: None,
            input_noise: 0.0,
            seed: None,
            eval_every: 100,
            progress: false,
        }
    }
}

impl FitOptions {
    /// Trajectory matching: from each observed state, `substeps` steps of `integrator` across
    /// the sampling interval, fitted to the next observed state.
    pub fn trajectory(integrator: IntegratorKind, substeps: usize) -> Self {
        Self {
            objective: Objective::Trajectory { integrator, substeps, backprop: Backprop::Stored },
            ..Self::default()
        }
    }

    /// Trajectory matching through a time-reversible integrator (leapfrog, yoshida4) with
    /// reversible backpropagation: memory flat in `substeps` (see [`Backprop::Reversible`]).
    pub fn reversible(integrator: IntegratorKind, substeps: usize) -> Self {
        Self {
            objective: Objective::Trajectory { integrator, substeps, backprop: Backprop::Reversible },
            ..Self::default()
        }
    }

    /// The training loop's settings.
    fn train_config(&self) -> TrainConfig {
        TrainConfig {
            objective: self.objective.clone(),
            steps: self.steps,
            batch_size: self.batch_size,
            optimizer: self.optimizer,
            learning_rate: self.learning_rate,
            weight_decay: self.weight_decay,
            schedule: self.schedule,
            grad_clip: self.grad_clip,
            input_noise: self.input_noise,
            eval_every: self.eval_every,
            checkpoint_every: 0,
        }
    }
}

pub(super) fn fit(model: &mut HnnModel, data: &Dataset, options: &FitOptions) -> Result<TrainReport> {
    let mut reports = fit_ensemble(std::slice::from_mut(model), &[data], options)?;
    reports.pop().expect("one model")
}

/// Fits `models[i]` to `data[i]`, all as one ensemble (see
/// [`train_ensemble`](crate::training::train_ensemble)); one report or error per model.
pub(super) fn fit_ensemble(
    models: &mut [HnnModel],
    data: &[&Dataset],
    options: &FitOptions,
) -> Result<Vec<Result<TrainReport>>> {
    if models.len() != data.len() {
        return Err(Error::Config(format!(
            "fitting an ensemble of {} models needs one dataset each, got {}",
            models.len(),
            data.len()
        )));
    }
    let cfg = options.train_config();
    let mut tdata = vec![];
    let mut ctxs = vec![];
    for (i, (model, data)) in models.iter().zip(data).enumerate() {
        let which = if models.len() > 1 { format!("model {i}: ") } else { String::new() };
        check_data(model, data, options).map_err(|e| match e {
            Error::Config(m) => Error::Config(format!("{which}{m}")),
            e => e,
        })?;
        tdata.push(TrainData::new(data, &cfg.objective, model.state.dtype, &model.state.device)?);
        ctxs.push(RunContext {
            seed: options.seed.unwrap_or(model.info.seed),
            checkpoint: None,
            info: TrainingInfo::default(),
            progress: options.progress,
            label: format!("fit {}", model.state.spec.kind),
        });
    }
    let states: Vec<&crate::ModelState> = models.iter().map(|m| &m.state).collect();
    let reports = train_ensemble(&states, &tdata.iter().collect::<Vec<_>>(), &cfg, &ctxs, &vec![None; models.len()])?;
    for ((model, data), report) in models.iter_mut().zip(data).zip(&reports) {
        let Ok(report) = report else { continue };
        model.info = TrainingInfo {
            step: model.info.step + report.steps_run,
            ..TrainingInfo::of(&cfg.objective, data.meta.dt, model.info.seed)
        };
    }
    Ok(reports)
}

/// Checks that `data` fits `model` and the objective.
fn check_data(model: &HnnModel, data: &Dataset, options: &FitOptions) -> Result<()> {
    let spec = &model.state.spec;
    if data.meta.dof != spec.dof {
        return Err(Error::Config(format!(
            "the dataset has {} degrees of freedom (states of width {}), the model {}",
            data.meta.dof,
            2 * data.meta.dof,
            spec.dof
        )));
    }
    if let Objective::Trajectory { .. } = options.objective {
        match data.meta.trajectory_length {
            Some(len) if len >= 2 && data.meta.dt.is_some() => {}
            _ => {
                return Err(Error::Config(
                    "trajectory matching needs whole trajectories sampled on one even time grid (dataset meta \
                     `trajectory_length` ≥ 2 and `dt`); build the dataset with hnn_systems::import::trajectories \
                     or trajectories_on_grid (which record them when the grid is even), or use gradient matching"
                        .into(),
                ))
            }
        }
    }
    Ok(())
}
