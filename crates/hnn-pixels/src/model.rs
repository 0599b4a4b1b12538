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
use hnn_core::IntegratorKind;
use hnn_train::{Model, ModelSpec};

/// The autoencoder.
#[derive(Debug, Clone)]
pub struct Autoencoder {
    /// Encoder layers, input first.
    pub encoder: [Linear; 4],
    /// Decoder layers, latent first.
    pub decoder: [Linear; 4],
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
        // Dense rows: CUDA's matmul refuses strided inputs (a narrowed frame pair, say).
        residual_mlp(&self.encoder, &x.contiguous()?)
    }

    /// x̂ = dec(z).
    pub fn decode(&self, z: &Tensor) -> Result<Tensor> {
        residual_mlp(&self.decoder, &z.contiguous()?)
    }
}

/// The weights of the latent losses in the total; the reconstruction's is 1. The default is the
/// reference's: dynamics 0.1, canonical 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossWeights {
    /// Of the dynamics loss.
    pub dynamics: f64,
    /// Of the canonical-coordinates loss.
    pub canonical: f64,
}

impl Default for LossWeights {
    fn default() -> Self {
        Self { dynamics: 0.1, canonical: 1.0 }
    }
}

/// The four losses of one batch (each a mean over dimensions, then over the batch).
#[derive(Debug, Clone)]
pub struct PixelLosses {
    /// ‖x_t − dec(enc(x_t))‖².
    pub reconstruction: Tensor,
    /// ‖z_{t+1} − Φ(z_t)‖², Φ the [`LatentStep`] across one frame (one unit of latent time);
    /// the reference code uses one Euler step, z_t + f(z_t).
    pub dynamics: Tensor,
    /// ‖z_p,t − (z_q,t+1 − z_q,t)‖²: makes z_p the velocity of z_q.
    pub canonical: Tensor,
    /// reconstruction + weights · (dynamics, canonical).
    pub total: Tensor,
}

/// How the dynamics loss carries z_t across one frame (one unit of latent time).
///
/// The reference takes one Euler step, z_t + f(z_t). That biases the learned field: for a
/// rotation by ω per frame it learns the rate tan ω, so an accurate rollout of the trained
/// field runs ahead of the pendulum (and Euler's growth of |z| is absorbed by the encoder).
/// Integrating the training step with the method used for rollouts removes the bias.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatentStep {
    /// The integrator.
    pub integrator: IntegratorKind,
    /// Its steps per frame.
    pub substeps: usize,
}

impl Default for LatentStep {
    /// One Euler step per frame, as the reference.
    fn default() -> Self {
        Self { integrator: IntegratorKind::Euler, substeps: 1 }
    }
}

/// Autoencoder plus latent dynamics.
#[derive(Debug, Clone)]
pub struct PixelModel {
    /// The autoencoder (`ae.*`).
    pub ae: Autoencoder,
    /// The latent dynamics (an HNN or the baseline), 1 degree of freedom.
    pub dynamics: Model,
    /// How the dynamics loss advances the latent state by one frame.
    pub latent_step: LatentStep,
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
        Ok(Self { ae, dynamics, latent_step: LatentStep::default() })
    }

    /// The losses for pairs x_t and x_{t+1} (`[batch, 2·pixels]` each).
    pub fn losses(&self, x: &Tensor, x_next: &Tensor, weights: LossWeights) -> hnn_train::Result<PixelLosses> {
        let z = self.ae.encode(x)?;
        let z_next = self.ae.encode(x_next)?;
        let reconstruction = (x - self.ae.decode(&z)?)?.sqr()?.mean(1)?.mean_all()?;
        let (dynamics, canonical) = self.latent_losses(&z, &z_next)?;
        let total = ((&reconstruction + (&canonical * weights.canonical)?)? + (&dynamics * weights.dynamics)?)?;
        Ok(PixelLosses { reconstruction, dynamics, canonical, total })
    }

    /// The dynamics and canonical losses of latent states z_t and z_{t+1} (`[batch, 2]` each).
    pub fn latent_losses(&self, z: &Tensor, z_next: &Tensor) -> hnn_train::Result<(Tensor, Tensor)> {
        let LatentStep { integrator, substeps } = self.latent_step;
        let predicted = integrator.build().propagate(&self.dynamics, z, 1.0 / substeps as f64, substeps)?;
        let dynamics = (z_next - predicted)?.sqr()?.mean(1)?.mean_all()?;
        let (zq, zp) = (z.narrow(1, 0, 1)?, z.narrow(1, 1, 1)?);
        let zq_next = z_next.narrow(1, 0, 1)?;
        let canonical = (zp - (zq_next - zq)?)?.sqr()?.mean_all()?;
        Ok((dynamics, canonical))
    }
}
