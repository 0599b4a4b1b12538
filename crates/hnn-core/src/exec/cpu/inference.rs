//! The inference kernel: H and ∇ₓH (or the output) of a network that records no gradients.

use super::forward::{forward_pass, output_layer, MlpView};
use super::matmul::{matmul, Mat};
use super::real::{simd_dispatch, Real};
use super::training::{MIN_PARALLEL_MACS, MIN_ROWS_PER_THREAD};
use crate::exec::FieldForm;
use rayon::prelude::*;

simd_dispatch! {
    /// One chunk of rows of inference.
    fn infer_dispatch(form: FieldForm, net: &MlpView<'_, T>, z: &[T], rows: usize) -> (Vec<T>, Vec<T>) = infer_chunk
}

/// Inference, no gradients kept: for a scalar network (`Hamiltonian`) H(z) `[batch]` and
/// ∇ₓH(z) `[batch, dim]`; for a direct one its output `[batch, out]` and an empty vector. The
/// batch is split across rayon's threads when it is large. Rollouts and evaluation of trained
/// (frozen) models use it.
pub fn evaluate<T: Real>(form: FieldForm, net: &MlpView<'_, T>, z: &[T]) -> (Vec<T>, Vec<T>) {
    let widths = net.widths;
    let dim = widths[0];
    assert!(z.len().is_multiple_of(dim), "states are whole rows");
    let rows = z.len() / dim;
    let macs_per_row: usize = widths.windows(2).map(|w| w[0] * w[1]).sum();
    let threads = rayon::current_num_threads()
        .min(rows / MIN_ROWS_PER_THREAD)
        .min((rows * macs_per_row * 2) / MIN_PARALLEL_MACS)
        .max(1);
    let chunk = rows.div_ceil(threads).max(1);
    let run = |start: usize| {
        let n = chunk.min(rows - start);
        let z = &z[start * dim..(start + n) * dim];
        infer_dispatch(form, net, z, n)
    };
    if threads == 1 {
        return run(0);
    }
    let parts: Vec<(Vec<T>, Vec<T>)> =
        (0..threads).into_par_iter().map(|i| i * chunk).filter(|&s| s < rows).map(run).collect();
    let (mut a, mut b) = (vec![], vec![]);
    for (x, y) in parts {
        a.extend(x);
        b.extend(y);
    }
    (a, b)
}

#[inline(always)]
fn infer_chunk<T: Real>(form: FieldForm, net: &MlpView<'_, T>, z: &[T], rows: usize) -> (Vec<T>, Vec<T>) {
    let widths = net.widths;
    let hidden = widths.len() - 2;
    let fw = forward_pass(net, z, rows, false);
    let y = output_layer(net, &fw, rows);
    if form == FieldForm::Output {
        return (y, vec![]);
    }
    // ∇ₓH: g_h = w_out; d_k = g_k ⊙ σ′(u_k); g_{k−1} = d_k W_{k−1}.
    let w_out = net.weights[hidden];
    if hidden == 0 {
        return (y, w_out.repeat(rows));
    }
    let mut d = fw.d1[hidden].clone();
    for row in d.chunks_exact_mut(widths[hidden]) {
        for (x, w) in row.iter_mut().zip(w_out) {
            *x = *x * *w;
        }
    }
    for k in (1..=hidden).rev() {
        let mut g = vec![T::default(); rows * widths[k - 1]];
        matmul(&mut g, Mat::new(&d, rows, widths[k]), Mat::new(net.weights[k - 1], widths[k], widths[k - 1]), false);
        if k == 1 {
            return (y, g);
        }
        for (x, s) in g.iter_mut().zip(&fw.d1[k - 1]) {
            *x = *x * *s;
        }
        d = g;
    }
    unreachable!("the loop returns at k = 1")
}
