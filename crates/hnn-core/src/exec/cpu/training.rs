//! The fused gradient-matching kernel: the loss mean((ż_θ(z) − ż)²) of an MLP field and its
//! gradient with respect to every weight, in one hand-written pass with no autograd graph.

use super::forward::{forward_pass, output_layer, MlpView};
use super::matmul::{add_column_sums, matmul, Mat};
use super::real::{simd_dispatch, Real};
use crate::exec::FieldForm;
use rayon::prelude::*;

/// The loss and its gradients, laid out as the parameters of the [`MlpView`].
#[derive(Debug, Clone, PartialEq)]
pub struct MlpGradients<T> {
    /// mean over all entries of (prediction − target)².
    pub loss: f64,
    /// ∂loss/∂`weights[l]`.
    pub weights: Vec<Vec<T>>,
    /// ∂loss/∂`biases[l]`.
    pub biases: Vec<Vec<T>>,
    /// ∂loss/∂z, `[batch, dim]` (for losses on states that are themselves computed, e.g. by an
    /// encoder).
    pub input: Vec<T>,
    /// ∂loss/∂target, `[batch, dim]`.
    pub target: Vec<T>,
}

impl<T: Real> MlpGradients<T> {
    fn zeros(net: &MlpView<'_, T>) -> Self {
        Self {
            loss: 0.0,
            weights: net.weights.iter().map(|w| vec![T::default(); w.len()]).collect(),
            biases: net.biases.iter().map(|b| vec![T::default(); b.len()]).collect(),
            input: vec![],
            target: vec![],
        }
    }

    /// Adds the parameter gradients and loss of a later block of rows; appends its row gradients.
    fn accumulate(mut self, other: Self) -> Self {
        self.loss += other.loss;
        self.input.extend(other.input);
        self.target.extend(other.target);
        for (a, b) in
            self.weights.iter_mut().chain(self.biases.iter_mut()).zip(other.weights.iter().chain(&other.biases))
        {
            for (x, y) in a.iter_mut().zip(b) {
                *x += *y;
            }
        }
        self
    }
}

/// Rows per thread below which splitting the batch does not pay.
pub(crate) const MIN_ROWS_PER_THREAD: usize = 64;

/// Multiply–accumulates per step below which everything runs on the calling thread.
pub(crate) const MIN_PARALLEL_MACS: usize = 4 * 1024 * 1024;

/// Gradient-matching loss and parameter gradients of `net` on states `z` (`[batch, dim]`,
/// row-major) against time derivatives `target` (same shape).
///
/// Large batches are split into one block of rows per rayon thread; the result is bitwise
/// reproducible for a given thread count (`RAYON_NUM_THREADS`), and agrees to rounding across
/// thread counts.
///
/// Panics if the slices disagree with `net.widths` (a programming error, checked by the
/// tensor-level callers).
pub fn gradient_matching<T: Real>(form: FieldForm, net: &MlpView<'_, T>, z: &[T], target: &[T]) -> MlpGradients<T> {
    let mut all = ensemble_gradient_matching(&[EnsembleMember { form, net: net.clone(), z, target }]);
    all.pop().expect("one member")
}

/// One model of an ensemble with its batch, for [`ensemble_gradient_matching`].
#[derive(Clone)]
pub struct EnsembleMember<'a, T> {
    /// How its network defines the field.
    pub form: FieldForm,
    /// The member's network.
    pub net: MlpView<'a, T>,
    /// Its states, `[batch, dim]` row-major.
    pub z: &'a [T],
    /// Its time derivatives, the shape of `z`.
    pub target: &'a [T],
}

