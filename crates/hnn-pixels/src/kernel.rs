//! A fused CPU training step for the pixel model.
//!
//! The autoencoder carries almost all of the arithmetic (three passes of a 1568-wide input
//! through 200-wide layers per pair of frames). Here its forward and backward passes are
//! hand-written with `gemm` products and fused loops, and the batch is split across rayon's
//! threads. The small latent part (the dynamics model on 2-D states, which needs the explicit ∇H
//! and its derivative) uses the dynamics model's own fused kernel when the latent step is the
//! reference's single Euler step (its loss is then a gradient-matching loss), and candle's
//! autograd on latent states made leaf variables otherwise. The gradients equal those of one `backward` of [`PixelModel::losses`] (tested to
//! 1e-10 in f64).
//!
//! The step, for a batch of windows (the frame pairs x_t, x_{t+1} and, for a horizon of K > 1
//! frames, x_{t+K}):
//! 1. per block of rows: encode every frame pair of the window, decode z_t, reconstruction loss
//!    and the decoder's backward pass (giving ∂/∂z_t of the reconstruction);
//! 2. latent losses and their gradients (∂/∂ each latent state, ∂/∂ dynamics weights);
//! 3. per block: the encoder's backward pass from ∂/∂(every latent state).

use crate::model::{LatentStep, LossWeights, PixelModel};
use candle_core::{DType, Tensor, Var, WithDType};
use candle_nn::Linear;
use hnn_core::exec::cpu::{add_column_sums, matmul, Mat, Real};
use hnn_core::exec::network_gradient_matching;
use hnn_train::optim::Gradients;
use hnn_train::Result;
use rayon::prelude::*;
use std::collections::HashMap;

/// Rows per block below which the batch is not split further.
const MIN_ROWS_PER_BLOCK: usize = 16;

/// The loss (reconstruction + weighted dynamics and canonical losses) and the gradient of every
/// variable for a batch of windows (the frame pairs at [`LatentStep::offsets`], as
/// [`PixelModel::losses`]), through the fused path; `None` off the CPU or for dtypes other than
/// f32/f64.
pub fn pixel_gradients(
    model: &PixelModel,
    dynamics_vars: &[Var],
    window: &[Tensor],
    weights: LossWeights,
) -> Result<Option<(f64, Gradients)>> {
    let Some(first) = window.first() else { return Ok(None) };
    if !first.device().is_cpu() || window.iter().any(|x| x.dtype() != first.dtype()) {
        return Ok(None);
    }
    match first.dtype() {
        DType::F32 => step::<f32>(model, dynamics_vars, window, weights).map(Some),
        DType::F64 => step::<f64>(model, dynamics_vars, window, weights).map(Some),
        _ => Ok(None),
    }
}

/// One residual ReLU network (encoder or decoder) as slices.
struct Net<T> {
    weights: [Vec<T>; 4],
    biases: [Vec<T>; 4],
    /// `[input, hidden, hidden, hidden, output]`.
    widths: [usize; 5],
}

impl<T: Real + WithDType> Net<T> {
    fn new(layers: &[Linear; 4]) -> Result<Self> {
        let flat = |t: &Tensor| -> Result<Vec<T>> { Ok(t.flatten_all()?.to_vec1::<T>()?) };
        let mut widths = [0; 5];
        widths[0] = layers[0].weight().dims()[1];
        for (i, l) in layers.iter().enumerate() {
            widths[i + 1] = l.weight().dims()[0];
        }
        let bias = |l: &Linear| -> Result<Vec<T>> {
            match l.bias() {
                Some(b) => flat(b),
                None => Ok(vec![T::default(); l.weight().dims()[0]]),
            }
        };
        Ok(Self {
            weights: [
                flat(layers[0].weight())?,
                flat(layers[1].weight())?,
                flat(layers[2].weight())?,
                flat(layers[3].weight())?,
            ],
            biases: [bias(&layers[0])?, bias(&layers[1])?, bias(&layers[2])?, bias(&layers[3])?],
            widths,
        })
    }

    fn zero_grads(&self) -> NetGrads<T> {
        NetGrads {
            weights: self.weights.clone().map(|w| vec![T::default(); w.len()]),
            biases: self.biases.clone().map(|b| vec![T::default(); b.len()]),
        }
    }

