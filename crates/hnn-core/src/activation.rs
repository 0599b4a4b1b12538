//! Activation functions, each written once: σ, σ′ and σ″ as one formula over [`Elementwise`]
//! numbers. The tensor path (candle ops, so that the derivative itself can be differentiated,
//! as ∂(loss of ∇H)/∂θ needs) and the CPU kernels (plain f32/f64, see
//! [`exec`](crate::exec)) evaluate the same formula; a test holds them against each other.
//!
//! Adding an activation is one variant, one name and one formula in this file.

use crate::error::{Error, Result};
use candle_core::Tensor;
use std::convert::Infallible;
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

/// How many derivatives of σ to compute besides σ itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Order {
    /// σ only.
    Value,
    /// σ and σ′.
    First,
    /// σ, σ′ and σ″.
    Second,
}

/// σ(u) with σ′(u) and σ″(u) where asked for (see [`Order`]).
#[derive(Debug, Clone)]
pub struct Derivatives<E> {
    /// σ(u).
    pub value: E,
    /// σ′(u), with [`Order::First`] or [`Order::Second`].
    pub first: Option<E>,
    /// σ″(u), with [`Order::Second`].
    pub second: Option<E>,
}

/// The numbers an activation formula is written over: candle tensors ([`TensorExpr`], every op
/// differentiable) or plain f32/f64 scalars (the CPU kernels). Each op returns its backend's
/// error (none for scalars).
pub trait Elementwise: Sized {
    /// The backend's error (`Infallible` for scalars).
    type Error;
    /// self + other.
    fn add(&self, other: &Self) -> std::result::Result<Self, Self::Error>;
    /// self · other.
    fn mul(&self, other: &Self) -> std::result::Result<Self, Self::Error>;
    /// self · c.
    fn scale(&self, c: f64) -> std::result::Result<Self, Self::Error>;
    /// self · a + b.
    fn affine(&self, a: f64, b: f64) -> std::result::Result<Self, Self::Error>;
    /// tanh (the vectorized approximations of [`fast_tanh`](crate::fast_tanh) on the CPU).
    fn tanh(&self) -> std::result::Result<Self, Self::Error>;
    /// sin.
    fn sin(&self) -> std::result::Result<Self, Self::Error>;
    /// cos.
    fn cos(&self) -> std::result::Result<Self, Self::Error>;
    /// eˣ.
    fn exp(&self) -> std::result::Result<Self, Self::Error>;
    /// ln(1 + x).
    fn ln_1p(&self) -> std::result::Result<Self, Self::Error>;
    /// The error function.
    fn erf(&self) -> std::result::Result<Self, Self::Error>;
    /// |x|.
    fn abs(&self) -> std::result::Result<Self, Self::Error>;
    /// max(x, 0).
    fn relu(&self) -> std::result::Result<Self, Self::Error>;
    /// 1 where x > 0, else 0.
    fn step(&self) -> std::result::Result<Self, Self::Error>;
    /// 0 of the same shape.
    fn zero(&self) -> std::result::Result<Self, Self::Error>;
}

/// A candle tensor as an [`Elementwise`] number.
#[derive(Debug, Clone)]
pub struct TensorExpr(pub Tensor);

impl Elementwise for TensorExpr {
    type Error = candle_core::Error;
    fn add(&self, other: &Self) -> candle_core::Result<Self> {
        Ok(Self((&self.0 + &other.0)?))
    }
    fn mul(&self, other: &Self) -> candle_core::Result<Self> {
        Ok(Self((&self.0 * &other.0)?))
    }
    fn scale(&self, c: f64) -> candle_core::Result<Self> {
        Ok(Self((&self.0 * c)?))
    }
    fn affine(&self, a: f64, b: f64) -> candle_core::Result<Self> {
        Ok(Self(self.0.affine(a, b)?))
    }
    fn tanh(&self) -> candle_core::Result<Self> {
        Ok(Self(crate::fast_tanh::tanh(&self.0)?))
    }
    fn sin(&self) -> candle_core::Result<Self> {
        Ok(Self(self.0.sin()?))
    }
    fn cos(&self) -> candle_core::Result<Self> {
        Ok(Self(self.0.cos()?))
    }
    fn exp(&self) -> candle_core::Result<Self> {
        Ok(Self(self.0.exp()?))
    }
    /// ln(1 + x) as log(x + 1) (candle has no log1p; the formulas here only take it of numbers
    /// in [0, 1], where the two agree to a few ulp of the result).
    fn ln_1p(&self) -> candle_core::Result<Self> {
        Ok(Self((&self.0 + 1.0)?.log()?))
    }
    fn erf(&self) -> candle_core::Result<Self> {
        Ok(Self(self.0.erf()?))
    }
    fn abs(&self) -> candle_core::Result<Self> {
        Ok(Self(self.0.abs()?))
    }
    fn relu(&self) -> candle_core::Result<Self> {
        Ok(Self(self.0.relu()?))
    }
    fn step(&self) -> candle_core::Result<Self> {
        Ok(Self(self.0.gt(0.0)?.to_dtype(self.0.dtype())?))
    }
    fn zero(&self) -> candle_core::Result<Self> {
        Ok(Self(self.0.zeros_like()?))
    }
}

