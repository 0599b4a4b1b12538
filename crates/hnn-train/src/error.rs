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
    /// Data that cannot serve the run (empty, or not of the shape the objective needs); says
    /// what they are and what is needed.
    #[error("data: {0}")]
    Data(String),
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
    /// A compute kernel of the execution layer failed (names the kernel and the shapes).
    #[error("kernel: {0}")]
    Kernel(String),
    /// Worker threads could not be started.
    #[error("threads: {0}")]
    Threads(String),
    /// Another error, with what was being done when it happened (which model, which step); the
    /// cause keeps its own kind ([`Error::source`](std::error::Error::source)).
    #[error("{what}: {source}")]
    Context { what: String, source: Box<Error> },
    /// Training stopped on request (a [`StopSignal`](crate::training::StopSignal)) before its
    /// last step; the model keeps the weights of `step`, reached by `steps_run` steps of this call.
    #[error(
        "training stopped on request at step {step} of {of} (the model keeps the weights of step {step}; \
         fit again to continue from them)"
    )]
    Interrupted { step: usize, steps_run: usize, of: usize },
    /// A plot could not be drawn.
    #[error("plot {path}: {problem}")]
    Plot { path: PathBuf, problem: String },
}

/// Result with hnn-train's [`Error`](enum@Error).
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A [`Error::Checkpoint`].
    pub fn checkpoint(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        Error::Checkpoint { path: path.into(), problem: problem.into() }
    }
    /// This error with what was being done when it happened (an [`Error::Context`]).
    pub fn context(self, what: impl Into<String>) -> Self {
        Error::Context { what: what.into(), source: Box::new(self) }
    }
    /// An [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}
