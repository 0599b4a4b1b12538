//! The gradient-matching loss and all its parameter gradients with a hand-written backward in
//! plain tensor ops: the math of the CPU kernels ([`cpu`](crate::exec::cpu)), on any device (the GPU path).
//!
//! candle's autograd through the explicit ∇H works, but it records every elementwise op, keeps
//! their inputs, and reduces broadcasts with column sums that are slow on CUDA. Written out by
//! hand the step needs the forward (keeping σ, σ′, σ″), the VJP for ∇H, the reverse of the VJP,
//! and the reverse of the forward: ten matrix products for a two-hidden-layer HNN and about
//! twenty elementwise ops, with bias gradients as products with a row of ones (cuBLAS). On CUDA,
//! tanh layers do their elementwise work in fused kernels instead (`exec::cuda`, with the `cuda` feature).

use crate::activation::Activation;
use crate::error::{Error, Result};
use crate::exec::{matmul as mm, FieldForm, LossGradients};
#[cfg(feature = "cuda")]
use candle_core::DType;
use candle_core::Tensor;

/// One affine layer of an MLP: weight `[out, in]`, optional bias `[out]`.
pub struct Layer<'a> {
    /// The weight.
    pub weight: &'a Tensor,
    /// The bias.
    pub bias: Option<&'a Tensor>,
}

