//! The two traits every system and model implements: [`VectorField`] (anything that gives ż)
//! and [`Hamiltonian`] (a scalar energy whose symplectic gradient is the field).

use crate::error::Result;
use crate::symplectic::{apply_j, join_qp, split_qp};
use candle_core::Tensor;

/// A first-order ODE ż = f(z) on batched states `[batch, 2n]`. Integrators, rollouts and metrics
/// take any vector field: analytic Hamiltonians, learned Hamiltonians, and the baseline MLP.
pub trait VectorField {
    /// ż = f(z), same shape as z.
    fn time_derivatives(&self, z: &Tensor) -> Result<Tensor>;

    /// The field's own evaluator on host rows, where the execution layer has one for it (a
    /// model frozen for the inference kernel); `None`: host rows go through
    /// [`time_derivatives`](Self::time_derivatives) ([`crate::exec::host`]).
    fn host_rows(&self) -> Option<&dyn crate::exec::host::HostRows> {
        None
    }

    /// The Hamiltonian behind this field, if there is one (symplectic integrators need it).
    /// Only a field that *is* J∇H answers here; a dissipative field answers
    /// [`energy_function`](Self::energy_function) instead.
    fn hamiltonian(&self) -> Option<&dyn Hamiltonian> {
        None
    }

    /// The energy of this field: the H that a Hamiltonian field conserves or a dissipative
    /// field, ż = (J − R)∇H, loses. By default the field's [`hamiltonian`](Self::hamiltonian).
    fn energy_function(&self) -> Option<&dyn Hamiltonian> {
        self.hamiltonian()
    }

    /// For a dissipative field, its damping rates on the momenta at z, `[batch, n]`: ṗ gains
    /// −rᵢ(z)·∂H/∂pᵢ, so a mechanical friction force −γ·p/m reads rᵢ = γ. `None` for a field
    /// without a dissipative part.
    fn damping_rates(&self, z: &Tensor) -> Result<Option<Tensor>> {
        let _ = z;
        Ok(None)
    }
}

/// A Hamiltonian H(q, p) on batched states z = (q, p) of shape `[batch, 2n]`.
///
/// Implementors provide [`energy`](Hamiltonian::energy) and [`grad`](Hamiltonian::grad);
/// the vector field J∇H follows. Separable systems (H = T(p) + V(q)) say so, which unlocks the
/// explicit symplectic integrators, and may override [`dh_dq`](Hamiltonian::dh_dq) /
/// [`dh_dp`](Hamiltonian::dh_dp) to compute only the half they need.
pub trait Hamiltonian {
    /// Degrees of freedom n (the state has 2n components).
    fn degrees_of_freedom(&self) -> usize;

    /// H(z), shape `[batch]`.
    fn energy(&self, z: &Tensor) -> Result<Tensor>;

    /// ∇_z H = (∂H/∂q, ∂H/∂p), shape `[batch, 2n]`.
    fn grad(&self, z: &Tensor) -> Result<Tensor>;

    /// Whether H = T(p) + V(q), so that ∂H/∂q depends on q only and ∂H/∂p on p only.
    fn is_separable(&self) -> bool {
        false
    }

    /// ∂H/∂q at z, shape `[batch, n]`.
    fn dh_dq(&self, z: &Tensor) -> Result<Tensor> {
        Ok(split_qp(&self.grad(z)?)?.0)
    }

    /// ∂H/∂p at z, shape `[batch, n]`.
    fn dh_dp(&self, z: &Tensor) -> Result<Tensor> {
        Ok(split_qp(&self.grad(z)?)?.1)
    }

    /// Hamilton's equations: ż = J∇H = (∂H/∂p, −∂H/∂q).
    fn hamiltonian_field(&self, z: &Tensor) -> Result<Tensor> {
        apply_j(&self.grad(z)?)
    }
}

impl<H: Hamiltonian> VectorField for H {
    fn time_derivatives(&self, z: &Tensor) -> Result<Tensor> {
        self.hamiltonian_field(z)
    }

    fn hamiltonian(&self) -> Option<&dyn Hamiltonian> {
        Some(self)
    }
}

/// The (q, p) form of the API, for notebook-style code: `h.time_derivatives_qp(&q, &p)`,
/// `h.step(&q, &p, dt)`.
pub trait PhaseSpace: VectorField {
    /// (dq/dt, dp/dt) at (q, p), each `[batch, n]`.
    fn time_derivatives_qp(&self, q: &Tensor, p: &Tensor) -> Result<(Tensor, Tensor)> {
        split_qp(&self.time_derivatives(&join_qp(q, p)?)?)
    }

    /// One step of size dt with this system's natural symplectic integrator: leapfrog for a
    /// separable Hamiltonian, implicit midpoint for a general one, RK4 for a field without H.
    fn step(&self, q: &Tensor, p: &Tensor, dt: f64) -> Result<(Tensor, Tensor)>
    where
        Self: Sized,
    {
        let integrator = crate::integrators::default_integrator(self);
        self.step_with(q, p, dt, integrator.as_ref())
    }

    /// One step of size dt with the given integrator.
    fn step_with(
        &self,
        q: &Tensor,
        p: &Tensor,
        dt: f64,
        integrator: &dyn crate::integrators::Integrator,
    ) -> Result<(Tensor, Tensor)>
    where
        Self: Sized,
    {
        let z = join_qp(q, p)?;
        split_qp(&integrator.propagate(self, &z, dt, 1)?)
    }
}

impl<F: VectorField> PhaseSpace for F {}

/// A field evaluated in another float type: each state is cast to `dtype` before the field sees
/// it and the derivative cast back to the state's type. An adaptive integrator can then carry
/// f64 states while an f32-trained model runs in f32, its own precision (what the reference's
/// scipy loop does: float64 states, a float32 PyTorch model). The wrapper is a plain field: it
/// exposes no [`Hamiltonian`], so integrators that need one reject it.
pub struct InPrecision<'a> {
    /// The field (its parameters already in `dtype`).
    pub field: &'a (dyn VectorField + Sync),
    /// The type the field is evaluated in.
    pub dtype: candle_core::DType,
}

impl VectorField for InPrecision<'_> {
    fn time_derivatives(&self, z: &Tensor) -> Result<Tensor> {
        Ok(self.field.time_derivatives(&z.to_dtype(self.dtype)?)?.to_dtype(z.dtype())?)
    }

    /// The field's own host rows, which a field that lives on the host computes in its
    /// parameters' type (`dtype`, by construction).
    fn host_rows(&self) -> Option<&dyn crate::exec::host::HostRows> {
        self.field.host_rows()
    }
}
