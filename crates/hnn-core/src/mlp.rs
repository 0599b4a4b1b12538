//! A plain multilayer perceptron that can also return the gradient of a scalar output with
//! respect to its input, computed with ordinary tensor ops (an explicit vector–Jacobian
//! product through the layers). That gradient is itself differentiable, so one `backward` of a
//! loss on ∇ₓH yields the parameter gradients: candle's `backward` cannot take second
//! derivatives on its own.
//!
//! Variables (VarBuilder names, PyTorch layout): `layers.{i}.weight` `[out, in]` and
//! `layers.{i}.bias` `[out]`; the last layer has no bias.

use crate::activation::Activation;
use crate::error::{Error, Result};
use crate::explicit;
use crate::fused::{self, FieldForm, LossGradients, MlpView, Real};
use candle_core::{DType, Tensor, WithDType};
use candle_nn::VarBuilder;
use std::sync::{Arc, OnceLock};

/// The shape of an MLP: input width, hidden widths, output width, activation.
#[derive(Debug, Clone, PartialEq)]
pub struct MlpConfig {
    /// Input width.
    pub input: usize,
    /// Widths of the hidden layers (the paper: `[200, 200]`).
    pub hidden: Vec<usize>,
    /// Output width.
    pub output: usize,
    /// Hidden-layer activation.
    pub activation: Activation,
}

impl MlpConfig {
    /// Checks that all widths are positive.
    pub fn validate(&self) -> Result<()> {
        if self.input == 0 || self.output == 0 || self.hidden.contains(&0) {
            return Err(Error::InvalidArgument(format!(
                "MLP widths must be positive (input {}, hidden {:?}, output {})",
                self.input, self.hidden, self.output
            )));
        }
        Ok(())
    }

    /// Widths of all layers, input first: `[input, hidden..., output]`.
    pub fn widths(&self) -> Vec<usize> {
        let mut w = vec![self.input];
        w.extend(&self.hidden);
        w.push(self.output);
        w
    }
}

/// One affine layer y = x Wᵀ + b.
#[derive(Debug, Clone)]
struct Affine {
    weight: Tensor,
    bias: Option<Tensor>,
}

impl Affine {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // CUDA's matmul needs a dense row layout (a narrowed q or p is strided); a no-op if dense.
        let y = x.contiguous()?.matmul(&self.weight.t()?)?;
        Ok(match &self.bias {
            Some(b) => y.broadcast_add(b)?,
            None => y,
        })
    }
}

/// A multilayer perceptron `input → hidden… → output`, activation after each hidden layer,
/// linear output without bias (as the reference code).
#[derive(Debug, Clone)]
pub struct Mlp {
    layers: Vec<Affine>,
    activation: Activation,
    config: MlpConfig,
    /// Host copies of the weights for the fused inference kernel, made on first use; only for
    /// networks whose weights are all plain tensors, never variables. Plain tensors are taken to
    /// be immutable: one made by `Var::as_tensor().detach()` shares the variable's storage, and a
    /// later `Var::set` is not seen here once inference has run (take a `copy()` to freeze).
    host_cache: HostCache,
}

/// [`Mlp::host_cache`]: one slot per float type (clones of a network share it, as they share its
/// tensors).
#[derive(Debug, Clone, Default)]
struct HostCache {
    f32: Arc<OnceLock<HostWeights<f32>>>,
    f64: Arc<OnceLock<HostWeights<f64>>>,
}

/// A float type whose host weights [`HostCache`] keeps.
trait Cached: Real + WithDType {
    fn slot(cache: &HostCache) -> &OnceLock<HostWeights<Self>>;
}

impl Cached for f32 {
    fn slot(cache: &HostCache) -> &OnceLock<HostWeights<f32>> {
        &cache.f32
    }
}

impl Cached for f64 {
    fn slot(cache: &HostCache) -> &OnceLock<HostWeights<f64>> {
        &cache.f64
    }
}

