//! numpy arrays ↔ candle tensors. Arrays of float32 or float64 in any memory layout are read
//! once, in logical (C) order; anything else is a `TypeError` naming the argument and its dtype.
//! Results come back in the dtype they were asked in.

use candle_core::{DType, Device, Tensor};
use numpy::ndarray::{ArrayD, IxDyn};
use numpy::{IntoPyArray, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

/// A float array as a CPU tensor of its own dtype (f32 or f64).
pub fn tensor(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Tensor> {
    if let Ok(a) = obj.extract::<PyReadonlyArrayDyn<'_, f64>>() {
        let shape = a.shape().to_vec();
        let values: Vec<f64> = a.as_array().iter().copied().collect();
        return Tensor::from_vec(values, shape, &Device::Cpu).map_err(crate::errors::candle);
    }
    if let Ok(a) = obj.extract::<PyReadonlyArrayDyn<'_, f32>>() {
        let shape = a.shape().to_vec();
        let values: Vec<f32> = a.as_array().iter().copied().collect();
        return Tensor::from_vec(values, shape, &Device::Cpu).map_err(crate::errors::candle);
    }
    let what = obj
        .getattr("dtype")
        .map(|d| format!("an array of dtype {d}"))
        .unwrap_or_else(|_| format!("a {}", obj.get_type().name().map(|n| n.to_string()).unwrap_or_default()));
    Err(PyTypeError::new_err(format!("{name} must be a numpy array of float32 or float64, got {what}")))
}

/// A tensor as a numpy array of its dtype (f32 stays f32; anything else becomes f64).
pub fn numpy<'py>(py: Python<'py>, t: &Tensor) -> PyResult<Bound<'py, PyAny>> {
    let shape = IxDyn(t.dims());
    let flat = t.flatten_all().map_err(crate::errors::candle)?;
    let shaped = |e: numpy::ndarray::ShapeError| crate::errors::internal(format!("array of shape {shape:?}: {e}"));
    if t.dtype() == DType::F32 {
        let v = flat.to_vec1::<f32>().map_err(crate::errors::candle)?;
        Ok(ArrayD::from_shape_vec(shape.clone(), v).map_err(shaped)?.into_pyarray(py).into_any())
    } else {
        let v = flat.to_dtype(DType::F64).and_then(|f| f.to_vec1::<f64>()).map_err(crate::errors::candle)?;
        Ok(ArrayD::from_shape_vec(shape.clone(), v).map_err(shaped)?.into_pyarray(py).into_any())
    }
}