    /// Forward pass of `rows` inputs: the output and the ReLU outputs r₁…r₃ and states h₁…h₃
    /// (h₁ = r₁, h₂ = h₁ + r₂, h₃ = h₂ + r₃).
    fn forward(&self, x: &[T], rows: usize) -> (Vec<T>, Trace<T>) {
        let w = self.widths;
        let mut r: [Vec<T>; 3] = Default::default();
        let mut h: [Vec<T>; 3] = Default::default();
        for k in 0..3 {
            let input: &[T] = if k == 0 { x } else { &h[k - 1] };
            let mut u = vec![T::default(); rows * w[k + 1]];
            matmul(&mut u, Mat::new(input, rows, w[k]), Mat::new(&self.weights[k], w[k + 1], w[k]).t(), false);
            relu_bias(&mut u, &self.biases[k]);
            let mut state = u.clone();
            if k > 0 {
                for (s, prev) in state.iter_mut().zip(&h[k - 1]) {
                    *s += *prev;
                }
            }
            r[k] = u;
            h[k] = state;
        }
        let mut out = vec![T::default(); rows * w[4]];
        matmul(&mut out, Mat::new(&h[2], rows, w[3]), Mat::new(&self.weights[3], w[4], w[3]).t(), false);
        for row in out.chunks_exact_mut(w[4]) {
            for (o, b) in row.iter_mut().zip(&self.biases[3]) {
                *o += *b;
            }
        }
        (out, Trace { r, h })
    }

    /// Backward pass from ∂loss/∂output; accumulates into `grads` and returns ∂loss/∂input if asked.
    fn backward(
        &self,
        x: &[T],
        trace: &Trace<T>,
        out_bar: &[T],
        rows: usize,
        grads: &mut NetGrads<T>,
        want_input: bool,
    ) -> Option<Vec<T>> {
        let w = self.widths;
        let (r, h) = (&trace.r, &trace.h);
        matmul(&mut grads.weights[3], Mat::new(out_bar, rows, w[4]).t(), Mat::new(&h[2], rows, w[3]), true);
        add_column_sums(&mut grads.biases[3], out_bar, w[4]);
        let mut h_bar = vec![T::default(); rows * w[3]];
        matmul(&mut h_bar, Mat::new(out_bar, rows, w[4]), Mat::new(&self.weights[3], w[4], w[3]), false);
        for k in (0..3).rev() {
            // h_{k+1} = [h_k +] relu(h_k Wₖᵀ + bₖ): ū = h̄ ⊙ 1[r > 0].
            let u_bar: Vec<T> =
                h_bar.iter().zip(&r[k]).map(|(g, r)| if *r > T::default() { *g } else { T::default() }).collect();
            let input: &[T] = if k == 0 { x } else { &h[k - 1] };
            matmul(&mut grads.weights[k], Mat::new(&u_bar, rows, w[k + 1]).t(), Mat::new(input, rows, w[k]), true);
            add_column_sums(&mut grads.biases[k], &u_bar, w[k + 1]);
            if k == 0 && !want_input {
                return None;
            }
            let mut below = vec![T::default(); rows * w[k]];
            matmul(&mut below, Mat::new(&u_bar, rows, w[k + 1]), Mat::new(&self.weights[k], w[k + 1], w[k]), false);
            if k > 0 {
                // The residual path carries h̄ straight through.
                for (b, g) in below.iter_mut().zip(&h_bar) {
                    *b += *g;
                }
            }
            h_bar = below;
        }
        Some(h_bar)
    }
}

/// u ← relu(u + b), row by row.
fn relu_bias<T: Real>(u: &mut [T], bias: &[T]) {
    for row in u.chunks_exact_mut(bias.len()) {
        for (x, b) in row.iter_mut().zip(bias) {
            let v = *x + *b;
            *x = if v > T::default() { v } else { T::default() };
        }
    }
}

struct Trace<T> {
    r: [Vec<T>; 3],
    h: [Vec<T>; 3],
}

struct NetGrads<T> {
    weights: [Vec<T>; 4],
    biases: [Vec<T>; 4],
}

impl<T: Real> NetGrads<T> {
    fn add(&mut self, other: &Self) {
        for (a, b) in
            self.weights.iter_mut().chain(self.biases.iter_mut()).zip(other.weights.iter().chain(&other.biases))
        {
            for (x, y) in a.iter_mut().zip(b) {
                *x += *y;
            }
        }
    }
}

/// What one block of rows keeps between the phases.
struct Block<T> {
    start: usize,
    rows: usize,
    /// The window's frame pairs of the block, one after the other: `[frames·rows, input]`.
    input: Vec<T>,
    encoder_trace: Trace<T>,
    /// Their latent states, `[frames·rows, latent]`.
    latent: Vec<T>,
    /// ∂reconstruction/∂z_t, `[rows, latent]`.
    latent_bar: Vec<T>,
    decoder_grads: NetGrads<T>,
    sse: f64,
}

