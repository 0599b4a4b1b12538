//! [`FitOptions`] and [`HnnModel::fit`](super::HnnModel::fit): the training loop of
//! [`crate::training`] on a user's dataset.

use super::HnnModel;
use crate::checkpoint::TrainingInfo;
use crate::error::{Error, Result};
use crate::training::{train_ensemble, Objective, RunContext, StopSignal, TrainConfig, TrainData, TrainReport};
use hnn_systems::Dataset;

/// How to fit: the training settings ([`TrainConfig`], the `[train]` table of an experiment;
/// its defaults are the paper's: gradient matching, 2000 steps of Adam at 1e-3 on the whole
/// training set), the sampler's seed and a progress bar. A [`TrainConfig`] converts into one,
/// so `model.fit(&data, TrainConfig { steps: 500, ..TrainConfig::default() })` fits with the
/// model's seed; `TrainConfig::trajectory(IntegratorKind::Leapfrog, 10)` matches trajectories.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FitOptions {
    /// The training settings (`checkpoint_every` must be 0: fit writes no checkpoint; save the
    /// model with [`HnnModel::save`](super::HnnModel::save)).
    pub train: TrainConfig,
    /// Seed of the mini-batch sampler and the noise (default: the model's seed).
    pub seed: Option<u64>,
    /// Show a progress bar (drawn when hnn-train's `progress` feature is on, as in `hnn`).
    pub progress: bool,
    /// Asked before every step whether to stop: the fit then ends with
    /// [`Error::Interrupted`] and the model keeps the weights of its last whole step.
    pub stop: Option<StopSignal>,
}

impl From<TrainConfig> for FitOptions {
    fn from(train: TrainConfig) -> Self {
        Self { train, ..Self::default() }
    }
}

impl From<&TrainConfig> for FitOptions {
    fn from(train: &TrainConfig) -> Self {
        train.clone().into()
    }
}

impl From<&FitOptions> for FitOptions {
    fn from(options: &FitOptions) -> Self {
        options.clone()
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
    let cfg = &options.train;
    if cfg.checkpoint_every != 0 {
        return Err(Error::Config(format!(
            "checkpoint_every = {}: fitting writes no checkpoint; save the fitted model with HnnModel::save",
            cfg.checkpoint_every
        )));
    }
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
            stop: options.stop.clone(),
        });
    }
    let states: Vec<&crate::ModelState> = models.iter().map(|m| &m.state).collect();
    let reports = train_ensemble(&states, &tdata.iter().collect::<Vec<_>>(), cfg, &ctxs, &vec![None; models.len()])?;
    for ((model, data), report) in models.iter_mut().zip(data).zip(&reports) {
        let steps_run = match report {
            Ok(report) => report.steps_run,
            // Stopped on request: the weights are those of its last whole step.
            Err(Error::Interrupted { steps_run, .. }) => *steps_run,
            Err(_) => continue,
        };
        model.info = TrainingInfo {
            step: model.info.step + steps_run,
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
    if let Objective::Trajectory { .. } = options.train.objective {
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
