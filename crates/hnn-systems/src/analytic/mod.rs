//! Analytic Hamiltonians with exact gradients.
//!
//! Each system writes its formulas once, on plain `f64` slices ([`AnalyticHamiltonian`]): that
//! is what the fast, parallel data generators integrate. The same systems implement
//! hnn-core's tensor [`Hamiltonian`](hnn_core::Hamiltonian) (any dtype, any device: states are
//! evaluated in f64 on the CPU and converted back), so integrators, metrics and plots serve
//! them and the learned models alike.

mod chain;
mod nbody;
mod oscillators;
mod pendulum;
mod potentials;

pub use chain::{ChainPendulum, MAX_LINKS};
pub use nbody::NBody;
pub use oscillators::{DampedOscillator, HarmonicOscillator, OscillatorChain};
pub use pendulum::Pendulum;
pub use potentials::{DoubleWell, HenonHeiles};

use candle_core::{DType, Device, Tensor};
use rayon::prelude::*;

/// A Hamiltonian given by formulas, evaluated on one state z = (q, p) as `f64`s.
pub trait AnalyticHamiltonian: Send + Sync {
    /// Degrees of freedom n.
    fn dof(&self) -> usize;
    /// Whether H = T(p) + V(q).
    fn separable(&self) -> bool;
    /// H(z).
    fn energy_at(&self, z: &[f64]) -> f64;
    /// ∇H(z) written into `grad` (length 2n).
    fn grad_at(&self, z: &[f64], grad: &mut [f64]);
    /// Hamilton's equations, ż = J∇H(z), written into `dz`.
    fn hamiltonian_field_at(&self, z: &[f64], dz: &mut [f64]) {
        self.grad_at(z, dz);
        hnn_core::symplectic::apply_j_rows(dz, self.dof());
    }
    /// The system's dynamics ż(z) written into `dz`: what data are generated and truths rolled
    /// out with. J∇H for a conservative system; a dissipative one adds its friction.
    fn time_derivatives_at(&self, z: &[f64], dz: &mut [f64]) {
        self.hamiltonian_field_at(z, dz)
    }
    /// Whether the dynamics conserve H (ż = J∇H); false for a system with friction.
    fn is_conservative(&self) -> bool {
        true
    }
    /// The true damping rate of a dissipative system (the r of ż = (J − R)∇H with
    /// R = diag(0, r)), to compare a learned one with; `None` for a conservative system.
    fn damping_rate(&self) -> Option<f64> {
        None
    }
    /// What the second half of a state is: canonical momenta (the default) or velocities
    /// (a system written for Lagrangian models; its
    /// [`hamiltonian_field_at`](Self::hamiltonian_field_at) is then its Euler–Lagrange flow).
    fn coordinates(&self) -> hnn_core::Coordinates {
        hnn_core::Coordinates::Canonical
    }
}

/// Errors unless a system parameter is positive and finite, naming it.
pub(crate) fn positive(name: &str, v: f64) -> crate::Result<()> {
    if v > 0.0 && v.is_finite() {
        Ok(())
    } else {
        Err(crate::Error::InvalidSetting(format!("system parameter `{name}` must be positive, got {v}")))
    }
}

/// Batches smaller than this are evaluated on one thread.
const PARALLEL_BATCH: usize = 4096;

/// Applies `f` to every row of a `[batch, 2n]` tensor, producing `width` numbers per row,
/// in f64 on the CPU, and returns a tensor of the input's dtype and device.
pub(crate) fn map_rows(
    z: &Tensor,
    dof: usize,
    width: usize,
    f: impl Fn(&[f64], &mut [f64]) + Sync,
) -> hnn_core::Result<Tensor> {
    hnn_core::symplectic::check_state(z, dof)?;
    let (dtype, device) = (z.dtype(), z.device().clone());
    let batch = z.dims()[0];
    let flat: Vec<f64> = z.to_dtype(DType::F64)?.to_device(&Device::Cpu)?.flatten_all()?.to_vec1()?;
    let mut out = vec![0.0; batch * width];
    let d = 2 * dof;
    if batch >= PARALLEL_BATCH {
        out.par_chunks_mut(width).zip(flat.par_chunks(d)).for_each(|(o, zi)| f(zi, o));
    } else {
        out.chunks_mut(width).zip(flat.chunks(d)).for_each(|(o, zi)| f(zi, o));
    }
    let t = Tensor::from_vec(out, (batch, width), &Device::Cpu)?.to_dtype(dtype)?.to_device(&device)?;
    Ok(t)
}

/// Implements hnn-core's tensor `Hamiltonian` for analytic systems.
macro_rules! tensor_hamiltonian {
    ($($t:ty),* $(,)?) => {$(
        impl hnn_core::Hamiltonian for $t {
            fn degrees_of_freedom(&self) -> usize {
                AnalyticHamiltonian::dof(self)
            }
            fn energy(&self, z: &candle_core::Tensor) -> hnn_core::Result<candle_core::Tensor> {
                Ok(map_rows(z, self.dof(), 1, |zi, o| o[0] = self.energy_at(zi))?.squeeze(1)?)
            }
            fn grad(&self, z: &candle_core::Tensor) -> hnn_core::Result<candle_core::Tensor> {
                map_rows(z, self.dof(), 2 * self.dof(), |zi, o| self.grad_at(zi, o))
            }
            fn hamiltonian_field(&self, z: &candle_core::Tensor) -> hnn_core::Result<candle_core::Tensor> {
                map_rows(z, self.dof(), 2 * self.dof(), |zi, o| self.hamiltonian_field_at(zi, o))
            }
            fn is_separable(&self) -> bool {
                self.separable()
            }
        }
    )*};
}

tensor_hamiltonian!(
    HarmonicOscillator,
    OscillatorChain,
    Pendulum,
    ChainPendulum,
    NBody,
    DoubleWell,
    HenonHeiles,
    crate::system::SystemHamiltonian
);
