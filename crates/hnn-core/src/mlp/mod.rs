//! A plain multilayer perceptron that can also return the gradient of a scalar output with
//! respect to its input, computed with ordinary tensor ops (an explicit vector–Jacobian
//! product through the layers). That gradient is itself differentiable, so one `backward` of a
//! loss on ∇ₓH yields the parameter gradients: candle's `backward` cannot take second
//! derivatives on its own.
//!
//! Variables (VarBuilder names, PyTorch layout): `layers.{i}.weight` `[out, in]` and
//! `layers.{i}.bias` `[out]`; the last layer has no bias.

mod jet;

use crate::activation::Activation;
use crate::error::{Error, Result};
use candle_core::Tensor;
use candle_nn::VarBuilder;

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
        let y = crate::exec::matmul(&x.contiguous()?, &self.weight.t()?)?;
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
        Ok(Self { layers, activation: config.activation, config: config.clone() })
    }

    /// The configuration this network was built from.
    pub fn config(&self) -> &MlpConfig {
        &self.config
    }

    /// The layers as (weight `[out, in]`, bias `[out]`), input first; the last has no bias.
    pub fn layers(&self) -> impl Iterator<Item = (&Tensor, Option<&Tensor>)> {
        self.layers.iter().map(|l| (&l.weight, l.bias.as_ref()))
    }

    /// y = MLP(x), `[batch, input] → [batch, output]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
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
            g = Some(crate::exec::matmul(&delta, &layer.weight)?);
            weight_row = layer.weight.clone();
        }
        let grad = match g {
            Some(g) => g,
            None => weight_row.broadcast_as(x.dims())?.contiguous()?,
        };
        Ok((y, grad))
    }
}