/// Loss mean((field(z) − target)²) of the MLP `layers` read as `form`, with ∂loss/∂ each
/// parameter, ∂loss/∂z and ∂loss/∂target. The last layer has no bias.
///
/// One function on purpose: the forward pass, the reverse pass through ∇H and the parameter
/// gradients share every intermediate (pre-activations, σ′, σ″) layer by layer, as the fused
/// CPU kernel does, so that the two read side by side.
pub fn gradient_matching(
    form: FieldForm,
    layers: &[Layer<'_>],
    activation: Activation,
    z: &Tensor,
    target: &Tensor,
) -> Result<LossGradients> {
    let z = z.contiguous()?;
    let (rows, dim) = z.dims2()?;
    let (last, hidden) = layers
        .split_last()
        .ok_or_else(|| Error::InvalidArgument("gradient matching needs at least one layer".into()))?;
    let ones = Tensor::ones((1, rows), z.dtype(), z.device())?;
    // Σ over rows as a [1, rows] × [rows, w] product.
    let column_sums = |x: &Tensor| -> Result<Tensor> { Ok(mm(&ones, x)?.squeeze(0)?) };

    // Forward: act[k] is the input of hidden layer k (act[0] = z); slopes[k] its σ′ and σ″.
    let mut act = vec![z.clone()];
    let mut slopes = vec![];
    for layer in hidden {
        let u = mm(act.last().expect("input"), &layer.weight.t()?)?;
        let (a, s) = Slopes::activate(activation, &u, layer.bias)?;
        act.push(a);
        slopes.push(s);
    }
    let top = act.last().expect("input");
    let scale = 2.0 / (rows * dim) as f64;
    let mut weight_grads: Vec<Tensor> = Vec::with_capacity(layers.len());
    let mut bias_grads: Vec<Tensor> = Vec::with_capacity(hidden.len());
    let (loss, field_bar) = match form {
        FieldForm::Output => {
            let field = mm(top, &last.weight.t()?)?;
            let residual = (field - target)?;
            let loss = residual.sqr()?.mean_all()?;
            (loss, (residual * scale)?)
        }
        FieldForm::SymplecticGradient => {
            // VJP: δ_h = w_out ⊙ σ′(u_h); δ_{k−1} = (δ_k W_k) ⊙ σ′(u_{k−1}); ∇H = δ₀ W₀.
            // g[k + 1] multiplies σ′(u_k) (g[h] = w_out, a [1, h] row); g[0] = ∇H.
            let mut g = vec![last.weight.clone(); hidden.len() + 1];
            let mut delta = vec![last.weight.clone(); hidden.len()];
            for k in (0..hidden.len()).rev() {
                delta[k] = slopes[k].scale(&g[k + 1])?;
                g[k] = mm(&delta[k], hidden[k].weight)?;
            }
            let grad_h =
                if hidden.is_empty() { last.weight.broadcast_as((rows, dim))?.contiguous()? } else { g[0].clone() };
            let half = dim / 2;
            let field = Tensor::cat(&[grad_h.narrow(1, half, half)?, grad_h.narrow(1, 0, half)?.neg()?], 1)?;
            let residual = (field - target)?;
            let loss = residual.sqr()?.mean_all()?;
            let r = (residual * scale)?;
            // ḡ₀ = Jᵀ r = (−r_p, r_q).
            let mut gbar = Tensor::cat(&[r.narrow(1, half, half)?.neg()?, r.narrow(1, 0, half)?], 1)?;
            let target_bar = r.neg()?;
            if hidden.is_empty() {
                // ∇H is the output row itself: the loss does not depend on z.
                let out_grad = column_sums(&gbar)?.unsqueeze(0)?;
                return finish(loss, vec![(last.weight, out_grad)], z.zeros_like()?, target_bar);
            }
            // Reverse of the VJP, from the input up; ū_k collects the σ″ terms.
            let mut ubar: Vec<Tensor> = Vec::with_capacity(hidden.len());
            let mut vjp_weight_grads = Vec::with_capacity(hidden.len());
            for (k, layer) in hidden.iter().enumerate() {
                // g_k = δ_k W_k: ∂/∂W_k += δ_kᵀ ḡ_k; δ̄_k = ḡ_k W_kᵀ.
                vjp_weight_grads.push(mm(&delta[k].t()?, &gbar)?);
                let dbar = mm(&gbar, &layer.weight.t()?)?;
                // δ_k = g_{k+1} ⊙ σ′(u_k): ū_k = δ̄_k ⊙ g_{k+1} ⊙ σ″(u_k), ḡ_{k+1} = δ̄_k ⊙ σ′(u_k).
                let (u, next) = slopes[k].vjp_reverse(&dbar, &g[k + 1])?;
                ubar.push(u);
                gbar = next;
            }
            // At the top ḡ is ∂loss/∂g_h, and g_h is w_out broadcast over the rows.
            let out_grad = column_sums(&gbar)?.unsqueeze(0)?;
            // Reverse of the forward: ū_{k−1} += (ū_k W_k) ⊙ σ′(u_{k−1}).
            let mut input = None;
            for k in (0..hidden.len()).rev() {
                let u = &ubar[k];
                weight_grads.push((&vjp_weight_grads[k] + mm(&u.t()?, &act[k])?)?);
                bias_grads.push(column_sums(u)?);
                let back = mm(u, hidden[k].weight)?;
                if k > 0 {
                    ubar[k - 1] = slopes[k - 1].add_product(&ubar[k - 1], &back)?;
                } else {
                    input = Some(back);
                }
            }
            weight_grads.reverse();
            bias_grads.reverse();
            let mut grads = Vec::with_capacity(layers.len() * 2);
            for ((layer, w), b) in hidden.iter().zip(weight_grads).zip(bias_grads) {
                grads.push((layer.weight, w));
                if let Some(bias) = layer.bias {
                    grads.push((bias, b));
                }
            }
            grads.push((last.weight, out_grad));
            return finish(loss, grads, input.expect("at least one hidden layer"), target_bar);
        }
    };
    // Direct field: plain backprop from ȳ = scale·(y − target).
    let target_bar = field_bar.neg()?;
    let mut grads = vec![(last.weight, mm(&field_bar.t()?, top)?)];
    let mut abar = mm(&field_bar, last.weight)?;
    for k in (0..hidden.len()).rev() {
        let u = slopes[k].scale(&abar)?;
        let layer = &hidden[k];
        if let Some(bias) = layer.bias {
            grads.push((bias, column_sums(&u)?));
        }
        grads.push((layer.weight, mm(&u.t()?, &act[k])?));
        abar = mm(&u, layer.weight)?;
    }
    grads.reverse();
    finish(loss, grads, abar, target_bar)
}

fn finish(loss: Tensor, grads: Vec<(&Tensor, Tensor)>, d_states: Tensor, d_targets: Tensor) -> Result<LossGradients> {
    let loss = loss.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?;
    let params = grads.into_iter().map(|(p, g)| (p.clone(), g)).collect();
    Ok(LossGradients { loss, params, d_states, d_targets })
}

/// σ′ and σ″ of one hidden layer at its pre-activations.
enum Slopes {
    /// As tensors, from [`Activation::apply_with_two_derivatives`].
    Tensors { d1: Tensor, d2: Tensor },
    /// Packed `[s; σ′]` from the fused CUDA tanh kernel (σ″ = −2sσ′ recomputed).
    #[cfg(feature = "cuda")]
    Packed(Tensor),
}

impl Slopes {
    /// a = σ(u + b) and the slopes there.
    fn activate(activation: Activation, u: &Tensor, bias: Option<&Tensor>) -> Result<(Tensor, Slopes)> {
        #[cfg(feature = "cuda")]
        if u.device().is_cuda() && activation == Activation::Tanh && matches!(u.dtype(), DType::F32 | DType::F64) {
            let sd = crate::exec::cuda::tanh_forward(u, bias)?;
            return Ok((sd.get(0)?, Slopes::Packed(sd)));
        }
        let u = match bias {
            Some(b) => u.broadcast_add(b)?,
            None => u.clone(),
        };
        let (a, d1, d2) = activation.apply_with_two_derivatives(&u)?;
        Ok((a, Slopes::Tensors { d1, d2 }))
    }

    /// σ′ ⊙ g, for g `[1, w]` (broadcast over rows) or `[rows, w]`.
    fn scale(&self, g: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Slopes::Tensors { d1, .. } => d1.broadcast_mul(g)?,
            #[cfg(feature = "cuda")]
            Slopes::Packed(sd) => crate::exec::cuda::scale(sd, g)?,
        })
    }

    /// For δ = g ⊙ σ′: (δ̄ ⊙ g ⊙ σ″, δ̄ ⊙ σ′).
    fn vjp_reverse(&self, dbar: &Tensor, g: &Tensor) -> Result<(Tensor, Tensor)> {
        Ok(match self {
            Slopes::Tensors { d1, d2 } => ((dbar.broadcast_mul(g)? * d2)?, (dbar * d1)?),
            #[cfg(feature = "cuda")]
            Slopes::Packed(sd) => {
                let out = crate::exec::cuda::tanh_vjp_reverse(dbar, g, sd)?;
                (out.get(0)?, out.get(1)?)
            }
        })
    }

    /// acc + back ⊙ σ′.
    fn add_product(&self, acc: &Tensor, back: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Slopes::Tensors { d1, .. } => (acc + (back * d1)?)?,
            #[cfg(feature = "cuda")]
            Slopes::Packed(sd) => crate::exec::cuda::add_product(acc, back, sd)?,
        })
    }
}
