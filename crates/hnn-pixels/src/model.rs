//! The pixel HNN (HNN paper, section 5): an MLP autoencoder whose 2-D latent state z = (z_q, z_p)
//! carries a latent dynamics model — an HNN (`NeuralHamiltonian`) or the baseline MLP field.
//!
//! Encoder (ReLU, width 200): h = relu(L1 x); h = h + relu(L2 h); h = h + relu(L3 h); z = L4 h.
//! Decoder mirrors it: h = relu(L5 z); h = h + relu(L6 h); h = h + relu(L7 h); x̂ = L8 h.
//! Variables, in one map (one checkpoint file): `ae.encoder.{0..3}.{weight,bias}`,
//! `ae.decoder.{0..3}.{weight,bias}` (PyTorch `Linear` layout), and the dynamics model under its
//! own prefix (`hnn.layers.*` or `baseline.layers.*`).

use candle_core::{Result, Tensor};
use candle_nn::{Linear, Module, VarBuilder};
use hnn_core::VectorField;
use hnn_train::{Model, ModelSpec};

/// The autoencoder.
#[derive(Debug, Clone)]
pub struct Autoencoder {
    encoder: [Linear; 4],
    decoder: [Linear; 4],
}

fn residual_mlp(layers: &[Linear; 4], x: &Tensor) -> Result<Tensor> {
    let mut h = layers[0].forward(x)?.relu()?;
    h = (&h + layers[1].forward(&h)?.relu()?)?;
    h = (&h + layers[2].forward(&h)?.relu()?)?;
    layers[3].forward(&h)
}

impl Autoencoder {
    /// `input → hidden (×3, residual) → latent` and back.
    pub fn new(input: usize, hidden: usize, latent: usize, vb: VarBuilder) -> Result<Self> {
        let enc = vb.pp("encoder");
        let dec = vb.pp("decoder");
        let lin = |vb: VarBuilder, i: usize, a: usize, b: usize| candle_nn::linear(a, b, vb.pp(i));
        Ok(Self {
            encoder: [
                lin(enc.clone(), 0, input, hidden)?,
                lin(enc.clone(), 1, hidden, hidden)?,
                lin(enc.clone(), 2, hidden, hidden)?,
                lin(enc, 3, hidden, latent)?,
            ],
            decoder: [
                lin(dec.clone(), 0, latent, hidden)?,
                lin(dec.clone(), 1, hidden, hidden)?,
                lin(dec.clone(), 2, hidden, hidden)?,
                lin(dec, 3, hidden, input)?,
            ],
        })
    }

    /// z = enc(x), `[batch, input] → [batch, latent]`.
    pub fn encode(&self, x: &Tensor) -> Result<Tensor> {
        residual_mlp(&self.encoder, x)
    }

    /// x̂ = dec(z).
    pub fn decode(&self, z: &Tensor) -> Result<Tensor> {
        residual_mlp(&self.decoder, z)
    }
}

/// The four losses of one batch (each a mean over dimensions, then over the batch).
#[derive(Debug, Clone)]
pub struct PixelLosses {
    /// ‖x_t − dec(enc(x_t))‖².
    pub reconstruction: Tensor,
    /// ‖z_{t+1} − (z_t + f(z_t))‖²: one Euler step of unit time, as the reference code.
    pub dynamics: Tensor,
    /// ‖z_p,t − (z_q,t+1 − z_q,t)‖²: makes z_p the velocity of z_q.
    pub canonical: Tensor,
    /// reconstruction + canonical + `dynamics_weight` · dynamics.
    pub total: Tensor,
}

/// Autoencoder plus latent dynamics.
#[derive(Debug, Clone)]
pub struct PixelModel {
    /// The autoencoder (`ae.*`).
    pub ae: Autoencoder,
    /// The latent dynamics (an HNN or the baseline), 1 degree of freedom.
    pub dynamics: Model,
}

impl PixelModel {
    /// Builds both parts from one VarBuilder; `spec.dof` must be 1 (latent 2).
    pub fn new(pixels: usize, hidden: usize, spec: &ModelSpec, vb: VarBuilder) -> hnn_train::Result<Self> {
        if spec.dof != 1 {
            return Err(hnn_train::Error::Config(format!(
                "the pixel model's latent state is 2-D: dof must be 1, got {}",
                spec.dof
            )));
        }
        let ae = Autoencoder::new(2 * pixels, hidden, 2, vb.pp("ae"))?;
        let dynamics = Model::build(spec, vb)?;
        Ok(Self { ae, dynamics })
    }

    /// The losses for pairs x_t and x_{t+1} (`[batch, 2·pixels]` each).
    pub fn losses(&self, x: &Tensor, x_next: &Tensor, dynamics_weight: f64) -> hnn_train::Result<PixelLosses> {
        let z = self.ae.encode(x)?;
        let z_next = self.ae.encode(x_next)?;
        let reconstruction = (x - self.ae.decode(&z)?)?.sqr()?.mean(1)?.mean_all()?;
        let predicted = (&z + self.dynamics.time_derivatives(&z)?)?;
        let dynamics = (&z_next - predicted)?.sqr()?.mean(1)?.mean_all()?;
        let (zq, zp) = (z.narrow(1, 0, 1)?, z.narrow(1, 1, 1)?);
        let zq_next = z_next.narrow(1, 0, 1)?;
        let canonical = (zp - (zq_next - zq)?)?.sqr()?.mean_all()?;
        let total = ((&reconstruction + &canonical)? + (&dynamics * dynamics_weight)?)?;
        Ok(PixelLosses { reconstruction, dynamics, canonical, total })
    }
}
