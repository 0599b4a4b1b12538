//! `hnn exp`: an experiment end to end, for one seed or many.

use super::{progress, Compute, Config};
use hnn_train::experiment::{self, RunOptions};
use hnn_train::{Error, Result};
use std::path::PathBuf;

/// The most seeds one `hnn exp` runs (each writes a run directory).
const MAX_SEEDS: u64 = 100_000;

#[derive(Debug, clap::Args)]
pub(super) struct ExpArgs {
    /// Experiment name (experiments/NAME.toml) or path to a config file.
    name: String,
    /// Number of seeds (0, 1, …, N−1).
    #[arg(long, default_value_t = 1)]
    seeds: u64,
    /// First seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Override the number of training steps.
    #[arg(long)]
    steps: Option<usize>,
    /// Output root.
    #[arg(long, default_value = "runs")]
    out: PathBuf,
    /// Data file for experiments that read one (e.g. the real pendulum).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Skip the plots.
    #[arg(long)]
    no_plots: bool,
    /// Train the seeds one after another. By default (on the CPU) every model of every seed
    /// trains in one ensemble, with the same results in less time.
    #[arg(long)]
    sequential: bool,
    #[command(flatten)]
    compute: Compute,
}

impl ExpArgs {
    pub(super) fn run(self) -> Result<()> {
        let ExpArgs { name, seeds, seed, steps, out, data, no_plots, sequential, compute } = self;
        if !(1..=MAX_SEEDS).contains(&seeds) {
            return Err(Error::Config(format!("--seeds must be between 1 and {MAX_SEEDS}, got {seeds}")));
        }
        let Some(end) = seed.checked_add(seeds) else {
            return Err(Error::Config(format!("--seed {seed} --seeds {seeds}: the seeds run past 2^64")));
        };
        let opts = RunOptions {
            seeds: (seed..end).collect(),
            device: compute.device,
            precision: compute.dtype,
            steps,
            out: out.clone(),
            data_path: data,
            progress: progress(),
            plots: !no_plots,
            ensemble: !sequential,
        };
        let (runs, exp_name) = match Config::read(&name)? {
            Config::State(cfg) => (experiment::run(&cfg, &opts)?, cfg.name),
            Config::Pixels(cfg) => (hnn_pixels::experiment::run(&cfg, &opts)?, cfg.name),
        };
        say!("{}", hnn_train::table::markdown(&runs));
        say!("outputs: {}", out.join(exp_name).display());
        Ok(())
    }
}
