//! Activation functions together with their derivatives, written as candle tensor ops so that
//! the derivative itself can be differentiated (needed for ∂(loss of ∇H)/∂θ).

use crate::error::{Error, Result};
use candle_core::Tensor;
use std::fmt;
use std::str::FromStr;

/// An elementwise activation σ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activation {
    /// tanh(u), the paper's choice.
    Tanh,
    /// log(1 + eᵘ).
    Softplus,
    /// sin(u).
    Sin,
    /// u·sigmoid(u) (swish).
    Silu,
    /// u·Φ(u) with the exact Gaussian CDF Φ.
    Gelu,
    /// max(u, 0): fine for the baseline and the autoencoder, refused for Hamiltonian networks.
    Relu,
}

impl Activation {
    /// All activations, for tests and help texts.
    pub const ALL: [Activation; 6] =
        [Activation::Tanh, Activation::Softplus, Activation::Sin, Activation::Silu, Activation::Gelu, Activation::Relu];

    /// The name used in configs and checkpoints.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Tanh => "tanh",
            Activation::Softplus => "softplus",
            Activation::Sin => "sin",
            Activation::Silu => "silu",
            Activation::Gelu => "gelu",
            Activation::Relu => "relu",
        }
    }

    /// Whether σ' is itself differentiable with non-zero curvature (required for an HNN).
    pub fn is_twice_differentiable(self) -> bool {
        !matches!(self, Activation::Relu)
    }

    /// Errors unless the activation can be used inside a Hamiltonian network.
    pub fn require_twice_differentiable(self) -> Result<()> {
        if self.is_twice_differentiable() {
            Ok(())
        } else {
            Err(Error::ActivationNotTwiceDifferentiable(self.name().into()))
        }
    }

    /// σ(u).
    pub fn apply(self, u: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Activation::Tanh => crate::fast_tanh::tanh(u)?,
            Activation::Softplus => softplus(u)?,
            Activation::Sin => u.sin()?,
            Activation::Silu => (u * sigmoid(u)?)?,
            Activation::Gelu => (u * gaussian_cdf(u)?)?,
            Activation::Relu => u.relu()?,
        })
    }

    /// (σ(u), σ'(u)), sharing work between the two where possible.
    pub fn apply_with_derivative(self, u: &Tensor) -> Result<(Tensor, Tensor)> {
        Ok(match self {
            Activation::Tanh => {
                let s = crate::fast_tanh::tanh(u)?;
                let ds = (1.0 - s.sqr()?)?;
                (s, ds)
            }
            Activation::Softplus => (softplus(u)?, sigmoid(u)?),
            Activation::Sin => (u.sin()?, u.cos()?),
            Activation::Silu => {
                let s = sigmoid(u)?;
                let a = (u * &s)?;
                // d/du u·s = s + u·s·(1 − s) = s + a·(1 − s)
                let ds = (&s + (&a * (1.0 - &s)?)?)?;
                (a, ds)
            }
            Activation::Gelu => {
                let cdf = gaussian_cdf(u)?;
                let pdf = (u.sqr()? * -0.5)?.exp()?.affine(1.0 / (2.0 * std::f64::consts::PI).sqrt(), 0.0)?;
                let a = (u * &cdf)?;
                let ds = (&cdf + (u * pdf)?)?;
                (a, ds)
            }
            Activation::Relu => {
                let a = u.relu()?;
                let ds = u.gt(0.0)?.to_dtype(u.dtype())?;
                (a, ds)
            }
        })
    }

    /// (σ(u), σ'(u), σ''(u)): what a hand-written backward through ∇H needs (see
    /// [`explicit`](crate::explicit)).
    pub fn apply_with_two_derivatives(self, u: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
        Ok(match self {
            Activation::Tanh => {
                let s = crate::fast_tanh::tanh(u)?;
                let ds = (1.0 - s.sqr()?)?;
                let dds = ((&s * &ds)? * -2.0)?;
                (s, ds, dds)
            }
            Activation::Softplus => {
                let sig = sigmoid(u)?;
                let dds = (&sig * (1.0 - &sig)?)?;
                (softplus(u)?, sig, dds)
            }
            Activation::Sin => {
                let s = u.sin()?;
                let dds = s.neg()?;
                (s, u.cos()?, dds)
            }
            Activation::Silu => {
                // a = u·s; a' = s + a(1 − s); a'' = s(1 − s)(2 + u(1 − 2s)).
                let s = sigmoid(u)?;
                let a = (u * &s)?;
                let one_minus = (1.0 - &s)?;
                let ds = (&s + (&a * &one_minus)?)?;
                let dds = ((&s * &one_minus)? * (u * s.affine(-2.0, 1.0)?)?.affine(1.0, 2.0)?)?;
                (a, ds, dds)
            }
            Activation::Gelu => {
                // a = uΦ; a' = Φ + uφ; a'' = φ(2 − u²).
                let cdf = gaussian_cdf(u)?;
                let pdf = (u.sqr()? * -0.5)?.exp()?.affine(1.0 / (2.0 * std::f64::consts::PI).sqrt(), 0.0)?;
                let a = (u * &cdf)?;
                let ds = (&cdf + (u * &pdf)?)?;
                let dds = (&pdf * u.sqr()?.affine(-1.0, 2.0)?)?;
                (a, ds, dds)
            }
            Activation::Relu => {
                let (a, ds) = self.apply_with_derivative(u)?;
                let dds = a.zeros_like()?;
                (a, ds, dds)
            }
        })
    }
}

/// sigmoid(u) = (1 + tanh(u/2))/2: stable for large |u| and differentiable by candle.
fn sigmoid(u: &Tensor) -> candle_core::Result<Tensor> {
    crate::fast_tanh::tanh(&(u * 0.5)?)?.affine(0.5, 0.5)
}

/// softplus(u) = max(u, 0) + log(1 + e^(−|u|)), stable for large |u|.
fn softplus(u: &Tensor) -> candle_core::Result<Tensor> {
    let tail = (u.abs()?.neg()?.exp()? + 1.0)?.log()?;
    u.relu()? + tail
}

/// Φ(u) = (1 + erf(u/√2))/2.
fn gaussian_cdf(u: &Tensor) -> candle_core::Result<Tensor> {
    (u * std::f64::consts::FRAC_1_SQRT_2)?.erf()?.affine(0.5, 0.5)
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Activation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Activation::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| Error::UnknownActivation(s.into()))
    }
}
