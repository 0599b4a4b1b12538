//! # hnn-pixels
//!
//! The pixel pendulum (HNN paper, section 5): learn a pendulum's dynamics from images alone.
//!
//! - [`render`]: our own anti-aliased rasterizer of a pendulum ([`PendulumRenderer`]).
//! - [`data`]: trajectories of the exact pendulum rendered to frames, frame pairs, files
//!   ([`PixelTask`], [`PixelDataset`]).
//! - [`model`]: the autoencoder with a latent HNN (or baseline) and the paper's three losses
//!   ([`PixelModel`]).
//! - [`kernel`]: the fused CPU training step (autoencoder by hand, latent part by autograd).
//! - [`rollout`]: a trained model rolled out from a pendulum state of one's choosing, decoded.
//! - [`frames`]: frame sequences as a PNG strip and an animated GIF.
//! - [`experiment`]: the pixel experiment end to end (training through hnn-train's loop,
//!   checkpoints, latent rollouts decoded to frames, energy via a fitted linear map, plots).

pub mod data;
pub mod experiment;
pub mod frames;
pub mod kernel;
pub mod model;
pub mod render;
pub mod rollout;

pub use data::{PixelDataset, PixelTask};
pub use model::{Autoencoder, LatentStep, LossWeights, PixelLosses, PixelModel};
pub use render::PendulumRenderer;
