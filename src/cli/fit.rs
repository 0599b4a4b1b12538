//! `hnn fit`: models fitted to your own data ([`crate::fit::FitRun`] does the work).

use super::{progress, Compute};
use hnn_train::model::ModelKind;
use hnn_train::training::{Backprop, Objective, TrainConfig};
use hnn_train::{Error, Result};
use std::path::PathBuf;

/// The objective of `hnn fit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FitObjective {
    /// Gradient matching.
    Gradient,
    /// Trajectory matching.
    Trajectory,
}

#[derive(Debug, clap::Args)]
pub(super) struct FitArgs {
    /// The data: `.npz` (`z`+`dz` pairs, or `t` [T] + `z` [T, B, 2n] trajectories), `.csv`
    /// (columns q…, p… with dq…, dp… or t), or a file from `hnn data`.
    #[arg(long)]
    data: PathBuf,
    /// Models to fit (repeat or comma-separate): hnn, separable_hnn, baseline, …
    #[arg(long, value_delimiter = ',', default_value = "hnn")]
    model: Vec<ModelKind>,
    /// gradient (fit ż) or trajectory (integrate `--substeps` steps, fit the next state).
    #[arg(long, value_enum, default_value_t = FitObjective::Gradient)]
    objective: FitObjective,
    /// Integrator of trajectory matching [default: rk4].
    #[arg(long)]
    integrator: Option<hnn_core::IntegratorKind>,
    /// Integrator steps per sampling interval in trajectory matching [default: 10].
    #[arg(long)]
    substeps: Option<usize>,
    /// Backpropagation of trajectory matching: through the stored steps, or reversible
    /// (leapfrog, yoshida4; memory flat in the steps) [default: stored].
    #[arg(long, value_enum)]
    backprop: Option<Backprop>,
    /// Optimizer steps.
    #[arg(long, default_value_t = 2000)]
    steps: usize,
    /// Samples per step (0: the whole training set).
    #[arg(long, default_value_t = 0)]
    batch_size: usize,
    /// Learning rate (Adam).
    #[arg(long, default_value_t = 1e-3)]
    learning_rate: f64,
    /// Hidden widths, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "200,200")]
    hidden: Vec<usize>,
    /// Fraction of the trajectories (or rows, for pairs) held out.
    #[arg(long, default_value_t = 0.2)]
    test_fraction: f64,
    /// Seed of the initialisation and the sampler.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output directory [default: runs/fit/<data file stem>].
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    compute: Compute,
}

impl FitArgs {
    pub(super) fn run(self) -> Result<()> {
        let FitArgs {
            data,
            model,
            objective,
            integrator,
            substeps,
            backprop,
            steps,
            batch_size,
            learning_rate,
            hidden,
            test_fraction,
            seed,
            out,
            compute,
        } = self;
        let objective = match objective {
            FitObjective::Gradient if integrator.is_some() || substeps.is_some() || backprop.is_some() => {
                return Err(Error::Config(
                    "--integrator, --substeps and --backprop set trajectory matching: add --objective trajectory, or \
                     drop them"
                        .into(),
                ))
            }
            FitObjective::Gradient => Objective::Gradient {},
            FitObjective::Trajectory => Objective::Trajectory {
                integrator: integrator.unwrap_or(hnn_core::IntegratorKind::Rk4),
                substeps: substeps.unwrap_or(10),
                backprop: backprop.unwrap_or_default(),
            },
        };
        let train = TrainConfig { objective, steps, batch_size, learning_rate, ..TrainConfig::default() };
        let options = hnn_train::FitOptions { train, seed: Some(seed), progress: progress(), stop: None };
        let stem = data.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_else(|| "data".into());
        let out = out.unwrap_or_else(|| PathBuf::from("runs").join("fit").join(stem));
        let fit = crate::fit::FitRun {
            data,
            kinds: model,
            hidden,
            test_fraction,
            seed,
            compute: (compute.device, compute.dtype),
            options,
            out,
        };
        fit.run()
    }
}
