//! Helpers: the repository's experiment configs, shrunk to smoke size.
#![allow(dead_code)]

use hnn_train::experiment::DataConfig;
use hnn_train::{ExperimentConfig, RunOptions};
use std::path::{Path, PathBuf};

pub fn experiments_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments")
}

/// An experiment config from experiments/, shrunk: few steps, few short rollouts, fewer orbits.
pub fn smoke(name: &str, steps: usize) -> ExperimentConfig {
    let mut cfg = ExperimentConfig::from_file(&experiments_dir().join(format!("{name}.toml"))).unwrap();
    cfg.train.steps = steps;
    cfg.train.eval_every = (steps / 2).max(1);
    cfg.eval.starts = 3;
    cfg.eval.t_end = cfg.eval.t_end.min(3.0);
    cfg.eval.points = 30;
    if let DataConfig::Generate { task } = &mut cfg.data {
        task.trajectories = task.trajectories.min(25);
    }
    if cfg.train.batch_size > 100 {
        cfg.train.batch_size = 100;
    }
    cfg.model.hidden = vec![32, 32];
    cfg.validate().unwrap();
    cfg
}

pub fn options(out: &Path) -> RunOptions {
    RunOptions { out: out.to_path_buf(), device: hnn_train::device::DeviceChoice::Cpu, ..RunOptions::default() }
}
