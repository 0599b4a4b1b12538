//! Fields evaluated on host rows: the states of an adaptive solve kept as plain `f64` rows on the
//! CPU, so that only the field sees tensors. A field frozen for the inference kernel computes on
//! the rows directly ([`HostRows`], found through
//! [`crate::VectorField::host_rows`]); any other goes through its tensor
//! ops, with the same numbers. [`time_derivatives_rows`] is the one entry point.

use crate::error::Result;
use crate::hamiltonian::VectorField;
use crate::symplectic::check_rows;
use candle_core::{DType, Device, Tensor};

/// A field that computes ż on host rows itself.
pub trait HostRows {
    /// ż for states held as host rows: `z` is `[rows, width]` row-major f64 and ż is written to
    /// `dz` (same length).
    fn time_derivatives_rows(&self, z: &[f64], dz: &mut [f64], width: usize) -> Result<()>;
}

/// ż of `field` at host rows `z` (`[rows, width]` row-major f64) into `dz`: by the field's own
/// [`HostRows`] where it has them, else through its tensor ops on a CPU f64 tensor.
pub fn time_derivatives_rows(field: &dyn VectorField, z: &[f64], dz: &mut [f64], width: usize) -> Result<()> {
    if let Some(rows) = field.host_rows() {
        return rows.time_derivatives_rows(z, dz, width);
    }
    check_rows(z, dz, width)?;
    let t = Tensor::from_slice(z, (z.len() / width, width), &Device::Cpu)?;
    let d = field.time_derivatives(&t)?.to_dtype(DType::F64)?.flatten_all()?;
    dz.copy_from_slice(&d.to_vec1::<f64>()?);
    Ok(())
}
