//! Reversible backpropagation through a time-reversible integrator (leapfrog, Yoshida 4): the
//! gradients of a trajectory-matching loss L = mean((z_m − target)²) after m steps, with memory
//! that does not grow with m.
//!
//! Backpropagating through the unrolled graph keeps every intermediate state and stage of all m
//! steps. A time-reversible step is undone exactly (in exact arithmetic) by a step of −dt, so
//! the backward pass can recompute each state from the next instead of storing it:
//! 1. forward: z_{k+1} = Φ_dt(z_k), no graph kept, only z_m;
//! 2. ḡ_m = ∂L/∂z_m = 2(z_m − target)/N;
//! 3. for k = m−1 … 0: z_k = Φ_{−dt}(z_{k+1}); one step Φ_dt from z_k recorded as a one-step
//!    graph, and the vector–Jacobian product ḡ_{k+1}·∂Φ/∂(z_k, θ) by candle's backward: it adds
//!    to the parameter gradients and gives ḡ_k.
//!
//! The cost is one extra step per step (the reconstruction) and one step's graph at a time.
//! In floating point the reconstructed states drift from the forward ones by round-off, which a
//! chaotic field amplifies over many steps; [`ReversibleGradients::reconstruction_error`]
//! reports how far the reconstructed z_0 lies from the true one, so a caller can see it.

use super::Integrator;
use crate::error::{Error, Result};
use crate::hamiltonian::VectorField;
use candle_core::{DType, Tensor, Var};

/// The loss and its gradients from [`matching_gradients`].
#[derive(Debug, Clone)]
pub struct ReversibleGradients {
    /// L = mean((z_m − target)²).
    pub loss: f64,
    /// (parameter, ∂L/∂parameter) for each parameter given.
    pub params: Vec<(Tensor, Tensor)>,
    /// ∂L/∂z_0.
    pub d_start: Tensor,
    /// max |z_0 reconstructed − z_0|: the round-off of running the steps backwards.
    pub reconstruction_error: f64,
}

/// The gradients of L = mean((Φ_dt^m(z0) − target)²) with respect to `params` (the variables
/// the field reads) and z0, by reversible backpropagation. The integrator must be time
/// reversible ([`Integrator::is_time_reversible`]) and act on the state itself.
pub fn matching_gradients(
    integrator: &dyn Integrator,
    field: &dyn VectorField,
    params: &[Var],
    z0: &Tensor,
    target: &Tensor,
    dt: f64,
    steps: usize,
) -> Result<ReversibleGradients> {
    if !integrator.is_time_reversible() {
        let reversible: Vec<_> = crate::IntegratorKind::ALL
            .iter()
            .filter(|(k, _)| k.build().is_time_reversible())
            .map(|(k, _)| k.name())
            .collect();
        return Err(Error::InvalidArgument(format!(
            "reversible backpropagation needs a time-reversible integrator ({}); {} is not",
            reversible.join(", "),
            integrator.name()
        )));
    }
    if !dt.is_finite() {
        return Err(Error::InvalidArgument(format!("{}: step dt must be finite, got {dt}", integrator.name())));
    }
    if z0.dims() != target.dims() {
        return Err(Error::InvalidArgument(format!(
            "states {:?} and targets {:?} differ in shape",
            z0.dims(),
            target.dims()
        )));
    }
    let start = z0.detach();
    // 1. Forward, keeping nothing but the current state.
    let mut z = start.clone();
    for _ in 0..steps {
        z = integrator.step(field, &z, dt)?.detach();
    }
    // 2. The loss and its gradient at z_m.
    let n = z.elem_count() as f64;
    let diff = (&z - target)?;
    let loss = diff.sqr()?.sum_all()?.to_dtype(DType::F64)?.to_scalar::<f64>()? / n;
    let mut g = (diff * (2.0 / n))?;
    // 3. Backward, one step at a time.
    let mut totals: Vec<Option<Tensor>> = vec![None; params.len()];
    for _ in 0..steps {
        let previous = integrator.step(field, &z, -dt)?.detach();
        let leaf = Var::from_tensor(&previous)?;
        let next = integrator.step(field, leaf.as_tensor(), dt)?;
        let grads = (next * &g)?.sum_all()?.backward()?;
        for (total, p) in totals.iter_mut().zip(params) {
            if let Some(d) = grads.get(p.as_tensor()) {
                // candle leaves a variable's gradient attached to the step's graph: detached, the
                // graph is freed with the step (summed attached, every step's would be kept).
                let d = d.detach();
                *total = Some(match total.take() {
                    Some(t) => (t + d)?,
                    None => d,
                });
            }
        }
        g = match grads.get(leaf.as_tensor()) {
            Some(d) => d.detach(),
            None => g.zeros_like()?,
        };
        z = previous;
    }
    let reconstruction_error = (&z - &start)?.abs()?.flatten_all()?.max(0)?.to_dtype(DType::F64)?.to_scalar::<f64>()?;
    let params = params
        .iter()
        .zip(totals)
        .map(|(p, t)| {
            Ok((
                p.as_tensor().clone(),
                match t {
                    Some(t) => t,
                    None => p.as_tensor().zeros_like()?,
                },
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(ReversibleGradients { loss, params, d_start: g, reconstruction_error })
}