/// [`gradient_matching`] of several models at once, each on its own batch (the seeds and
/// models of an experiment; members may differ in form and widths): every member's blocks of rows go to rayon as one job, so the threads stay busy
/// across members and the per-step start-up is paid once, not once per member.
///
/// Each member is split into exactly the blocks [`gradient_matching`] would use for it alone and
/// its partial gradients are summed in the same order, so every member's result is bit for bit
/// that of its own call.
pub fn ensemble_gradient_matching<T: Real>(members: &[EnsembleMember<'_, T>]) -> Vec<MlpGradients<T>> {
    let plans: Vec<(usize, usize)> = members.iter().map(check_and_plan).collect();
    let tasks: Vec<(usize, usize)> = plans
        .iter()
        .enumerate()
        .flat_map(|(i, &(rows, chunk))| (0..rows).step_by(chunk.max(1)).map(move |start| (i, start)))
        .collect();
    let run = |&(i, start): &(usize, usize)| {
        let member = &members[i];
        let (rows, chunk) = plans[i];
        let dim = member.net.widths[0];
        let n = chunk.min(rows - start);
        let z = &member.z[start * dim..(start + n) * dim];
        let target = &member.target[start * dim..(start + n) * dim];
        let scale = 2.0 / (rows * dim) as f64;
        chunk_dispatch(member.form, &member.net, z, target, n, T::round_from_f64(scale))
    };
    // Collected in order and summed left to right per member: the same bits on every run with
    // the same thread count (a parallel reduce could group the sums differently from run to run).
    let mut parts: Vec<MlpGradients<T>> =
        if tasks.len() == 1 { vec![run(&tasks[0])] } else { tasks.par_iter().map(run).collect() };
    let mut out = Vec::with_capacity(members.len());
    for (i, member) in members.iter().enumerate().rev() {
        let (rows, _) = plans[i];
        let dim = member.net.widths[0];
        let count = tasks.iter().filter(|(m, _)| *m == i).count();
        let mine = parts.split_off(parts.len() - count);
        let mut total = match mine.into_iter().reduce(MlpGradients::accumulate) {
            Some(total) => total,
            None => MlpGradients { loss: f64::NAN, ..MlpGradients::zeros(&member.net) },
        };
        if rows > 0 {
            total.loss /= (rows * dim) as f64;
        }
        out.push(total);
    }
    out.reverse();
    out
}

/// Checks a member's slices against its widths (panics: a programming error, checked by the
/// tensor-level callers) and returns (rows, rows per block): one block per rayon thread for
/// large batches, one block for small ones.
fn check_and_plan<T: Real>(member: &EnsembleMember<'_, T>) -> (usize, usize) {
    let (form, net) = (member.form, &member.net);
    let widths = net.widths;
    assert!(widths.len() >= 2, "an MLP has at least one layer");
    let dim = widths[0];
    assert_eq!(net.weights.len(), widths.len() - 1, "one weight matrix per layer");
    assert_eq!(net.biases.len(), widths.len() - 2, "one bias per hidden layer");
    for (l, w) in net.weights.iter().enumerate() {
        assert_eq!(w.len(), widths[l] * widths[l + 1], "weight {l} has the wrong size");
    }
    for (l, b) in net.biases.iter().enumerate() {
        assert_eq!(b.len(), widths[l + 1], "bias {l} has the wrong size");
    }
    let out = *widths.last().expect("non-empty");
    match form {
        FieldForm::SymplecticGradient => {
            assert!(out == 1 && dim.is_multiple_of(2), "a Hamiltonian network maps 2n → 1")
        }
        FieldForm::Output => assert_eq!(out, dim, "a direct field maps 2n → 2n"),
    }
    assert!(member.z.len().is_multiple_of(dim), "states are whole rows");
    assert_eq!(member.z.len(), member.target.len(), "one target per state");
    let rows = member.z.len() / dim;
    let macs_per_row: usize = widths.windows(2).map(|w| w[0] * w[1]).sum();
    let threads = rayon::current_num_threads()
        .min(rows / MIN_ROWS_PER_THREAD)
        .min((rows * macs_per_row * 6) / MIN_PARALLEL_MACS)
        .max(1);
    (rows, rows.div_ceil(threads))
}

simd_dispatch! {
    /// One chunk of rows of a gradient-matching step.
    fn chunk_dispatch(form: FieldForm, net: &MlpView<'_, T>, z: &[T], target: &[T], rows: usize, scale: T)
        -> MlpGradients<T> = chunk
}

#[inline(always)]
fn chunk<T: Real>(
    form: FieldForm,
    net: &MlpView<'_, T>,
    z: &[T],
    target: &[T],
    rows: usize,
    scale: T,
) -> MlpGradients<T> {
    match form {
        FieldForm::SymplecticGradient => hamiltonian_chunk(net, z, target, rows, scale),
        FieldForm::Output => direct_chunk(net, z, target, rows, scale),
    }
}

/// One chunk of rows of an HNN: sum of squared errors and gradients of scale·Σ(error²)/2.
/// One pass on purpose: the chunk's activations stay in cache from the forward pass through
/// the second-order backward, which splitting into functions would spill between calls.
#[inline(always)]
fn hamiltonian_chunk<T: Real>(net: &MlpView<'_, T>, z: &[T], target: &[T], rows: usize, scale: T) -> MlpGradients<T> {
    let widths = net.widths;
    let hidden = widths.len() - 2;
    let dim = widths[0];
    let half = dim / 2;
    let w_out = net.weights[hidden]; // [1, widths[hidden]]
    let mut grads = MlpGradients::zeros(net);
    let mut fw = forward_pass(net, z, rows, true);

    // VJP: d_k = g_k ⊙ σ′(u_k) with g_h = w_out; g_{k−1} = d_k W_{k−1}. `g[k]` for k < h.
    let mut d: Vec<Vec<T>> = vec![vec![]; hidden + 1];
    let mut g: Vec<Vec<T>> = vec![vec![]; hidden];
    if hidden > 0 {
        let mut top = fw.d1[hidden].clone();
        for row in top.chunks_exact_mut(widths[hidden]) {
            for (x, w) in row.iter_mut().zip(w_out) {
                *x = *x * *w;
            }
        }
        d[hidden] = top;
    }
    for k in (1..=hidden).rev() {
        let mut gk = vec![T::default(); rows * widths[k - 1]];
        matmul(
            &mut gk,
            Mat::new(&d[k], rows, widths[k]),
            Mat::new(net.weights[k - 1], widths[k], widths[k - 1]),
            false,
        );
        if k > 1 {
            d[k - 1] = gk.iter().zip(&fw.d1[k - 1]).map(|(a, b)| *a * *b).collect();
        }
        g[k - 1] = gk;
    }
    let grad_x: Vec<T> = if hidden > 0 { std::mem::take(&mut g[0]) } else { w_out.repeat(rows) };

    // Loss of the field J∇H = (∂H/∂p, −∂H/∂q), and ḡ₀ = Jᵀ·scale·error = (−r_p, r_q).
    let mut gbar = vec![T::default(); rows * dim];
    let mut tbar = vec![T::default(); rows * dim];
    let mut sse = 0.0;
    let rows_iter = grad_x.chunks_exact(dim).zip(target.chunks_exact(dim)).zip(gbar.chunks_exact_mut(dim));
    for (((gx, t), gb), tb) in rows_iter.zip(tbar.chunks_exact_mut(dim)) {
        for i in 0..half {
            let eq = gx[half + i] - t[i];
            let ep = -gx[i] - t[half + i];
            sse += eq.as_f64() * eq.as_f64() + ep.as_f64() * ep.as_f64();
            gb[i] = -(scale * ep);
            gb[half + i] = scale * eq;
            tb[i] = -(scale * eq);
            tb[half + i] = -(scale * ep);
        }
    }
    grads.loss = sse;
    grads.target = tbar;

    if hidden == 0 {
        // ∇H is the constant output row: the loss does not depend on z.
        add_column_sums(&mut grads.weights[0], &gbar, dim);
        grads.input = vec![T::default(); rows * dim];
        return grads;
    }

    // Reverse of the VJP, from the input up. The σ″ terms go into fw.d2 in place: afterwards
    // d2[k] holds ∂loss/∂u_k along the VJP path.
    for k in 1..=hidden {
        let (win, wk) = (widths[k - 1], widths[k]);
        // g_{k−1} = d_k W_{k−1}: ∂/∂W_{k−1} += d_kᵀ ḡ_{k−1}, d̄_k = ḡ_{k−1} W_{k−1}ᵀ.
        matmul(&mut grads.weights[k - 1], Mat::new(&d[k], rows, wk).t(), Mat::new(&gbar, rows, win), true);
        let mut dbar = vec![T::default(); rows * wk];
        matmul(&mut dbar, Mat::new(&gbar, rows, win), Mat::new(net.weights[k - 1], wk, win).t(), false);
        if k < hidden {
            // d_k = g_k ⊙ σ′(u_k).
            for (((db, gk), s1), s2) in dbar.iter_mut().zip(&g[k]).zip(&fw.d1[k]).zip(fw.d2[k].iter_mut()) {
                *s2 = *db * *gk * *s2;
                *db = *db * *s1;
            }
            gbar = dbar;
        } else {
            // d_h = w_out ⊙ σ′(u_h).
            let out_grad = &mut grads.weights[hidden];
            let rows = dbar.chunks_exact(wk).zip(fw.d1[k].chunks_exact(wk)).zip(fw.d2[k].chunks_exact_mut(wk));
            for ((db, s1), s2) in rows {
                for ((((o, db), s1), s2), w) in out_grad.iter_mut().zip(db).zip(s1).zip(s2.iter_mut()).zip(w_out) {
                    *o += *db * *s1;
                    *s2 = *db * *w * *s2;
                }
            }
        }
    }

    // Reverse of the forward pass: ū_h = (VJP term); ū_{k−1} = (VJP term) + (ū_k W_{k−1}) ⊙ σ′.
    for k in (1..=hidden).rev() {
        let (win, wk) = (widths[k - 1], widths[k]);
        let ubar = std::mem::take(&mut fw.d2[k]);
        matmul(&mut grads.weights[k - 1], Mat::new(&ubar, rows, wk).t(), Mat::new(&fw.act[k - 1], rows, win), true);
        add_column_sums(&mut grads.biases[k - 1], &ubar, wk);
        let mut back = vec![T::default(); rows * win];
        matmul(&mut back, Mat::new(&ubar, rows, wk), Mat::new(net.weights[k - 1], wk, win), false);
        if k > 1 {
            for ((u, b), s1) in fw.d2[k - 1].iter_mut().zip(&back).zip(&fw.d1[k - 1]) {
                *u += *b * *s1;
            }
        } else {
            // z enters only through u₁ = z W₀ᵀ + b₀.
            grads.input = back;
        }
    }
    grads
}

/// One chunk of rows of a direct field: sum of squared errors and gradients of scale·Σ(error²)/2.
#[inline(always)]
fn direct_chunk<T: Real>(net: &MlpView<'_, T>, z: &[T], target: &[T], rows: usize, scale: T) -> MlpGradients<T> {
    let widths = net.widths;
    let hidden = widths.len() - 2;
    let out = widths[hidden + 1];
    let mut grads = MlpGradients::zeros(net);
    let fw = forward_pass(net, z, rows, false);
    let mut y = output_layer(net, &fw, rows);
    let mut sse = 0.0;
    for (y, t) in y.iter_mut().zip(target) {
        let e = *y - *t;
        sse += e.as_f64() * e.as_f64();
        *y = scale * e;
    }
    grads.loss = sse;
    grads.target = y.iter().map(|r| -*r).collect();
    // ∂/∂W_h = rᵀ a_h; ā_h = r W_h; then ū_k = ā_k ⊙ σ′(u_k) down the layers.
    matmul(
        &mut grads.weights[hidden],
        Mat::new(&y, rows, out).t(),
        Mat::new(&fw.act[hidden], rows, widths[hidden]),
        true,
    );
    let mut abar = y;
    let mut abar_width = out;
    for k in (1..=hidden + 1).rev() {
        let (win, wk) = (widths[k - 1], widths[k]);
        if k <= hidden {
            for (a, s1) in abar.iter_mut().zip(&fw.d1[k]) {
                *a = *a * *s1;
            }
            matmul(&mut grads.weights[k - 1], Mat::new(&abar, rows, wk).t(), Mat::new(&fw.act[k - 1], rows, win), true);
            add_column_sums(&mut grads.biases[k - 1], &abar, wk);
        }
        // ā_{k−1} = ū_k W_{k−1}; at k = 1 that is ∂loss/∂z.
        let mut next = vec![T::default(); rows * win];
        matmul(&mut next, Mat::new(&abar, rows, abar_width), Mat::new(net.weights[k - 1], wk, win), false);
        abar = next;
        abar_width = win;
    }
    grads.input = abar;
    grads
}