/// [`Elementwise`] for a float type, with its tanh and erf.
macro_rules! scalar_elementwise {
    ($t:ty, $tanh:path, $erf:path) => {
        impl Elementwise for $t {
            type Error = Infallible;
            #[inline(always)]
            fn add(&self, other: &Self) -> std::result::Result<Self, Infallible> {
                Ok(self + other)
            }
            #[inline(always)]
            fn mul(&self, other: &Self) -> std::result::Result<Self, Infallible> {
                Ok(self * other)
            }
            #[inline(always)]
            fn scale(&self, c: f64) -> std::result::Result<Self, Infallible> {
                Ok(self * c as $t)
            }
            #[inline(always)]
            fn affine(&self, a: f64, b: f64) -> std::result::Result<Self, Infallible> {
                Ok(self * a as $t + b as $t)
            }
            #[inline(always)]
            fn tanh(&self) -> std::result::Result<Self, Infallible> {
                Ok($tanh(*self))
            }
            #[inline(always)]
            fn sin(&self) -> std::result::Result<Self, Infallible> {
                Ok(<$t>::sin(*self))
            }
            #[inline(always)]
            fn cos(&self) -> std::result::Result<Self, Infallible> {
                Ok(<$t>::cos(*self))
            }
            #[inline(always)]
            fn exp(&self) -> std::result::Result<Self, Infallible> {
                Ok(<$t>::exp(*self))
            }
            #[inline(always)]
            fn ln_1p(&self) -> std::result::Result<Self, Infallible> {
                Ok(<$t>::ln_1p(*self))
            }
            #[inline(always)]
            fn erf(&self) -> std::result::Result<Self, Infallible> {
                Ok($erf(*self))
            }
            #[inline(always)]
            fn abs(&self) -> std::result::Result<Self, Infallible> {
                Ok(<$t>::abs(*self))
            }
            #[inline(always)]
            fn relu(&self) -> std::result::Result<Self, Infallible> {
                Ok(if *self > 0.0 { *self } else { 0.0 })
            }
            #[inline(always)]
            fn step(&self) -> std::result::Result<Self, Infallible> {
                Ok(if *self > 0.0 { 1.0 } else { 0.0 })
            }
            #[inline(always)]
            fn zero(&self) -> std::result::Result<Self, Infallible> {
                Ok(0.0)
            }
        }
    };
}

