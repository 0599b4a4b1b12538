//! Helpers: the repository's experiment configs, shrunk to smoke size.
#![allow(dead_code)]

use hnn_train::{ExperimentConfig, RunOptions};
use std::path::{Path, PathBuf};

pub fn experiments_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments")
}

/// An experiment config from experiments/, shrunk to a smoke run.
pub fn smoke(name: &str, steps: usize) -> ExperimentConfig {
    let path = experiments_dir().join(format!("{name}.toml"));
    ExperimentConfig::from_file(&path).unwrap().smoke(steps).unwrap()
}

pub fn options(out: &Path) -> RunOptions {
    RunOptions { out: out.to_path_buf(), device: hnn_train::device::DeviceChoice::Cpu, ..RunOptions::default() }
}