impl Mlp {
    /// Builds (or loads, depending on the VarBuilder) the network's variables.
    pub fn new(config: &MlpConfig, vb: VarBuilder) -> Result<Self> {
        config.validate()?;
        let widths = config.widths();
        let n_layers = widths.len() - 1;
        let vb = vb.pp("layers");
        let mut layers = Vec::with_capacity(n_layers);
        for i in 0..n_layers {
            let (fan_in, fan_out) = (widths[i], widths[i + 1]);
            let vb = vb.pp(i);
            let bound = 1.0 / (fan_in as f64).sqrt();
            let weight =
                vb.get_with_hints((fan_out, fan_in), "weight", candle_nn::Init::Uniform { lo: -bound, up: bound })?;
            let bias = if i + 1 < n_layers {
                Some(vb.get_with_hints(fan_out, "bias", candle_nn::Init::Uniform { lo: -bound, up: bound })?)
            } else {
                None
            };
            layers.push(Affine { weight, bias });
        }
        Ok(Self { layers, activation: config.activation, config: config.clone(), host_cache: HostCache::default() })
    }

    /// The configuration this network was built from.
    pub fn config(&self) -> &MlpConfig {
        &self.config
    }

    /// Whether inference can take the fused CPU kernel: CPU, f32/f64 everywhere, and no tensor
    /// that records gradients (so nothing downstream can need this result's derivative).
    fn inference_kernel(&self, x: &Tensor) -> bool {
        x.device().is_cpu()
            && matches!(x.dtype(), DType::F32 | DType::F64)
            && !x.track_op()
            && self.layers.iter().all(|l| {
                l.weight.dtype() == x.dtype()
                    && !l.weight.track_op()
                    && l.bias.as_ref().is_none_or(|b| b.dtype() == x.dtype() && !b.track_op())
            })
    }

    /// The weights copied to host vectors, for the fused kernels; with `transposed`, also the
    /// hidden layers' transposes (worth their copy only for weights used many times).
    fn host_weights<T: WithDType>(&self, transposed: bool) -> Result<HostWeights<T>> {
        let hidden = if transposed { &self.layers[..self.layers.len() - 1] } else { &[] };
        Ok(HostWeights {
            widths: self.config.widths(),
            weights: self.layers.iter().map(|l| flat(&l.weight)).collect::<Result<_>>()?,
            biases: self.layers.iter().filter_map(|l| l.bias.as_ref()).map(flat).collect::<Result<_>>()?,
            transposed: hidden.iter().map(|l| flat(&l.weight.t()?.contiguous()?)).collect::<Result<_>>()?,
        })
    }

    /// The host weights of a frozen network, copied on first use and kept.
    fn cached_host<T: Cached>(&self) -> Result<&HostWeights<T>> {
        let slot = T::slot(&self.host_cache);
        Ok(match slot.get() {
            Some(host) => host,
            None => {
                let host = self.host_weights::<T>(true)?;
                slot.get_or_init(|| host)
            }
        })
    }

    /// The fused inference kernel on `x`: (output or H, ∇ₓH for the Hamiltonian form). Only
    /// called when [`inference_kernel`](Self::inference_kernel) holds, so the weights are
    /// immutable and their host copies are made once and kept (a rollout calls this for every
    /// stage of every step).
    fn infer<T: Cached>(&self, form: FieldForm, x: &Tensor) -> Result<(Tensor, Option<Tensor>)> {
        let host = self.cached_host::<T>()?;
        let view = host.view(self.activation);
        let rows = x.dims()[0];
        let (y, g) = fused::evaluate(form, &view, &flat::<T>(x)?);
        let y = Tensor::from_vec(y, (rows, self.config.output), x.device())?;
        let g = match form {
            FieldForm::Hamiltonian => Some(Tensor::from_vec(g, (rows, self.config.input), x.device())?),
            FieldForm::Direct => None,
        };
        Ok((y, g))
    }