scalar_elementwise!(f32, crate::fast_tanh::tanh_f32, candle_core::cpu::erf::erf_f32);
scalar_elementwise!(f64, crate::fast_tanh::tanh_f64, candle_core::cpu::erf::erf_f64);

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

    /// The formula: σ(u) and its derivatives up to `order`, on any [`Elementwise`] numbers.
    /// Inlined, so that a kernel that calls it in a loop for one activation and one order
    /// compiles to that activation's arithmetic alone.
    #[inline(always)]
    pub fn derivatives<E: Elementwise>(self, u: &E, order: Order) -> std::result::Result<Derivatives<E>, E::Error> {
        let first = order >= Order::First;
        let second = order >= Order::Second;
        // sigmoid(u) = (1 + tanh(u/2))/2: stable for large |u|.
        let sigmoid = |u: &E| u.scale(0.5)?.tanh()?.affine(0.5, 0.5);
        let (value, d1, d2) = match self {
            Activation::Tanh => {
                // σ′ = 1 − σ², σ″ = −2σσ′.
                let s = u.tanh()?;
                let d1 = if first { Some(s.mul(&s)?.affine(-1.0, 1.0)?) } else { None };
                let d2 = match (&d1, second) {
                    (Some(d1), true) => Some(s.mul(d1)?.scale(-2.0)?),
                    _ => None,
                };
                (s, d1, d2)
            }
            Activation::Softplus => {
                // softplus = max(u, 0) + ln(1 + e^(−|u|)); σ′ = sigmoid, σ″ = sigmoid·(1 − sigmoid).
                let value = u.relu()?.add(&u.abs()?.scale(-1.0)?.exp()?.ln_1p()?)?;
                let sig = if first { Some(sigmoid(u)?) } else { None };
                let d2 = match (&sig, second) {
                    (Some(s), true) => Some(s.mul(&s.affine(-1.0, 1.0)?)?),
                    _ => None,
                };
                (value, sig, d2)
            }
            Activation::Sin => {
                let s = u.sin()?;
                let d1 = if first { Some(u.cos()?) } else { None };
                let d2 = if second { Some(s.scale(-1.0)?) } else { None };
                (s, d1, d2)
            }
            Activation::Silu => {
                // a = u·s; a′ = s + a(1 − s); a″ = s(1 − s)(2 + u(1 − 2s)).
                let s = sigmoid(u)?;
                let a = u.mul(&s)?;
                let one_minus = if first { Some(s.affine(-1.0, 1.0)?) } else { None };
                let d1 = match &one_minus {
                    Some(om) => Some(s.add(&a.mul(om)?)?),
                    None => None,
                };
                let d2 = match (&one_minus, second) {
                    (Some(om), true) => Some(s.mul(om)?.mul(&u.mul(&s.affine(-2.0, 1.0)?)?.affine(1.0, 2.0)?)?),
                    _ => None,
                };
                (a, d1, d2)
            }
            Activation::Gelu => {
                // a = uΦ; a′ = Φ + uφ; a″ = φ(2 − u²).
                let cdf = u.scale(std::f64::consts::FRAC_1_SQRT_2)?.erf()?.affine(0.5, 0.5)?;
                let a = u.mul(&cdf)?;
                let pdf = if first {
                    Some(u.mul(u)?.scale(-0.5)?.exp()?.scale(1.0 / (2.0 * std::f64::consts::PI).sqrt())?)
                } else {
                    None
                };
                let d1 = match &pdf {
                    Some(pdf) => Some(cdf.add(&u.mul(pdf)?)?),
                    None => None,
                };
                let d2 = match (&pdf, second) {
                    (Some(pdf), true) => Some(pdf.mul(&u.mul(u)?.affine(-1.0, 2.0)?)?),
                    _ => None,
                };
                (a, d1, d2)
            }
            Activation::Relu => {
                let a = u.relu()?;
                let d1 = if first { Some(u.step()?) } else { None };
                let d2 = if second { Some(u.zero()?) } else { None };
                (a, d1, d2)
            }
        };
        Ok(Derivatives { value, first: d1, second: d2 })
    }

    /// The formula on plain numbers: (σ, σ′, σ″) of `u` (σ′ and σ″ zero unless asked for).
    #[inline(always)]
    pub fn at<T: Elementwise<Error = Infallible> + Default>(self, u: T, order: Order) -> (T, T, T) {
        let Ok(d) = self.derivatives(&u, order);
        (d.value, d.first.unwrap_or_default(), d.second.unwrap_or_default())
    }

    /// σ(u).
    pub fn apply(self, u: &Tensor) -> Result<Tensor> {
        Ok(self.derivatives(&TensorExpr(u.clone()), Order::Value)?.value.0)
    }

    /// (σ(u), σ'(u)), sharing work between the two where possible.
    pub fn apply_with_derivative(self, u: &Tensor) -> Result<(Tensor, Tensor)> {
        let d = self.derivatives(&TensorExpr(u.clone()), Order::First)?;
        Ok((d.value.0, d.first.expect("asked for σ′").0))
    }

    /// (σ(u), σ'(u), σ''(u)): what a hand-written backward through ∇H needs (see
    /// [`exec::explicit`](crate::exec::explicit)).
    pub fn apply_with_two_derivatives(self, u: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
        let d = self.derivatives(&TensorExpr(u.clone()), Order::Second)?;
        Ok((d.value.0, d.first.expect("asked for σ′").0, d.second.expect("asked for σ″").0))
    }
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
