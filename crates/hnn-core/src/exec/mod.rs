//! # The execution layer
//!
//! How a model is computed, chosen here from the model, the device and the dtype, so that the
//! physics traits ([`VectorField`], [`Hamiltonian`](crate::Hamiltonian)) and their callers never
//! see it. A model that is an MLP field (an HNN's H, the baseline's ż) describes itself as a
//! [`NetworkField`]; everything else runs as the plain tensor ops of its physics traits, with
//! candle's autograd for training.
//!
//! | job | CPU, f32/f64 | other devices | any other model |
//! |---|---|---|---|
//! | gradient-matching loss and gradients ([`matching_loss`]) | fused kernel ([`cpu::training`]) | tensor-op backward ([`explicit`], with `cuda` kernels for tanh) | autograd on the field's tensor ops |
//! | the same for an ensemble, each member on its own batch ([`ensemble_gradient_matching`]) | one job of the fused kernel for all members, each bit for bit its own call | — (the caller computes the members one by one) | — |
//! | a trained model's ż, H, ∇H ([`freeze`]) | inference kernel ([`cpu::inference`]) on host copies of the weights | tensor ops on a detached copy | tensor ops on a detached copy |
//! | optimizer update | [`cpu::adam`] | tensor ops | — |
//! | matrix products of tensor ops ([`matmul`]) | [`cpu::matmul`](mod@cpu::matmul) as a candle op: one thread for small products, the rayon pool for large | candle's matmul | — |
//! | ż on host rows of an adaptive solve ([`host::time_derivatives_rows`]) | the inference kernel on the rows | — | through the field's tensor ops |
//! | threads for tensor-op work ([`threads::run_sized`]) | one for small products, all for large | — | — |
//!
//! Every kernel is an accelerator of the tensor-op definition of the same model and is held
//! against it by tests (`hnn-core/tests/fused.rs`, `tests/gpu.rs`).

pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;
pub mod explicit;
mod frozen;
pub mod host;
mod product;
pub mod threads;

pub use frozen::{Frozen, FrozenHamiltonian, FrozenOutput};
pub use product::matmul;

use crate::error::{Error, Result};
use crate::hamiltonian::VectorField;
use crate::mlp::Mlp;
use candle_core::{DType, Tensor, WithDType};

/// How an MLP defines a vector field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldForm {
    /// A scalar network H(z) whose symplectic gradient is the field, ż = J∇H (the HNN).
    SymplecticGradient,
    /// A network whose output is the field, ż = N(z) (the baseline).
    Output,
}

/// A model that is one MLP field: what the fused kernels can run in place of its tensor ops.
#[derive(Debug, Clone, Copy)]
pub struct NetworkField<'a> {
    /// How the network defines ż.
    pub form: FieldForm,
    /// The network (`2n → … → 1` or `2n → … → 2n`).
    pub mlp: &'a Mlp,
}

impl NetworkField<'_> {
    /// Checks that the network's widths fit its form and returns the state width 2n.
    fn state_width(&self) -> Result<usize> {
        let (input, output) = (self.mlp.config().input, self.mlp.config().output);
        let valid = match self.form {
            FieldForm::SymplecticGradient => output == 1 && input.is_multiple_of(2),
            FieldForm::Output => output == input,
        };
        if !valid {
            return Err(Error::InvalidArgument(format!(
                "a {input} → {output} network does not define a {:?} vector field",
                self.form
            )));
        }
        Ok(input)
    }
}

/// A loss value with the gradient of each parameter tensor and of the loss's inputs, computed
/// without an autograd graph.
#[derive(Debug, Clone)]
pub struct LossGradients {
    /// The loss.
    pub loss: f64,
    /// (parameter, ∂loss/∂parameter) for every parameter the loss depends on.
    pub params: Vec<(Tensor, Tensor)>,
    /// ∂loss/∂z, shaped as the states z.
    pub d_states: Tensor,
    /// ∂loss/∂target, shaped as the targets.
    pub d_targets: Tensor,
}

/// The gradient-matching loss mean((ż(z) − target)²), either with all its gradients already
/// computed by a kernel or as a scalar tensor carrying its autograd graph.
#[derive(Debug)]
pub enum MatchingLoss {
    /// Computed by a kernel, gradients included.
    Computed(LossGradients),
    /// A scalar loss whose `backward` gives the gradients.
    Graph(Tensor),
}

/// The gradient-matching loss of `field` on states `z` `[batch, 2n]` against `target`, by the
/// fastest route there is: where the model is an MLP field (`network`) with parameters of the
/// states' dtype (f32 or f64), the fused CPU kernel or, on other devices, the tensor-op
/// backward; otherwise the field's own tensor ops, for autograd.
pub fn matching_loss(
    field: &dyn VectorField,
    network: Option<NetworkField<'_>>,
    z: &Tensor,
    target: &Tensor,
) -> Result<MatchingLoss> {
    if let Some(network) = network {
        if let Some(computed) = network_gradient_matching(network, z, target)? {
            return Ok(MatchingLoss::Computed(computed));
        }
    }
    Ok(MatchingLoss::Graph((field.time_derivatives(z)? - target)?.sqr()?.mean_all()?))
}

