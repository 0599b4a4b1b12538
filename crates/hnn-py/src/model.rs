//! `Model`: one [`HnnModel`] for Python. Training and rollouts run with the GIL released; a fit
//! asks Python for pending signals about every 50 ms, so Ctrl-C stops it between two steps
//! with `KeyboardInterrupt`, and the model keeps the weights of its last whole step.

use crate::{arrays, errors};
use hnn::core::integrators::RolloutMethod;
use hnn::core::Activation;
use hnn::prelude::{DeviceChoice, ModelKind, Precision, TrainConfig};
use hnn::train::training::StopSignal;
use hnn::{FitOptions, HnnModel, ModelConfig};
use pyo3::exceptions::{PyKeyboardInterrupt, PyValueError};
use pyo3::prelude::*;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often a running fit asks Python whether a signal (Ctrl-C) is pending.
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// A model of hnn (any registered kind) with its weights; what the estimators of `hnn` hold.
#[pyclass(module = "hnn._hnn")]
pub struct Model {
    inner: HnnModel,
}

fn precision(dtype: &str) -> PyResult<Precision> {
    match dtype {
        "float32" | "f32" => Ok(Precision::F32),
        "float64" | "f64" => Ok(Precision::F64),
        other => Err(PyValueError::new_err(format!("dtype must be \"float32\" or \"float64\", got {other:?}"))),
    }
}

fn device(name: &str) -> PyResult<DeviceChoice> {
    match name {
        "auto" => Ok(DeviceChoice::Auto),
        "cpu" => Ok(DeviceChoice::Cpu),
        "cuda" => Ok(DeviceChoice::Cuda),
        "metal" => Ok(DeviceChoice::Metal),
        other => Err(PyValueError::new_err(format!("device must be one of auto, cpu, cuda, metal; got {other:?}"))),
    }
}

fn train_config(json: &str) -> PyResult<TrainConfig> {
    let cfg: TrainConfig =
        serde_json::from_str(json).map_err(|e| PyValueError::new_err(format!("training settings: {e}")))?;
    cfg.validate().map_err(errors::train)?;
    Ok(cfg)
}

impl Model {
    /// Fits to `data`, releasing the GIL; Ctrl-C stops the fit (see the module's doc).
    fn fit_dataset(
        &mut self,
        py: Python<'_>,
        data: hnn::prelude::Dataset,
        train: &str,
        seed: Option<u64>,
        verbose: bool,
    ) -> PyResult<String> {
        let train = train_config(train)?;
        let pending: Arc<Mutex<Option<PyErr>>> = Arc::new(Mutex::new(None));
        let last = Mutex::new(Instant::now());
        let caught = pending.clone();
        let stop = StopSignal::new(move || {
            let mut last = last.lock().expect("not poisoned");
            if last.elapsed() < SIGNAL_POLL {
                return false;
            }
            *last = Instant::now();
            Python::attach(|py| match py.check_signals() {
                Ok(()) => false,
                Err(e) => {
                    *caught.lock().expect("not poisoned") = Some(e);
                    true
                }
            })
        });
        let options = FitOptions { train, seed, progress: verbose, stop: Some(stop) };
        let inner = &mut self.inner;
        let result = py.detach(move || inner.fit(&data, options));
        match result {
            Ok(report) => serde_json::to_string(&report).map_err(|e| errors::internal(e.to_string())),
            Err(hnn::Error::Interrupted { step, .. }) => {
                let signal = pending.lock().expect("not poisoned").take();
                Err(signal.unwrap_or_else(|| PyKeyboardInterrupt::new_err(format!("fit stopped at step {step}"))))
            }
            Err(e) => Err(errors::train(e)),
        }
    }
}

#[pymethods]
impl Model {
    /// A freshly initialised model: `kind` (hnn, baseline, separable_hnn, dissipative_hnn, lnn,
    /// delan), `dof` degrees of freedom (states of width 2·dof), hidden widths, activation,
    /// dtype ("float32" or "float64"), device ("cpu", "cuda", "metal", "auto") and seed.
    #[new]
    #[pyo3(signature = (kind, dof, hidden, activation, dtype, device, seed))]
    fn new(
        kind: &str,
        dof: usize,
        hidden: Vec<usize>,
        activation: &str,
        dtype: &str,
        device: &str,
        seed: u64,
    ) -> PyResult<Self> {
        let kind: ModelKind = kind.parse().map_err(errors::train)?;
        let activation: Activation = activation.parse().map_err(errors::core)?;
        let config =
            ModelConfig { kind, hidden, activation, precision: precision(dtype)?, device: self::device(device)?, seed };
        Ok(Self { inner: HnnModel::new(&config, dof).map_err(errors::train)? })
    }

    /// Reads a checkpoint (any model kind; the files `hnn exp` and `hnn fit` write).
    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<Self> {
        Ok(Self { inner: HnnModel::load(&path).map_err(errors::train)? })
    }

    /// Writes the model as a checkpoint (atomically).
    fn save(&self, path: PathBuf) -> PyResult<()> {
        self.inner.save(&path).map_err(errors::train)
    }

