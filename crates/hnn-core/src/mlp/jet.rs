//! Directional derivatives of an [`Mlp`] in plain tensor ops: Jacobian–vector products
//! (forward mode) and, for a scalar output, Hessian–vector products (forward over reverse).
//! What the Lagrangian models need (∂²L/∂q̇², ∂²L/∂q̇∂q, ∂M/∂q) and candle's `backward` cannot
//! give; every result is itself differentiable, so a loss on it trains with one `backward`.
//!
//! The directions are the same for every sample (`[m, input]`, typically rows of the identity),
//! so the first tangent u̇₀ = d W₀ᵀ is one `[m, h]` product shared by the batch.

use super::Mlp;
use crate::error::{Error, Result};
use crate::exec::matmul;
use candle_core::Tensor;

/// x·Wᵀ for x `[batch, m, k]` and W `[out, k]`: `[batch, m, out]`, as one matrix product.
fn each_times_transposed(x: &Tensor, weight: &Tensor) -> Result<Tensor> {
    let (b, m, k) = x.dims3()?;
    let out = weight.dims()[0];
    Ok(matmul(&x.contiguous()?.reshape((b * m, k))?, &weight.t()?)?.reshape((b, m, out))?)
}

/// x·W for x `[batch, m, out]` and W `[out, k]`: `[batch, m, k]`.
fn each_times(x: &Tensor, weight: &Tensor) -> Result<Tensor> {
    let (b, m, out) = x.dims3()?;
    let k = weight.dims()[1];
    Ok(matmul(&x.contiguous()?.reshape((b * m, out))?, weight)?.reshape((b, m, k))?)
}

impl Mlp {
    fn check_directions(&self, directions: &Tensor) -> Result<usize> {
        let (m, width) = directions.dims2()?;
        if width != self.config.input {
            return Err(Error::InvalidArgument(format!(
                "directions have width {width}, the network's input has {}",
                self.config.input
            )));
        }
        Ok(m)
    }

    /// (y `[batch, output]`, ẏ `[batch, m, output]`): the output and its derivative along each
    /// row d of `directions` `[m, input]`, `ẏ[b, j] = ∂y/∂x · d_j` at `x[b]`.
    pub fn forward_with_tangents(&self, x: &Tensor, directions: &Tensor) -> Result<(Tensor, Tensor)> {
        let m = self.check_directions(directions)?;
        let batch = x.dims()[0];
        let (last, hidden) = self.layers.split_last().expect("an MLP has at least one layer");
        let mut a = x.clone();
        // The tangent of the current activation: [m, k] before the first layer (shared), then
        // [batch, m, k].
        let mut tangent: Option<Tensor> = None;
        for layer in hidden {
            let (act, slope) = self.activation.apply_with_derivative(&layer.forward(&a)?)?;
            let du = match &tangent {
                None => matmul(directions, &layer.weight.t()?)?.unsqueeze(0)?,
                Some(t) => each_times_transposed(t, &layer.weight)?,
            };
            tangent = Some(du.broadcast_mul(&slope.unsqueeze(1)?)?);
            a = act;
        }
        let y = last.forward(&a)?;
        let dy = match tangent {
            None => {
                matmul(directions, &last.weight.t()?)?.unsqueeze(0)?.broadcast_as((batch, m, self.config.output))?
            }
            Some(t) => each_times_transposed(&t, &last.weight)?,
        };
        Ok((y, dy.contiguous()?))
    }

    /// For a scalar-output network: (y `[batch]`, ∇y `[batch, input]`, (∇²y) d `[batch, m,
    /// input]` for each row d of `directions` `[m, input]`).
    ///
    /// The forward pass keeps σ′ and σ″ and carries the tangents u̇ₖ of the pre-activations;
    /// the reverse pass δₖ₋₁ = (δₖWₖ) ⊙ σ′(uₖ₋₁) is differentiated along them:
    /// δ̇ₖ₋₁ = (δ̇ₖWₖ) ⊙ σ′(uₖ₋₁) + (δₖWₖ) ⊙ σ″(uₖ₋₁) ⊙ u̇ₖ₋₁, and (∇²y) d = δ̇₀W₀.
    pub fn value_grad_and_hessian_products(&self, x: &Tensor, directions: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
        let m = self.check_directions(directions)?;
        let (y, grad) = self.value_and_input_grad(x)?;
        let (last, hidden) = self.layers.split_last().expect("an MLP has at least one layer");
        let batch = x.dims()[0];
        if hidden.is_empty() {
            // A linear network: no curvature.
            let zero = Tensor::zeros((batch, m, self.config.input), x.dtype(), x.device())?;
            return Ok((y, grad, zero));
        }
        // Forward, keeping σ′, σ″ and the tangents u̇ₖ ([1, m, h] for the first layer).
        let mut a = x.clone();
        let mut slopes = Vec::with_capacity(hidden.len());
        let mut tangents: Vec<Tensor> = Vec::with_capacity(hidden.len());
        for layer in hidden {
            let (act, d1, d2) = self.activation.apply_with_two_derivatives(&layer.forward(&a)?)?;
            let du = match tangents.last() {
                None => matmul(directions, &layer.weight.t()?)?.unsqueeze(0)?,
                Some(du) => {
                    let (d1, _): &(Tensor, Tensor) = slopes.last().expect("one slope per tangent");
                    each_times_transposed(&du.broadcast_mul(d1)?, &layer.weight)?
                }
            };
            tangents.push(du);
            slopes.push((d1.unsqueeze(1)?, d2.unsqueeze(1)?));
            a = act;
        }
        // Reverse along the tangents, from the top: δ_top = w ⊙ σ′, δ̇_top = w ⊙ σ″ ⊙ u̇.
        let top = hidden.len() - 1;
        let w = last.weight.unsqueeze(0)?; // [1, 1, h]
        let mut back = w.clone(); // δₖWₖ₊₁ as [batch or 1, 1, h]
        let mut delta_dot = tangents[top].broadcast_mul(&slopes[top].1)?.broadcast_mul(&w)?;
        for k in (0..hidden.len()).rev() {
            if k < top {
                // δ̇ₖ = (δ̇ₖ₊₁Wₖ₊₁) ⊙ σ′(uₖ) + (δₖ₊₁Wₖ₊₁) ⊙ σ″(uₖ) ⊙ u̇ₖ.
                let carried = each_times(&delta_dot, &hidden[k + 1].weight)?.broadcast_mul(&slopes[k].0)?;
                let curvature = tangents[k].broadcast_mul(&slopes[k].1)?.broadcast_mul(&back)?;
                delta_dot = (carried + curvature)?;
            }
            if k > 0 {
                // δₖ = back ⊙ σ′(uₖ); the next level down sees δₖWₖ.
                let delta = back.broadcast_mul(&slopes[k].0)?;
                back = each_times(&delta, &hidden[k].weight)?;
            }
        }
        let hessian_products = each_times(&delta_dot, &hidden[0].weight)?;
        Ok((y, grad, hessian_products))
    }
}
