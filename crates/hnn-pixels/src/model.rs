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
    /// ‖z_{t+K} − Φ(z_t)‖², Φ the [`LatentStep`] across its horizon of K frames (one frame is one
    /// unit of latent time); the reference code uses one Euler step across one frame, z_t + f(z_t).
    pub dynamics: Tensor,
    /// ‖z_p,t − (z_q,t+1 − z_q,t)‖²: makes z_p the velocity of z_q.
    pub canonical: Tensor,
    /// reconstruction + weights · (dynamics, canonical).
    pub total: Tensor,
}

/// How the dynamics loss carries z_t forward: across `horizon` frames (one frame is one unit of
/// latent time) in `substeps` steps of `integrator`.
///
/// The reference takes one Euler step across one frame, z_t + f(z_t). That biases the learned
/// field: for a rotation by ω per frame it learns the rate tan ω, so an accurate rollout of the
/// trained field runs ahead of the pendulum (and Euler's growth of |z| is absorbed by the
/// encoder). Integrating the training step with the method used for rollouts removes the bias.
/// A horizon of several frames makes the loss K² times more sensitive to an error in the rate
/// of the latent flow, which one frame hardly sees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatentStep {
    /// The integrator.
    pub integrator: IntegratorKind,
    /// Its steps across the horizon.
    pub substeps: usize,
    /// Frames from z_t to the dynamics loss's target z_{t+horizon} (the reference: 1).
    pub horizon: usize,
}

impl Default for LatentStep {
    /// One Euler step across one frame, as the reference.
    fn default() -> Self {
        Self { integrator: IntegratorKind::Euler, substeps: 1, horizon: 1 }
    }
}

impl LatentStep {
    /// The frame pairs a training window holds, as offsets from x_t: x_t (reconstruction),
    /// x_{t+1} (canonical loss) and, for a horizon beyond one frame, x_{t+horizon}.
    pub fn offsets(&self) -> Vec<usize> {
        if self.horizon <= 1 {
            vec![0, 1]
        } else {
            vec![0, 1, self.horizon]
        }
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

    /// The losses of a batch of windows: the frame pairs at [`LatentStep::offsets`] from x_t
    /// (`[batch, 2·pixels]` each; x_t and x_{t+1} for the reference's one-frame horizon).
    pub fn losses(&self, window: &[Tensor], weights: LossWeights) -> hnn_train::Result<PixelLosses> {
        self.check_window(window.len())?;
        let zs = window.iter().map(|x| self.ae.encode(x)).collect::<Result<Vec<_>>>()?;
        let reconstruction = (&window[0] - self.ae.decode(&zs[0])?)?.sqr()?.mean(1)?.mean_all()?;
        let (dynamics, canonical) = self.latent_losses(&zs)?;
        let total = ((&reconstruction + (&canonical * weights.canonical)?)? + (&dynamics * weights.dynamics)?)?;
        Ok(PixelLosses { reconstruction, dynamics, canonical, total })
    }

    /// The dynamics and canonical losses of the latent states of a window (`[batch, 2]` each, at
    /// [`LatentStep::offsets`]): z_t, z_{t+1} and, beyond one frame, z_{t+horizon}.
    pub fn latent_losses(&self, zs: &[Tensor]) -> hnn_train::Result<(Tensor, Tensor)> {
        self.check_window(zs.len())?;
        let LatentStep { integrator, substeps, horizon } = self.latent_step;
        let (z, z_next, target) = (&zs[0], &zs[1], &zs[zs.len() - 1]);
        let dt = horizon as f64 / substeps as f64;
        let predicted = integrator.build().propagate(&self.dynamics, z, dt, substeps)?;
        let dynamics = (target - predicted)?.sqr()?.mean(1)?.mean_all()?;
        let (zq, zp) = (z.narrow(1, 0, 1)?, z.narrow(1, 1, 1)?);
        let zq_next = z_next.narrow(1, 0, 1)?;
        let canonical = (zp - (zq_next - zq)?)?.sqr()?.mean_all()?;
        Ok((dynamics, canonical))
    }

    fn check_window(&self, len: usize) -> hnn_train::Result<()> {
        let LatentStep { substeps, horizon, .. } = self.latent_step;
        if substeps == 0 || horizon == 0 {
            return Err(hnn_train::Error::Config(format!(
                "the latent step needs at least one step over at least one frame (substeps {substeps}, horizon {horizon})"
            )));
        }
        let offsets = self.latent_step.offsets();
        if len != offsets.len() {
            return Err(hnn_train::Error::Config(format!(
                "a pixel window holds the frame pairs at offsets {offsets:?}: {} tensors, got {len}",
                offsets.len()
            )));
        }
        Ok(())
    }
}
