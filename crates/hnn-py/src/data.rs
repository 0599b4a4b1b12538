//! An experiment's dataset, as `hnn data NAME` writes it (same seed, same numbers), and the list
//! of experiments.

use crate::{arrays, errors};
use hnn::train::ExperimentConfig;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;

/// The data of experiment `name` (a built-in name, a local `experiments/NAME.toml`, or a path)
/// for `seed`: a dict of `train_z`, `train_dz`, `test_z`, `test_dz` (`[N, 2n]`, float64),
/// `train_t`/`test_t` where the samples have times, and `meta` (the metadata as JSON). `data`:
/// the recording, for experiments that read one (`real_pendulum`).
#[pyfunction]
#[pyo3(signature = (name, seed=0, data=None))]
pub fn dataset<'py>(py: Python<'py>, name: &str, seed: u64, data: Option<PathBuf>) -> PyResult<Bound<'py, PyDict>> {
    let source = hnn::experiments::find(name).map_err(errors::train)?;
    let is_pixels = source.text.parse::<toml::Table>().ok().and_then(|t| t.get("kind").cloned())
        == Some(toml::Value::String("pixels".into()));
    if is_pixels {
        return Err(PyValueError::new_err(format!(
            "{name} is a pixel experiment: its frames come from `hnn data {name} --out FILE.npz`"
        )));
    }
    let cfg = ExperimentConfig::from_toml(&source.text, &source.origin).map_err(errors::train)?;
    let ds = py.detach(|| cfg.data.load(seed, data.as_deref())).map_err(errors::train)?;
    let out = PyDict::new(py);
    for (split, part) in [("train", &ds.train), ("test", &ds.test)] {
        out.set_item(format!("{split}_z"), arrays::numpy(py, &part.z)?)?;
        out.set_item(format!("{split}_dz"), arrays::numpy(py, &part.dz)?)?;
        if let Some(t) = &part.t {
            out.set_item(format!("{split}_t"), arrays::numpy(py, t)?)?;
        }
    }
    out.set_item("meta", serde_json::to_string(&ds.meta).map_err(|e| errors::internal(e.to_string()))?)?;
    Ok(out)
}

/// The experiments hnn knows: `[(name, first sentence of its description)]`.
#[pyfunction]
pub fn experiments() -> Vec<(String, String)> {
    hnn::experiments::BUILTIN.iter().map(|(name, text)| (name.to_string(), hnn::experiments::summary(text))).collect()
}
