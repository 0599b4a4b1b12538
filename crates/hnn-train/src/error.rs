//! The error type of hnn-train.

use std::path::PathBuf;
use thiserror::Error;

/// What can go wrong training, evaluating, checkpointing or configuring.
#[derive(Debug, Error)]
pub enum Error {
    /// From hnn-core.
    #[error(transparent)]
    Core(#[from] hnn_core::Error),
    /// From hnn-systems (data).
    #[error(transparent)]
    Systems(#[from] hnn_systems::Error),
    /// From candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// A configuration that makes no sense; names the field.
    #[error("config: {0}")]
    Config(String),
    /// A checkpoint that cannot be used; says why.
    #[error("checkpoint {path}: {problem}")]
    Checkpoint { path: PathBuf, problem: String },
    /// Training produced NaN or Inf.
    #[error("training diverged at step {step}: {what} is not finite (NaN or Inf); the last good checkpoint, if any, is kept{hint}")]
    Diverged { step: usize, what: String, hint: String },
    /// An evaluation whose result is not a finite number (a model whose rollouts blow up).
    #[error("evaluation: {0}")]
    Evaluation(String),
    /// The requested device or precision is not available.
    #[error("device: {0}")]
    Device(String),
    /// Some seeds of a multi-seed run failed (the others' results are written); names each.
    #[error("{0}")]
    Seeds(String),
    /// A plot could not be drawn.
    #[error("plot {path}: {problem}")]
    Plot { path: PathBuf, problem: String },
}

/// Result with hnn-train's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A [`Error::Checkpoint`].
    pub fn checkpoint(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        Error::Checkpoint { path: path.into(), problem: problem.into() }
    }
    /// An [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}
