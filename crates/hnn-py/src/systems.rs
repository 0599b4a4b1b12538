//! `System`: an analytic system from its config table (`{"kind": "pendulum", "m": 0.5, ...}`,
//! as in an experiment's `[data.task.system]`), with its exact energy, time derivatives
//! (friction included) and adaptive rollouts, for ground truth in Python.

use crate::{arrays, errors};
use candle_core::{DType, Device, Tensor};
use hnn::core::integrators::{DormandPrince, EmbeddedPair, MAX_ADAPTIVE_STEPS};
use hnn::systems::analytic::AnalyticHamiltonian;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// An analytic system of hnn.
#[pyclass(module = "hnn._hnn", frozen)]
pub struct System {
    system: hnn::systems::System,
    hamiltonian: Box<dyn AnalyticHamiltonian>,
}

impl System {
    /// Rows of width 2n of a state array `[N, 2n]` (or one state `[2n]`), as f64.
    fn rows(&self, z: &Bound<'_, PyAny>, name: &str) -> PyResult<(Vec<f64>, Vec<usize>)> {
        let z = arrays::tensor(z, name)?;
        let width = 2 * self.hamiltonian.dof();
        if z.dims().last() != Some(&width) || z.rank() > 2 {
            return Err(PyValueError::new_err(format!(
                "{name} must be [N, {width}] or [{width}] for {} (dof {}), got shape {:?}",
                self.kind(),
                self.hamiltonian.dof(),
                z.dims()
            )));
        }
        let values = z.flatten_all().and_then(|f| f.to_dtype(DType::F64)).and_then(|f| f.to_vec1::<f64>());
        Ok((values.map_err(errors::candle)?, z.dims().to_vec()))
    }

    fn array<'py>(py: Python<'py>, values: Vec<f64>, dims: &[usize]) -> PyResult<Bound<'py, PyAny>> {
        arrays::numpy(py, &Tensor::from_vec(values, dims, &Device::Cpu).map_err(errors::candle)?)
    }
}

#[pymethods]
impl System {
    /// A system from its settings as JSON (`kind` and the parameters of hnn's config table).
    #[new]
    fn new(settings: &str) -> PyResult<Self> {
        let system: hnn::systems::System = serde_json::from_str(settings).map_err(|e| {
            let kinds: Vec<&str> = hnn::systems::System::KINDS.iter().map(|(k, _)| *k).collect();
            PyValueError::new_err(format!("system settings {settings}: {e} (kinds: {})", kinds.join(", ")))
        })?;
        system.validate().map_err(errors::systems)?;
        let hamiltonian = system.hamiltonian();
        Ok(Self { system, hamiltonian })
    }

    /// The kinds of system, each with its Hamiltonian: `[(kind, formula)]`.
    #[staticmethod]
    fn kinds() -> Vec<(&'static str, &'static str)> {
        hnn::systems::System::KINDS.to_vec()
    }

    /// The config name of its kind.
    #[getter]
    fn kind(&self) -> String {
        serde_json::to_value(&self.system)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str().map(String::from)))
            .unwrap_or_default()
    }

    /// Its settings as JSON (what `System(settings)` takes).
    #[getter]
    fn settings(&self) -> PyResult<String> {
        serde_json::to_string(&self.system).map_err(|e| errors::internal(e.to_string()))
    }

    /// Degrees of freedom n.
    #[getter]
    fn dof(&self) -> usize {
        self.hamiltonian.dof()
    }

    /// Whether it conserves its energy (no friction).
    #[getter]
    fn conservative(&self) -> bool {
        self.hamiltonian.is_conservative()
    }

    /// The energy H(z) `[N]` (a float for one state `[2n]`).
    fn energy<'py>(&self, py: Python<'py>, z: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let (values, dims) = self.rows(z, "z")?;
        let width = 2 * self.hamiltonian.dof();
        let h: Vec<f64> = values.chunks(width).map(|row| self.hamiltonian.energy_at(row)).collect();
        Self::array(py, h, &dims[..dims.len() - 1])
    }

    /// The time derivatives ż(z) `[N, 2n]`, friction included.
    fn time_derivatives<'py>(&self, py: Python<'py>, z: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let (values, dims) = self.rows(z, "z")?;
        let width = 2 * self.hamiltonian.dof();
        let mut dz = vec![0.0; values.len()];
        for (row, out) in values.chunks(width).zip(dz.chunks_mut(width)) {
            self.hamiltonian.time_derivatives_at(row, out);
        }
        Self::array(py, dz, &dims)
    }

    /// Exact trajectories `[T, B, 2n]` from starts `z0` `[B, 2n]` at times `t`, by adaptive
    /// Dormand–Prince (`method` "dopri5" or "dop853") at `rtol`, `atol`.
    #[pyo3(signature = (z0, t, method="dopri5", rtol=1e-10, atol=1e-10))]
    fn rollout<'py>(
        &self,
        py: Python<'py>,
        z0: &Bound<'py, PyAny>,
        t: Vec<f64>,
        method: &str,
        rtol: f64,
        atol: f64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (values, dims) = self.rows(z0, "z0")?;
        let pair = EmbeddedPair::ALL.iter().find(|p| p.name() == method).copied().ok_or_else(|| {
            PyValueError::new_err(format!("method must be \"dopri5\" or \"dop853\" for exact rollouts, got {method:?}"))
        })?;
        let solver = DormandPrince { max_steps: MAX_ADAPTIVE_STEPS, pair, ..DormandPrince::new(rtol, atol) };
        let width = 2 * self.hamiltonian.dof();
        hnn::core::integrators::check_rollout_size(t.len(), values.len()).map_err(errors::core)?;
        let starts: Vec<&[f64]> = values.chunks(width).collect();
        let h = &self.hamiltonian;
        let solved = py.detach(|| {
            starts
                .iter()
                .map(|y0| solver.solve_slice(|y, dy| h.time_derivatives_at(y, dy), y0, &t))
                .collect::<Result<Vec<_>, _>>()
        });
        let solved = solved.map_err(errors::core)?;
        // [B][T·2n] → [T, B, 2n]
        let (b, steps) = (starts.len(), t.len());
        let mut out = vec![0.0; steps * b * width];
        for (k, trajectory) in solved.iter().enumerate() {
            for (i, state) in trajectory.chunks(width).enumerate() {
                out[(i * b + k) * width..(i * b + k + 1) * width].copy_from_slice(state);
            }
        }
        let shape = if dims.len() == 1 { vec![steps, width] } else { vec![steps, b, width] };
        Self::array(py, out, &shape)
    }

    fn __repr__(&self) -> String {
        format!("System({})", self.settings().unwrap_or_default())
    }
}
