//! hnn's errors as Python exceptions, each carrying hnn's whole message (the file, the key, the
//! shape): files that cannot be read or written are `OSError` (`FileNotFoundError` when missing);
//! settings, data and checkpoints that make no sense are `ValueError`; a fit stopped by Ctrl-C
//! is `KeyboardInterrupt`; what fails while computing (divergence, a device, a kernel) is
//! `RuntimeError`.

use pyo3::exceptions::{PyFileNotFoundError, PyKeyboardInterrupt, PyOSError, PyRuntimeError, PyValueError};
use pyo3::PyErr;

/// An hnn-train error (the kind of its innermost cause decides the exception).
pub fn train(e: hnn::Error) -> PyErr {
    let message = e.to_string();
    let mut kind = &e;
    while let hnn::Error::Context { source, .. } = kind {
        kind = source;
    }
    match kind {
        hnn::Error::Io { source, .. } => io(source, message),
        hnn::Error::Systems(s) => systems_kind(s, message),
        hnn::Error::Core(c) => core_kind(c, message),
        hnn::Error::Config(_) | hnn::Error::Data(_) | hnn::Error::Checkpoint { .. } | hnn::Error::Seeds(_) => {
            PyValueError::new_err(message)
        }
        hnn::Error::Interrupted { .. } => PyKeyboardInterrupt::new_err(message),
        _ => PyRuntimeError::new_err(message),
    }
}

/// An hnn-systems error.
pub fn systems(e: hnn::systems::Error) -> PyErr {
    let message = e.to_string();
    systems_kind(&e, message)
}

/// An hnn-core error.
pub fn core(e: hnn::core::Error) -> PyErr {
    let message = e.to_string();
    core_kind(&e, message)
}

/// A candle error (shapes and dtypes of arrays that reached a tensor op).
pub fn candle(e: candle_core::Error) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// A failure of this module itself.
pub fn internal(message: String) -> PyErr {
    PyRuntimeError::new_err(message)
}

fn io(source: &std::io::Error, message: String) -> PyErr {
    match source.kind() {
        std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(message),
        _ => PyOSError::new_err(message),
    }
}

fn systems_kind(e: &hnn::systems::Error, message: String) -> PyErr {
    match e {
        hnn::systems::Error::Io { source, .. } => io(source, message),
        hnn::systems::Error::Core(c) => core_kind(c, message),
        hnn::systems::Error::Candle(_) => PyRuntimeError::new_err(message),
        _ => PyValueError::new_err(message),
    }
}

fn core_kind(e: &hnn::core::Error, message: String) -> PyErr {
    use hnn::core::Error as C;
    match e {
        C::NoConvergence { .. } | C::StepLimit { .. } | C::NonFinite(_) | C::IllConditioned { .. } | C::Candle(_) => {
            PyRuntimeError::new_err(message)
        }
        _ => PyValueError::new_err(message),
    }
}
