//! # hnn-pixels: the pixel pendulum: renderer, autoencoder with a latent HNN, auxiliary losses. (Being built: issue #4.)