/// The fused training step in three phases: per row block, encode the window and decode z_t
/// with the reconstruction's backward; the latent losses over the whole batch; per row block,
/// the encoder's backward. One function on purpose: the phases hand each other the blocks'
/// traces, and the blocks are summed in order (the same bits for the same thread count).
fn step<T: Real + WithDType>(
    model: &PixelModel,
    dynamics_vars: &[Var],
    window: &[Tensor],
    weights: LossWeights,
) -> Result<(f64, Gradients)> {
    let encoder = Net::<T>::new(&model.ae.encoder)?;
    let decoder = Net::<T>::new(&model.ae.decoder)?;
    let frames = model.latent_step.offsets().len();
    let (batch, width) = window[0].dims2()?;
    let latent = encoder.widths[4];
    if window.len() != frames
        || window.iter().any(|x| x.dims() != [batch, width])
        || width != encoder.widths[0]
        || decoder.widths[4] != width
    {
        let dims: Vec<_> = window.iter().map(|x| x.dims().to_vec()).collect();
        return Err(hnn_train::Error::Config(format!(
            "pixel batches must be {frames} tensors [batch, {}] (the frame pairs at offsets {:?}), got {dims:?}",
            encoder.widths[0],
            model.latent_step.offsets(),
        )));
    }
    let xs = window.iter().map(|x| Ok(x.flatten_all()?.to_vec1::<T>()?)).collect::<Result<Vec<_>>>()?;
    let scale = T::round_from_f64(2.0 / (batch * width) as f64);
    let blocks = rayon::current_num_threads().min(batch / MIN_ROWS_PER_BLOCK).max(1);
    let per = batch.div_ceil(blocks);

    // Phase 1: encode every frame pair, decode z_t, reconstruction and the decoder's backward pass.
    let mut parts: Vec<Block<T>> = (0..blocks)
        .into_par_iter()
        .map(|b| b * per)
        .filter(|&s| s < batch)
        .map(|start| {
            let rows = per.min(batch - start);
            let range = start * width..(start + rows) * width;
            let mut input = Vec::with_capacity(frames * rows * width);
            for x in &xs {
                input.extend_from_slice(&x[range.clone()]);
            }
            let (latent_out, encoder_trace) = encoder.forward(&input, frames * rows);
            let z = &latent_out[..rows * latent];
            let (mut recon, decoder_trace) = decoder.forward(z, rows);
            let mut sse = 0.0;
            for (r, t) in recon.iter_mut().zip(&xs[0][range]) {
                let e = *r - *t;
                sse += e.as_f64() * e.as_f64();
                *r = scale * e;
            }
            let mut decoder_grads = decoder.zero_grads();
            let latent_bar = decoder
                .backward(z, &decoder_trace, &recon, rows, &mut decoder_grads, true)
                .expect("input gradient requested");
            Block { start, rows, input, encoder_trace, latent: latent_out, latent_bar, decoder_grads, sse }
        })
        .collect();

    // Phase 2: the latent losses: the dynamics model's fused kernel for the reference's Euler
    // step, autograd on leaf latent variables otherwise.
    let mut zs = vec![Vec::with_capacity(batch * latent); frames];
    for p in &parts {
        for (f, z) in zs.iter_mut().enumerate() {
            z.extend_from_slice(&p.latent[f * p.rows * latent..(f + 1) * p.rows * latent]);
        }
    }
    let device = window[0].device();
    let latent_part = match fused_latent::<T>(model, &zs, batch, weights, device)? {
        Some(l) => l,
        None => autograd_latent::<T>(model, dynamics_vars, zs, batch, weights, device)?,
    };
    let latent_value = latent_part.value;

    // Phase 3: the encoder's backward pass from ∂/∂(every latent state of the window).
    let encoder_grads: Vec<NetGrads<T>> = parts
        .par_iter_mut()
        .map(|p| {
            let (s, n) = (p.start * latent, p.rows * latent);
            let mut bar = std::mem::take(&mut p.latent_bar);
            for (b, g) in bar.iter_mut().zip(&latent_part.bars[0][s..s + n]) {
                *b += *g;
            }
            for later in &latent_part.bars[1..] {
                bar.extend_from_slice(&later[s..s + n]);
            }
            let mut grads = encoder.zero_grads();
            encoder.backward(&p.input, &p.encoder_trace, &bar, frames * p.rows, &mut grads, false);
            grads
        })
        .collect();

    // Sum the blocks in order (the same bits on every run with the same thread count).
    let mut enc = encoder.zero_grads();
    let mut dec = decoder.zero_grads();
    let mut sse = 0.0;
    for (p, e) in parts.iter().zip(&encoder_grads) {
        enc.add(e);
        dec.add(&p.decoder_grads);
        sse += p.sse;
    }
    let mut map = HashMap::new();
    for (layers, grads) in [(&model.ae.encoder, enc), (&model.ae.decoder, dec)] {
        for (layer, (w, b)) in layers.iter().zip(grads.weights.into_iter().zip(grads.biases)) {
            map.insert(layer.weight().id(), Tensor::from_vec(w, layer.weight().shape(), device)?);
            if let Some(bias) = layer.bias() {
                map.insert(bias.id(), Tensor::from_vec(b, bias.shape(), device)?);
            }
        }
    }
    map.extend(latent_part.params);
    let loss = sse / (batch * width) as f64 + latent_value;
    Ok((loss, Gradients::Direct(map)))
}

