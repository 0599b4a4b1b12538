//! # hnn-pixels
//!
//! The pixel pendulum (HNN paper, section 5): learn a pendulum's dynamics from images alone.
//!
//! - [`render`]: our own anti-aliased rasterizer of a pendulum ([`PendulumRenderer`]).
//! - [`data`]: trajectories of the exact pendulum rendered to frames, frame pairs, files
//!   ([`PixelTask`], [`PixelDataset`]).
//!
//! Still to come (issue #4): the autoencoder with a latent HNN and its auxiliary losses,
//! training through hnn-train, and the rollout evaluation.

pub mod data;
pub mod render;

pub use data::{PixelDataset, PixelTask};
pub use render::PendulumRenderer;
