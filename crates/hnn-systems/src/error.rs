//! The error type of hnn-systems.

use std::path::PathBuf;
use thiserror::Error;

/// What can go wrong building systems, generating data or reading and writing datasets.
#[derive(Debug, Error)]
pub enum Error {
    /// From hnn-core (integration, shapes).
    #[error(transparent)]
    Core(#[from] hnn_core::Error),
    /// From candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// A file's content is not what it should be.
    #[error("{path}: {problem}")]
    BadFile { path: PathBuf, problem: String },
    /// A required data file is missing; the message says where to put it.
    #[error("{0}")]
    MissingData(String),
    /// A setting that makes no sense.
    #[error("invalid setting: {0}")]
    InvalidSetting(String),
}

/// Result with hnn-systems' [`Error`](enum@Error).
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A [`Error::BadFile`] for `path`.
    pub fn bad_file(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        Error::BadFile { path: path.into(), problem: problem.into() }
    }
}