    /// The fused inference kernel on host rows `x` (`[rows, input]`, row-major f64), for callers
    /// that keep their states on the host (the adaptive solver's CPU path): (output or H, ∇ₓH for
    /// the Hamiltonian form), in f64, computed in the weights' own type. `None` where the kernel
    /// does not apply: weights off the CPU, not f32/f64, or recording gradients.
    pub fn infer_host(&self, form: FieldForm, x: &[f64]) -> Result<Option<(Vec<f64>, Vec<f64>)>> {
        let dtype = self.layers[0].weight.dtype();
        let frozen = self.layers.iter().all(|l| {
            l.weight.device().is_cpu()
                && l.weight.dtype() == dtype
                && !l.weight.track_op()
                && l.bias.as_ref().is_none_or(|b| b.dtype() == dtype && !b.track_op())
        });
        if !frozen || !x.len().is_multiple_of(self.config.input) {
            return Ok(None);
        }
        Ok(match dtype {
            DType::F64 => {
                let host = self.cached_host::<f64>()?;
                Some(fused::evaluate(form, &host.view(self.activation), x))
            }
            DType::F32 => {
                let host = self.cached_host::<f32>()?;
                let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
                let (y, g) = fused::evaluate(form, &host.view(self.activation), &x32);
                let wide = |v: Vec<f32>| v.into_iter().map(f64::from).collect();
                Some((wide(y), wide(g)))
            }
            _ => None,
        })
    }

