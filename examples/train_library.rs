//! Trains an experiment's HNN through the library API ([`HnnModel::fit`]) exactly as
//! `hnn train --config CONFIG --model hnn` does (same data, seed, settings), with nothing set up
//! by the program: no environment variables, no thread pools, the allocator hnn installs.
//! `scripts/library_vs_cli.sh` times the two side by side.
//!
//! `cargo run --release --example train_library -- experiments/spring.toml [STEPS]`

use hnn::prelude::*;
use hnn::train::experiment::{model_seed, ExperimentConfig};

fn main() -> hnn::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: train_library CONFIG.toml [STEPS]");
    let cfg = ExperimentConfig::from_file(std::path::Path::new(&path))?;
    let steps = args.next().map(|s| s.parse().expect("STEPS is a number")).unwrap_or(cfg.train.steps);
    let data = cfg.data.load(0, None)?;
    let seed = model_seed(0, ModelKind::HNN);
    let config = ModelConfig {
        hidden: cfg.model.hidden.clone(),
        activation: cfg.model.activation,
        device: DeviceChoice::Cpu,
        seed,
        ..ModelConfig::default()
    };
    // The experiment's [train] table as it is, with the CLI's checkpoint cadence left out (the
    // library writes no checkpoint until `save`).
    let train = TrainConfig { steps, checkpoint_every: 0, ..cfg.train.clone() };
    let options = FitOptions { train, seed: Some(seed), progress: false, stop: None };
    let mut model = HnnModel::new(&config, data.meta.dof)?;
    let report = model.fit(&data, &options)?;
    println!(
        "trained hnn for {} steps in {:.2} s ({:.0} steps/s); final loss {:.4e}",
        report.steps_run,
        report.seconds,
        report.steps_per_second(),
        report.train_curve.last().copied().unwrap_or(f64::NAN)
    );
    Ok(())
}