    /// Fits to (z, ż) pairs `[N, 2n]`, holding out the last `test_fraction` of the rows; `train`
    /// is the `[train]` table as JSON. Returns the training report as JSON.
    #[pyo3(signature = (z, dz, test_fraction, train, seed=None, verbose=false))]
    #[allow(clippy::too_many_arguments)]
    fn fit_pairs(
        &mut self,
        py: Python<'_>,
        z: &Bound<'_, PyAny>,
        dz: &Bound<'_, PyAny>,
        test_fraction: f64,
        train: &str,
        seed: Option<u64>,
        verbose: bool,
    ) -> PyResult<String> {
        let (z, dz) = (arrays::tensor(z, "z")?, arrays::tensor(dz, "dz")?);
        let data = hnn::prelude::pairs(&z, &dz, test_fraction).map_err(errors::systems)?;
        self.fit_dataset(py, data, train, seed, verbose)
    }

    /// Fits to trajectories `z` `[T, B, 2n]` sampled at times `t` `[T]` (ż by finite differences
    /// for gradient matching), holding out the last `test_fraction` of the trajectories.
    #[pyo3(signature = (t, z, test_fraction, train, seed=None, verbose=false))]
    #[allow(clippy::too_many_arguments)]
    fn fit_trajectories(
        &mut self,
        py: Python<'_>,
        t: Vec<f64>,
        z: &Bound<'_, PyAny>,
        test_fraction: f64,
        train: &str,
        seed: Option<u64>,
        verbose: bool,
    ) -> PyResult<String> {
        let z = arrays::tensor(z, "z")?;
        let options = hnn::prelude::TrajectoryOptions { test_fraction, ..Default::default() };
        let data = hnn::prelude::trajectories_on_grid(&t, &z, &options).map_err(errors::systems)?;
        self.fit_dataset(py, data, train, seed, verbose)
    }

    /// ż at states `z` `[N, 2n]` (or one state `[2n]`), in the dtype of `z`.
    fn predict<'py>(&self, py: Python<'py>, z: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let z = arrays::tensor(z, "z")?;
        let dz = py.detach(|| self.inner.predict_derivatives(&z)).map_err(errors::train)?;
        arrays::numpy(py, &dz)
    }

    /// The learned energy H(z) `[N]` (an error for the baseline, which has none).
    fn energy<'py>(&self, py: Python<'py>, z: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let z = arrays::tensor(z, "z")?;
        let h = py.detach(|| self.inner.energy(&z)).map_err(errors::train)?;
        arrays::numpy(py, &h)
    }

    /// The learned friction rates r(z) `[N, n]` of a dissipative model.
    fn damping_rates<'py>(&self, py: Python<'py>, z: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let z = arrays::tensor(z, "z")?;
        let r = py.detach(|| self.inner.damping_rates(&z)).map_err(errors::train)?;
        arrays::numpy(py, &r)
    }

    /// Trajectories `[T, B, 2n]` from starts `z0` `[B, 2n]` at times `t`: `method` dopri5 or
    /// dop853 (adaptive, `rtol`, `atol`) or a fixed-step integrator with step `dt`.
    #[pyo3(signature = (z0, t, method="dopri5", rtol=1e-9, atol=1e-9, dt=None))]
    #[allow(clippy::too_many_arguments)]
    fn rollout<'py>(
        &self,
        py: Python<'py>,
        z0: &Bound<'py, PyAny>,
        t: Vec<f64>,
        method: &str,
        rtol: f64,
        atol: f64,
        dt: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let z0 = arrays::tensor(z0, "z0")?;
        let method: RolloutMethod = method.parse().map_err(errors::core)?;
        let dt = match (method.adaptive_pair(), dt) {
            (None, None) => {
                return Err(PyValueError::new_err(format!(
                    "method {:?} takes a fixed step: give dt (or use method=\"dopri5\" or \"dop853\")",
                    method.name()
                )))
            }
            (_, dt) => dt.unwrap_or(0.0),
        };
        let solver = method.solver(dt, rtol, atol);
        let orbit = py.detach(|| self.inner.rollout(&z0, &t, &solver)).map_err(errors::train)?;
        arrays::numpy(py, &orbit)
    }

    /// The model kind's name.
    #[getter]
    fn kind(&self) -> String {
        self.inner.kind().name().to_string()
    }

    /// Degrees of freedom n (states have 2n columns).
    #[getter]
    fn dof(&self) -> usize {
        self.inner.dof()
    }

    /// Optimizer steps this model has been trained.
    #[getter]
    fn steps_trained(&self) -> usize {
        self.inner.steps_trained()
    }

    /// Hidden widths.
    #[getter]
    fn hidden(&self) -> Vec<usize> {
        self.inner.state().spec.hidden.clone()
    }

    /// The activation's name.
    #[getter]
    fn activation(&self) -> String {
        self.inner.state().spec.activation.to_string()
    }

    /// "float32" or "float64".
    #[getter]
    fn dtype(&self) -> &'static str {
        match self.inner.state().dtype {
            candle_core::DType::F32 => "float32",
            _ => "float64",
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "Model(kind={:?}, dof={}, hidden={:?}, steps_trained={})",
            self.kind(),
            self.dof(),
            self.hidden(),
            self.steps_trained()
        )
    }
}