    /// y = MLP(x), `[batch, input] → [batch, output]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if x.rank() == 2 && self.inference_kernel(x) {
            return Ok(match x.dtype() {
                DType::F32 => self.infer::<f32>(FieldForm::Direct, x)?.0,
                _ => self.infer::<f64>(FieldForm::Direct, x)?.0,
            });
        }
        let (last, hidden) = self.layers.split_last().expect("an MLP has at least one layer");
        let mut a = x.clone();
        for layer in hidden {
            a = self.activation.apply(&layer.forward(&a)?)?;
        }
        last.forward(&a)
    }

    /// For a scalar-output network: (y `[batch]`, ∂y/∂x `[batch, input]`).
    ///
    /// Forward pass keeping σ'(uₗ); then from the output back, g ← (g ⊙ σ'(uₗ)) Wₗ.
    pub fn value_and_input_grad(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        if self.config.output != 1 {
            return Err(Error::InvalidArgument(format!(
                "input gradient needs a scalar-output network, this one has {} outputs",
                self.config.output
            )));
        }
        if x.rank() == 2 && self.inference_kernel(x) {
            let (y, g) = match x.dtype() {
                DType::F32 => self.infer::<f32>(FieldForm::Hamiltonian, x)?,
                _ => self.infer::<f64>(FieldForm::Hamiltonian, x)?,
            };
            return Ok((y.squeeze(1)?, g.expect("the Hamiltonian form returns ∇H")));
        }
        let (last, hidden) = self.layers.split_last().expect("an MLP has at least one layer");
        let mut a = x.clone();
        let mut slopes = Vec::with_capacity(hidden.len());
        for layer in hidden {
            let (act, slope) = self.activation.apply_with_derivative(&layer.forward(&a)?)?;
            a = act;
            slopes.push(slope);
        }
        let y = last.forward(&a)?.squeeze(1)?;
        // ∂y/∂a_L is the output weight row, the same for every sample.
        let mut g: Option<Tensor> = None;
        let mut weight_row = last.weight.clone(); // [1, h_L]
        for (layer, slope) in hidden.iter().zip(&slopes).rev() {
            let delta = match g {
                None => slope.broadcast_mul(&weight_row)?,
                Some(g) => (g * slope)?,
            };
            g = Some(delta.matmul(&layer.weight)?);
            weight_row = layer.weight.clone();
        }
        let grad = match g {
            Some(g) => g,
            None => weight_row.broadcast_as(x.dims())?.contiguous()?,
        };
        Ok((y, grad))
    }

    /// The gradient-matching loss of the field this network defines (`form`) on states `z`
    /// against `target`, with every parameter's gradient, without an autograd graph: on the CPU
    /// through the fused kernel of [`fused`], elsewhere (GPU) through the hand-written backward
    /// in tensor ops of [`explicit`](crate::explicit). `None` for dtypes other than f32/f64 or
    /// when the weights' dtype differs from the data's (then use autograd).
    pub fn fused_gradient_matching(
        &self,
        form: FieldForm,
        z: &Tensor,
        target: &Tensor,
    ) -> Result<Option<LossGradients>> {
        let (input, output) = (self.config.input, self.config.output);
        let valid = match form {
            FieldForm::Hamiltonian => output == 1 && input.is_multiple_of(2),
            FieldForm::Direct => output == input,
        };
        if !valid {
            return Err(Error::InvalidArgument(format!(
                "a {input} → {output} network does not define a {form:?} vector field"
            )));
        }
        let (_, width) = z.dims2()?;
        if width != input || target.dims() != z.dims() {
            return Err(Error::InvalidArgument(format!(
                "gradient matching needs states [batch, {input}] and targets of the same shape, got {:?} and {:?}",
                z.dims(),
                target.dims()
            )));
        }
        let same_dtype = self.layers.iter().all(|l| l.weight.dtype() == z.dtype()) && target.dtype() == z.dtype();
        if !same_dtype || !matches!(z.dtype(), DType::F32 | DType::F64) {
            return Ok(None);
        }
        if !z.device().is_cpu() {
            return self.explicit_gradient_matching(form, z, target).map(Some);
        }
        match z.dtype() {
            DType::F32 => self.fused::<f32>(form, z, target).map(Some),
            DType::F64 => self.fused::<f64>(form, z, target).map(Some),
            _ => Ok(None),
        }
    }

    /// [`fused_gradient_matching`](Self::fused_gradient_matching) through the tensor-op backward
    /// of [`explicit`] on any device (what the GPU uses; on the CPU the fused kernel is faster).
    pub fn explicit_gradient_matching(&self, form: FieldForm, z: &Tensor, target: &Tensor) -> Result<LossGradients> {
        let layers: Vec<explicit::Layer<'_>> =
            self.layers.iter().map(|l| explicit::Layer { weight: &l.weight, bias: l.bias.as_ref() }).collect();
        explicit::gradient_matching(form, &layers, self.activation, z, target)
    }

    fn fused<T: Real + WithDType>(&self, form: FieldForm, z: &Tensor, target: &Tensor) -> Result<LossGradients> {
        let host = self.host_weights::<T>(false)?;
        let view = host.view(self.activation);
        let g = fused::gradient_matching(form, &view, &flat::<T>(z)?, &flat::<T>(target)?);
        let device = z.device();
        let mut grads = Vec::with_capacity(self.layers.len() * 2);
        let mut bias_grads = g.biases.into_iter();
        for (layer, w) in self.layers.iter().zip(g.weights) {
            grads.push((layer.weight.clone(), Tensor::from_vec(w, layer.weight.shape(), device)?));
            if let Some(b) = &layer.bias {
                let gb = bias_grads.next().expect("one bias gradient per bias");
                grads.push((b.clone(), Tensor::from_vec(gb, b.shape(), device)?));
            }
        }
        let input = Tensor::from_vec(g.input, z.shape(), device)?;
        let target = Tensor::from_vec(g.target, z.shape(), device)?;
        Ok(LossGradients { loss: g.loss, grads, input, target })
    }
}

/// A tensor's values as a host vector.
fn flat<T: WithDType>(t: &Tensor) -> Result<Vec<T>> {
    Ok(t.flatten_all()?.to_vec1::<T>()?)
}

/// An MLP's weights as host vectors.
#[derive(Debug)]
struct HostWeights<T> {
    widths: Vec<usize>,
    weights: Vec<Vec<T>>,
    biases: Vec<Vec<T>>,
    /// The hidden layers' weights transposed (see [`MlpView::transposed`]).
    transposed: Vec<Vec<T>>,
}

impl<T> HostWeights<T> {
    fn view(&self, activation: Activation) -> MlpView<'_, T> {
        MlpView {
            widths: &self.widths,
            weights: self.weights.iter().map(Vec::as_slice).collect(),
            biases: self.biases.iter().map(Vec::as_slice).collect(),
            transposed: self.transposed.iter().map(Vec::as_slice).collect(),
            activation,
        }
    }
}