/// Whether [`matching_loss`] computes with a kernel for this model on states of this dtype and
/// device (no autograd graph).
pub fn has_matching_kernel(network: Option<NetworkField<'_>>, dtype: DType) -> bool {
    network.is_some_and(|n| kernel_dtype(n.mlp, dtype))
}

fn kernel_dtype(mlp: &Mlp, dtype: DType) -> bool {
    matches!(dtype, DType::F32 | DType::F64) && mlp.layers().all(|(w, _)| w.dtype() == dtype)
}

/// [`matching_loss`] through a kernel, or `None` where no kernel takes this dtype.
pub fn network_gradient_matching(
    network: NetworkField<'_>,
    z: &Tensor,
    target: &Tensor,
) -> Result<Option<LossGradients>> {
    let width = network.state_width()?;
    let (_, w) = z.dims2()?;
    if w != width || target.dims() != z.dims() {
        return Err(Error::InvalidArgument(format!(
            "gradient matching needs states [batch, {width}] and targets of the same shape, got {:?} and {:?}",
            z.dims(),
            target.dims()
        )));
    }
    if !kernel_dtype(network.mlp, z.dtype()) || target.dtype() != z.dtype() {
        return Ok(None);
    }
    if !z.device().is_cpu() {
        return explicit_gradient_matching(network, z, target).map(Some);
    }
    match z.dtype() {
        DType::F32 => cpu_gradient_matching::<f32>(network, z, target).map(Some),
        DType::F64 => cpu_gradient_matching::<f64>(network, z, target).map(Some),
        _ => Ok(None),
    }
}

/// The gradient-matching loss through the tensor-op backward of [`explicit`], on any device
/// (what the GPU uses; on the CPU the fused kernel is faster).
pub fn explicit_gradient_matching(network: NetworkField<'_>, z: &Tensor, target: &Tensor) -> Result<LossGradients> {
    let layers: Vec<explicit::Layer<'_>> =
        network.mlp.layers().map(|(weight, bias)| explicit::Layer { weight, bias }).collect();
    explicit::gradient_matching(network.form, &layers, network.mlp.config().activation, z, target)
}

fn cpu_gradient_matching<T: cpu::Real + WithDType>(
    network: NetworkField<'_>,
    z: &Tensor,
    target: &Tensor,
) -> Result<LossGradients> {
    let mut all = cpu_ensemble_matching::<T>(&[(network, z, target)])?;
    Ok(all.pop().expect("one member"))
}

