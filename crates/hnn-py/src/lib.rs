//! # hnn-py
//!
//! The extension module `hnn._hnn` behind the Python package `hnn` (`python/hnn`): a thin layer
//! over [`hnn::HnnModel`] and the analytic systems, with numpy arrays in and out. The
//! scikit-learn-style estimators are written in Python on top of it.
//!
//! - [`model`]: `Model`, one [`hnn::HnnModel`]: fit (GIL released, Ctrl-C stops it), predict,
//!   energy, damping rates, rollout, save and load.
//! - [`systems`]: `System`, an analytic system from its config table, with its energy and field.
//! - [`data`]: `dataset(name, seed)`, an experiment's data as `hnn data` writes them.
//! - [`arrays`]: numpy ↔ candle tensors, converted once; [`errors`]: hnn's errors as Python's.

use pyo3::prelude::*;

pub mod arrays;
pub mod data;
pub mod errors;
pub mod model;
pub mod systems;

/// The module `hnn._hnn`.
#[pymodule]
fn _hnn(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<model::Model>()?;
    m.add_class::<systems::System>()?;
    m.add_function(wrap_pyfunction!(data::dataset, m)?)?;
    m.add_function(wrap_pyfunction!(data::experiments, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("MAX_ROLLOUT_TIMES", hnn::core::integrators::MAX_ROLLOUT_TIMES)?;
    Ok(())
}