/// The latent losses' value and gradients: ∂/∂z for each latent state of the window
/// (row-major `[batch, latent]`) and ∂/∂ the dynamics model's parameters.
struct LatentPart<T> {
    value: f64,
    bars: Vec<Vec<T>>,
    params: Vec<(candle_core::TensorId, Tensor)>,
}

/// With the reference's one Euler step per frame the dynamics loss mean((z_{t+1} − z_t − f(z_t))²)
/// is a gradient-matching loss with target z_{t+1} − z_t, so the fused kernel of the dynamics
/// model gives it with all its gradients (∂/∂z_t included); the canonical loss is written out.
/// `None` where that does not apply (another latent integrator, a model without a kernel).
fn fused_latent<T: Real + WithDType>(
    model: &PixelModel,
    zs: &[Vec<T>],
    batch: usize,
    weights: LossWeights,
    device: &candle_core::Device,
) -> Result<Option<LatentPart<T>>> {
    if model.latent_step != LatentStep::default() {
        return Ok(None);
    }
    let (z, zn) = (&zs[0], &zs[1]);
    let zt = Tensor::from_vec(z.to_vec(), (batch, 2), device)?;
    let step: Vec<T> = zn.iter().zip(z).map(|(a, b)| *a - *b).collect();
    let target = Tensor::from_vec(step, (batch, 2), device)?;
    let Some(network) = model.dynamics.network() else { return Ok(None) };
    let Some(lg) = network_gradient_matching(network, &zt, &target)? else { return Ok(None) };
    let flat = |t: &Tensor| -> Result<Vec<T>> { Ok(t.flatten_all()?.to_vec1::<T>()?) };
    let (input, tbar) = (flat(&lg.d_states)?, flat(&lg.d_targets)?);
    let weight = weights.dynamics;
    let w = T::round_from_f64(weight);
    // target = z_{t+1} − z_t: its gradient flows to z_{t+1} (+) and z_t (−).
    let mut z_bar: Vec<T> = input.iter().zip(&tbar).map(|(i, t)| w * (*i - *t)).collect();
    let mut zn_bar: Vec<T> = tbar.iter().map(|t| w * *t).collect();
    // Canonical loss mean over rows of (z_p − (z_q,next − z_q))².
    let mut canonical = 0.0;
    let scale = T::round_from_f64(2.0 * weights.canonical / batch as f64);
    for i in 0..batch {
        let c = z[2 * i + 1] - (zn[2 * i] - z[2 * i]);
        canonical += c.as_f64() * c.as_f64();
        let cbar = scale * c;
        z_bar[2 * i + 1] += cbar;
        z_bar[2 * i] += cbar;
        zn_bar[2 * i] += -cbar;
    }
    let params = lg.params.into_iter().map(|(p, g)| Ok((p.id(), (g * weight)?))).collect::<Result<Vec<_>>>()?;
    Ok(Some(LatentPart {
        value: weights.canonical * canonical / batch as f64 + weight * lg.loss,
        bars: vec![z_bar, zn_bar],
        params,
    }))
}

/// The latent losses by autograd, on the latent states as leaf variables (any latent integrator).
fn autograd_latent<T: Real + WithDType>(
    model: &PixelModel,
    dynamics_vars: &[Var],
    zs: Vec<Vec<T>>,
    batch: usize,
    weights: LossWeights,
    device: &candle_core::Device,
) -> Result<LatentPart<T>> {
    let zs = zs
        .into_iter()
        .map(|z| Ok(Var::from_tensor(&Tensor::from_vec(z, (batch, 2), device)?)?))
        .collect::<Result<Vec<_>>>()?;
    let leaves: Vec<Tensor> = zs.iter().map(|z| z.as_tensor().clone()).collect();
    let (dynamics, canonical) = model.latent_losses(&leaves)?;
    let latent_loss = ((canonical * weights.canonical)? + (dynamics * weights.dynamics)?)?;
    let value = latent_loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
    let store = latent_loss.backward()?;
    let grad_of = |v: &Var| -> Result<Vec<T>> {
        Ok(match store.get(v.as_tensor()) {
            Some(g) => g.flatten_all()?.to_vec1::<T>()?,
            None => vec![T::default(); v.elem_count()],
        })
    };
    let params = dynamics_vars
        .iter()
        .filter_map(|v| store.get(v.as_tensor()).map(|g| (v.as_tensor().id(), g.clone())))
        .collect();
    Ok(LatentPart { value, bars: zs.iter().map(grad_of).collect::<Result<_>>()?, params })
}