/// The gradient-matching losses of several MLP fields, each on its own batch `(network, z,
/// target)`, as one computation: on the CPU one job of the fused kernel for every member
/// ([`cpu::ensemble_gradient_matching`], each member's result bit for bit that of
/// [`network_gradient_matching`]); `None` where some member has no CPU kernel (another device
/// or dtype), and the caller computes the members one by one.
pub fn ensemble_gradient_matching(
    members: &[(NetworkField<'_>, &Tensor, &Tensor)],
) -> Result<Option<Vec<LossGradients>>> {
    let Some((_, z0, _)) = members.first() else { return Ok(Some(vec![])) };
    let dtype = z0.dtype();
    for (network, z, target) in members {
        let width = network.state_width()?;
        if z.rank() != 2 || z.dims()[1] != width || target.dims() != z.dims() {
            return Err(Error::InvalidArgument(format!(
                "gradient matching needs states [batch, {width}] and targets of the same shape, got {:?} and {:?}",
                z.dims(),
                target.dims()
            )));
        }
        let kernel = z.device().is_cpu() && kernel_dtype(network.mlp, dtype);
        if !kernel || z.dtype() != dtype || target.dtype() != dtype {
            return Ok(None);
        }
    }
    match dtype {
        DType::F32 => cpu_ensemble_matching::<f32>(members).map(Some),
        DType::F64 => cpu_ensemble_matching::<f64>(members).map(Some),
        _ => Ok(None),
    }
}

fn cpu_ensemble_matching<T: cpu::Real + WithDType>(
    members: &[(NetworkField<'_>, &Tensor, &Tensor)],
) -> Result<Vec<LossGradients>> {
    use rayon::prelude::*;
    // Host copies in and gradient tensors out, member by member on rayon's threads (each one's
    // own copies: the bits do not depend on it).
    let parallel = members.len() > 1;
    let hosts: Vec<(HostWeights<T>, Vec<T>, Vec<T>)> = if parallel {
        members.par_iter().map(host_copies).collect::<Result<_>>()?
    } else {
        members.iter().map(host_copies).collect::<Result<_>>()?
    };
    let kernel_members: Vec<cpu::EnsembleMember<'_, T>> = members
        .iter()
        .zip(&hosts)
        .map(|((network, _, _), (host, z, t))| cpu::EnsembleMember {
            form: network.form,
            net: host.view(network.mlp.config().activation),
            z,
            target: t,
        })
        .collect();
    let grads = cpu::ensemble_gradient_matching(&kernel_members);
    let out = |((network, z, _), g): (&(NetworkField<'_>, &Tensor, &Tensor), cpu::MlpGradients<T>)| {
        loss_gradients(network.mlp, z, g)
    };
    if parallel {
        members.par_iter().zip(grads).map(out).collect()
    } else {
        members.iter().zip(grads).map(out).collect()
    }
}

/// A member's weights, states and targets copied to the host.
fn host_copies<T: cpu::Real + WithDType>(
    (network, z, t): &(NetworkField<'_>, &Tensor, &Tensor),
) -> Result<(HostWeights<T>, Vec<T>, Vec<T>)> {
    Ok((HostWeights::of(network.mlp, false)?, flat::<T>(z)?, flat::<T>(t)?))
}

/// A kernel's gradients as tensors paired with the parameters they belong to.
fn loss_gradients<T: cpu::Real + WithDType>(mlp: &Mlp, z: &Tensor, g: cpu::MlpGradients<T>) -> Result<LossGradients> {
    let device = z.device();
    let mut params = Vec::with_capacity(g.weights.len() * 2);
    let mut bias_grads = g.biases.into_iter();
    for ((weight, bias), w) in mlp.layers().zip(g.weights) {
        params.push((weight.clone(), Tensor::from_vec(w, weight.shape(), device)?));
        if let Some(b) = bias {
            let gb = bias_grads.next().expect("one bias gradient per bias");
            params.push((b.clone(), Tensor::from_vec(gb, b.shape(), device)?));
        }
    }
    let d_states = Tensor::from_vec(g.input, z.shape(), device)?;
    let d_targets = Tensor::from_vec(g.target, z.shape(), device)?;
    Ok(LossGradients { loss: g.loss, params, d_states, d_targets })
}

/// A trained model for inference: a snapshot of `field` whose evaluation records no autograd
/// graph, through the inference kernel where the model is an MLP field on the CPU in f32/f64
/// and through the tensor ops of a detached copy (`detached`, built by the caller, its weights
/// in `dtype`) otherwise.
pub fn freeze<F: VectorField + Send + Sync + 'static>(
    network: Option<NetworkField<'_>>,
    dof: usize,
    detached: F,
    dtype: candle_core::DType,
) -> Result<Frozen> {
    if let Some(network) = network {
        if let Some(frozen) = Frozen::of_network(network, dof)? {
            return Ok(frozen);
        }
    }
    Ok(Frozen::Tensors(Box::new(detached), dtype))
}

/// A tensor's values as a host vector.
pub(crate) fn flat<T: WithDType>(t: &Tensor) -> Result<Vec<T>> {
    Ok(t.flatten_all()?.to_vec1::<T>()?)
}

/// An MLP's weights as host vectors.
#[derive(Debug)]
pub(crate) struct HostWeights<T> {
    widths: Vec<usize>,
    weights: Vec<Vec<T>>,
    biases: Vec<Vec<T>>,
    /// The hidden layers' weights transposed (see [`cpu::MlpView::transposed`]).
    transposed: Vec<Vec<T>>,
}

impl<T: WithDType> HostWeights<T> {
    /// The weights of `mlp` copied to the host; with `transposed`, also the hidden layers'
    /// transposes (worth their copy only for weights used many times, as in rollouts).
    pub(crate) fn of(mlp: &Mlp, transposed: bool) -> Result<Self> {
        let layers: Vec<_> = mlp.layers().collect();
        let hidden = if transposed { &layers[..layers.len() - 1] } else { &[] };
        Ok(Self {
            widths: mlp.config().widths(),
            weights: layers.iter().map(|(w, _)| flat(w)).collect::<Result<_>>()?,
            biases: layers.iter().filter_map(|(_, b)| *b).map(flat).collect::<Result<_>>()?,
            transposed: hidden.iter().map(|(w, _)| flat(&w.t()?.contiguous()?)).collect::<Result<_>>()?,
        })
    }

    pub(crate) fn view(&self, activation: crate::Activation) -> cpu::MlpView<'_, T> {
        cpu::MlpView {
            widths: &self.widths,
            weights: self.weights.iter().map(Vec::as_slice).collect(),
            biases: self.biases.iter().map(Vec::as_slice).collect(),
            transposed: self.transposed.iter().map(Vec::as_slice).collect(),
            activation,
        }
    }
}
