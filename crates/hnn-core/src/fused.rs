//! Fused CPU kernels for gradient matching: the loss mean((ż_θ(z) − ż)²) of an MLP field and its
//! gradient with respect to every weight, in one hand-written pass with no autograd graph.
//!
//! Through candle, one HNN gradient-matching step is a graph of some forty tensor ops (forward,
//! the explicit ∇ₓH of [`crate::mlp`], the loss, then `backward` through all of it), each with
//! its own temporaries, on one thread. Here the same arithmetic is a handful of `gemm` products
//! and fused elementwise loops, with the batch split across rayon's threads and the partial
//! gradients summed. For an HNN (ż = J∇H) the pass is: forward keeping σ, σ′, σ″; the
//! vector–Jacobian product down to ∇ₓH; the loss; then the reverse of the VJP (which yields the
//! output weights' gradient and, through σ″, a contribution to each pre-activation) followed by
//! the reverse of the forward pass. The baseline (ż = MLP(z)) needs only forward and backward.
//!
//! The results equal candle's autograd on the same model (tested to 1e-10 in f64 for every
//! activation and depth, and against finite differences); both use the tensor path's vectorized
//! tanh (`fast_tanh`).
//!
//! Also here: [`evaluate`] (H and ∇ₓH, or the output, of a network that records no gradients —
//! rollouts and evaluation of trained models), [`adam_update`] (the optimizer's CPU update), and
//! the strided [`matmul`] that hnn-pixels' fused step builds on.

use crate::activation::Activation;
use crate::small_gemm::{small_matmul, Operand};
use candle_core::Tensor;
use rayon::prelude::*;
use std::ops::{Add, AddAssign, Mul, Neg, Sub};

/// A loss value with the gradient of each parameter tensor, from a fused kernel.
#[derive(Debug, Clone)]
pub struct LossGradients {
    /// The loss.
    pub loss: f64,
    /// (parameter, ∂loss/∂parameter) for every parameter the loss depends on.
    pub grads: Vec<(Tensor, Tensor)>,
    /// ∂loss/∂z, shaped as z.
    pub input: Tensor,
    /// ∂loss/∂target, shaped as the target.
    pub target: Tensor,
}

/// The float types the kernels run in (f32 and f64).
pub trait Real:
    Copy
    + Send
    + Sync
    + 'static
    + Default
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Neg<Output = Self>
    + AddAssign
{
    /// Conversion from f64.
    fn of(x: f64) -> Self;
    /// Conversion to f64.
    fn as_f64(self) -> f64;
    /// tanh (the vectorized approximations of `fast_tanh`, as the tensor path).
    fn tanh(self) -> Self;
    /// tanh of every element, in place.
    #[inline(always)]
    fn tanh_in_place(x: &mut [Self]) {
        for v in x {
            *v = v.tanh();
        }
    }
    /// sin.
    fn sin(self) -> Self;
    /// cos.
    fn cos(self) -> Self;
    /// exp.
    fn exp(self) -> Self;
    /// ln(1 + x).
    fn ln_1p(self) -> Self;
    /// |x|.
    fn abs(self) -> Self;
    /// The error function.
    fn erf(self) -> Self;
}

/// `Real` for a std float type, with its tanh and erf.
macro_rules! impl_real {
    ($t:ty, $tanh:path, $erf:path) => {
        impl Real for $t {
            fn of(x: f64) -> Self {
                x as $t
            }
            fn as_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                $tanh(self)
            }
            fn sin(self) -> Self {
                <$t>::sin(self)
            }
            fn cos(self) -> Self {
                <$t>::cos(self)
            }
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            fn ln_1p(self) -> Self {
                <$t>::ln_1p(self)
            }
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            fn erf(self) -> Self {
                $erf(self)
            }
        }
    };
}

impl_real!(f32, crate::fast_tanh::tanh_f32, candle_core::cpu::erf::erf_f32);
impl_real!(f64, crate::fast_tanh::tanh_f64, candle_core::cpu::erf::erf_f64);

/// How the network defines the vector field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldForm {
    /// A scalar network H(z) with ż = J∇H (the HNN).
    Hamiltonian,
    /// A network whose output is ż itself (the baseline).
    Direct,
}

/// An MLP's parameters as row-major slices: `weights[l]` is `[widths[l + 1], widths[l]]`
/// (PyTorch layout), `biases[l]` is `[widths[l + 1]]` for every layer but the last, which has
/// no bias (as [`crate::mlp::Mlp`]).
#[derive(Debug, Clone)]
pub struct MlpView<'a, T> {
    /// `[input, hidden…, output]`.
    pub widths: &'a [usize],
    /// One weight matrix per layer.
    pub weights: Vec<&'a [T]>,
    /// One bias per hidden layer.
    pub biases: Vec<&'a [T]>,
    /// Optional row-major transposes Wᵀ (`[widths[l], widths[l + 1]]`) of the hidden layers'
    /// weights, or none (empty): with them the forward products of a few rows run as outer
    /// products ([`crate::small_gemm`]), which is what rollouts of frozen networks do.
    pub transposed: Vec<&'a [T]>,
    /// Hidden-layer activation.
    pub activation: Activation,
}

/// The loss and its gradients, laid out as the parameters of the [`MlpView`].
#[derive(Debug, Clone, PartialEq)]
pub struct MlpGradients<T> {
    /// mean over all entries of (prediction − target)².
    pub loss: f64,
    /// ∂loss/∂weights[l].
    pub weights: Vec<Vec<T>>,
    /// ∂loss/∂biases[l].
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
const MIN_ROWS_PER_THREAD: usize = 64;

/// Multiply–accumulates per step below which everything runs on the calling thread.
const MIN_PARALLEL_MACS: usize = 4 * 1024 * 1024;

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
    let widths = net.widths;
    let dim = widths[0];
    assert!(widths.len() >= 2, "an MLP has at least one layer");
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
        FieldForm::Hamiltonian => assert!(out == 1 && dim.is_multiple_of(2), "a Hamiltonian network maps 2n → 1"),
        FieldForm::Direct => assert_eq!(out, dim, "a direct field maps 2n → 2n"),
    }
    assert!(z.len().is_multiple_of(dim), "states are whole rows");
    assert_eq!(z.len(), target.len(), "one target per state");
    let rows = z.len() / dim;
    if rows == 0 {
        return MlpGradients { loss: f64::NAN, ..MlpGradients::zeros(net) };
    }
    let scale = 2.0 / (rows * dim) as f64;
    let macs_per_row: usize = widths.windows(2).map(|w| w[0] * w[1]).sum();
    let threads = rayon::current_num_threads()
        .min(rows / MIN_ROWS_PER_THREAD)
        .min((rows * macs_per_row * 6) / MIN_PARALLEL_MACS)
        .max(1);
    let chunk = rows.div_ceil(threads);
    let run = |start: usize| {
        let n = chunk.min(rows - start);
        let z = &z[start * dim..(start + n) * dim];
        let target = &target[start * dim..(start + n) * dim];
        chunk_dispatch(form, net, z, target, n, T::of(scale))
    };
    let mut total = if threads == 1 {
        run(0)
    } else {
        // Collected in order and summed left to right: the same bits on every run with the same
        // thread count (a parallel reduce could group the sums differently from run to run).
        let parts: Vec<MlpGradients<T>> =
            (0..threads).into_par_iter().map(|i| i * chunk).filter(|&s| s < rows).map(run).collect();
        parts.into_iter().reduce(MlpGradients::accumulate).expect("at least one chunk")
    };
    total.loss /= (rows * dim) as f64;
    total
}

/// Defines `$name`, which calls `$inner` (an `#[inline(always)]` function) with the elementwise
/// loops it contains compiled for AVX-512 or AVX2 + FMA where the CPU has them (the matmuls
/// dispatch on their own). Rust never contracts a·b + c into an FMA by itself, so both versions give identical
/// results.
macro_rules! simd_dispatch {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty = $inner:ident) => {
        $(#[$doc])*
        fn $name<T: Real>($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx2,fma")]
                unsafe fn avx512<T: Real>($($arg: $ty),*) -> $ret {
                    $inner($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2<T: Real>($($arg: $ty),*) -> $ret {
                    $inner($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512vl")
                    && std::arch::is_x86_feature_detected!("avx512dq")
                {
                    // SAFETY: the CPU supports the enabled features (checked just above).
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU supports the enabled features (checked just above).
                    return unsafe { avx2($($arg),*) };
                }
            }
            $inner($($arg),*)
        }
    };
}

simd_dispatch! {
    /// One chunk of rows of a gradient-matching step.
    fn chunk_dispatch(form: FieldForm, net: &MlpView<'_, T>, z: &[T], target: &[T], rows: usize, scale: T)
        -> MlpGradients<T> = chunk
}

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
    if form == FieldForm::Direct {
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
        FieldForm::Hamiltonian => hamiltonian_chunk(net, z, target, rows, scale),
        FieldForm::Direct => direct_chunk(net, z, target, rows, scale),
    }
}

/// One Adam/AdamW update's constants (see [`adam_update`]).
#[derive(Debug, Clone, Copy)]
pub struct AdamStep {
    /// First-moment decay β₁.
    pub beta1: f64,
    /// Second-moment decay β₂.
    pub beta2: f64,
    /// ε in the denominator.
    pub eps: f64,
    /// Learning rate.
    pub lr: f64,
    /// Factor on the gradient (clipping).
    pub grad_scale: f64,
    /// 1 − β₁ᵗ.
    pub bias1: f64,
    /// 1 − β₂ᵗ.
    pub bias2: f64,
    /// L2 decay added to the gradient (Adam, PyTorch semantics).
    pub coupled_decay: f64,
    /// lr × decoupled decay subtracted from the weights (AdamW).
    pub decoupled_decay: f64,
}

/// One Adam/AdamW step over plain slices, in place, computed in f64 and vectorized: g ← s·g + λθ;
/// m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; θ ← θ − lr·(m/b₁)/(√(v/b₂) + ε) − lr·λ_w·θ.
pub fn adam_update<T: Real>(step: &AdamStep, theta: &mut [T], g: &[T], m: &mut [T], v: &mut [T]) {
    assert!(g.len() == theta.len() && m.len() == theta.len() && v.len() == theta.len(), "one moment per weight");
    adam_dispatch(step, theta, g, m, v)
}

simd_dispatch! {
    /// [`adam_update`]'s loop.
    fn adam_dispatch(step: &AdamStep, theta: &mut [T], g: &[T], m: &mut [T], v: &mut [T]) -> () = adam_loop
}

#[inline(always)]
fn adam_loop<T: Real>(s: &AdamStep, theta: &mut [T], g: &[T], m: &mut [T], v: &mut [T]) {
    let n = theta.len();
    let (theta, g, m, v) = (&mut theta[..n], &g[..n], &mut m[..n], &mut v[..n]);
    for j in 0..n {
        let th = theta[j].as_f64();
        let gj = g[j].as_f64() * s.grad_scale + s.coupled_decay * th;
        let mj = s.beta1 * m[j].as_f64() + (1.0 - s.beta1) * gj;
        let vj = s.beta2 * v[j].as_f64() + (1.0 - s.beta2) * gj * gj;
        let update = (mj / s.bias1) / ((vj / s.bias2).sqrt() + s.eps);
        theta[j] = T::of(th - s.lr * update - s.decoupled_decay * th);
        m[j] = T::of(mj);
        v[j] = T::of(vj);
    }
}

/// A strided view of a matrix, for [`matmul`].
#[derive(Clone, Copy)]
pub struct Mat<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl<'a, T> Mat<'a, T> {
    /// A row-major `rows × cols` matrix (the first `rows·cols` entries of `data`).
    pub fn new(data: &'a [T], rows: usize, cols: usize) -> Self {
        assert!(data.len() >= rows * cols, "matrix view out of bounds");
        Self { data, rows, cols, rs: cols, cs: 1 }
    }

    /// The transpose (a view, nothing is copied).
    pub fn t(self) -> Self {
        Self { data: self.data, rows: self.cols, cols: self.rows, rs: self.cs, cs: self.rs }
    }
}

/// dst (`a.rows × b.cols`, row-major) = a·b, or += a·b with `accumulate`, on the calling
/// thread (gemm's runtime-dispatched SIMD kernels). Panics if a view exceeds its slice.
pub fn matmul<T: Real>(dst: &mut [T], a: Mat<'_, T>, b: Mat<'_, T>, accumulate: bool) {
    assert_eq!(a.cols, b.rows, "inner dimensions");
    let (m, n, k) = (a.rows, b.cols, a.cols);
    assert!(dst.len() >= m * n, "destination out of bounds");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(T::default());
        }
        return;
    }
    // Every index the kernel reads lies inside its slice.
    assert!((m - 1) * a.rs + (k - 1) * a.cs < a.data.len(), "lhs out of bounds");
    assert!((k - 1) * b.rs + (n - 1) * b.cs < b.data.len(), "rhs out of bounds");
    let (sa, sb) = (Operand { data: a.data, rs: a.rs, cs: a.cs }, Operand { data: b.data, rs: b.rs, cs: b.cs });
    if small_matmul(dst, (m, n, k), sa, sb, accumulate) {
        return;
    }
    // SAFETY: the bounds of all three matrices were checked above; `dst` is exclusively borrowed
    // and cannot alias the shared `a` and `b`; T is f32 or f64, both supported by gemm.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            T::of(1.0),
            T::of(1.0),
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Adds the column sums of a `rows × cols` row-major matrix to `dst` (`cols` long).
#[inline(always)]
pub fn add_column_sums<T: Real>(dst: &mut [T], m: &[T], cols: usize) {
    for row in m.chunks_exact(cols) {
        for (d, x) in dst.iter_mut().zip(row) {
            *d += *x;
        }
    }
}

/// Per-layer values of the forward pass: `act[k]` = σ(u_k) for hidden layers k = 1…h (act[0] is
/// the input), `d1[k]` = σ′(u_k) and, when asked, `d2[k]` = σ″(u_k).
struct Forward<T> {
    act: Vec<Vec<T>>,
    d1: Vec<Vec<T>>,
    d2: Vec<Vec<T>>,
}

#[inline(always)]
fn forward_pass<T: Real>(net: &MlpView<'_, T>, z: &[T], rows: usize, second: bool) -> Forward<T> {
    let widths = net.widths;
    let hidden = widths.len() - 2;
    let mut f = Forward { act: vec![z.to_vec()], d1: vec![vec![]], d2: vec![vec![]] };
    for k in 1..=hidden {
        let (win, wout) = (widths[k - 1], widths[k]);
        let mut u = vec![T::default(); rows * wout];
        let w = match net.transposed.get(k - 1) {
            Some(wt) if rows <= crate::small_gemm::MAX_ROWS => Mat::new(wt, win, wout),
            _ => Mat::new(net.weights[k - 1], wout, win).t(),
        };
        matmul(&mut u, Mat::new(&f.act[k - 1], rows, win), w, false);
        let mut d1 = vec![T::default(); rows * wout];
        let mut d2 = if second { vec![T::default(); rows * wout] } else { vec![] };
        activate(net.activation, &mut u, net.biases[k - 1], &mut d1, second.then_some(&mut d2[..]));
        f.act.push(u);
        f.d1.push(d1);
        f.d2.push(d2);
    }
    f
}

/// The network's output (the last, bias-free layer on the last hidden activations), `[rows, out]`.
#[inline(always)]
fn output_layer<T: Real>(net: &MlpView<'_, T>, fw: &Forward<T>, rows: usize) -> Vec<T> {
    let widths = net.widths;
    let hidden = widths.len() - 2;
    let out = widths[hidden + 1];
    let mut y = vec![T::default(); rows * out];
    matmul(
        &mut y,
        Mat::new(&fw.act[hidden], rows, widths[hidden]),
        Mat::new(net.weights[hidden], out, widths[hidden]).t(),
        false,
    );
    y
}

/// In place: u ← σ(u + b) row by row, with σ′ (and σ″) into `d1` (and `d2`).
#[inline(always)]
fn activate<T: Real>(act: Activation, u: &mut [T], bias: &[T], d1: &mut [T], d2: Option<&mut [T]>) {
    for row in u.chunks_exact_mut(bias.len()) {
        for (x, b) in row.iter_mut().zip(bias) {
            *x += *b;
        }
    }
    let n = u.len();
    let (d1, mut d2) = (&mut d1[..n], d2.map(|d| &mut d[..n]));
    let one = T::of(1.0);
    let half = T::of(0.5);
    if act == Activation::Tanh {
        // The common case, in simple passes that vectorize: tanh, then σ′ = 1 − s², σ″ = −2sσ′.
        T::tanh_in_place(u);
        for (s1, s) in d1.iter_mut().zip(u.iter()) {
            *s1 = one - *s * *s;
        }
        if let Some(d2) = d2 {
            for ((s2, s1), s) in d2.iter_mut().zip(d1.iter()).zip(u.iter()) {
                *s2 = T::of(-2.0) * *s * *s1;
            }
        }
        return;
    }
    let sigmoid = move |x: T| half + half * (half * x).tanh();
    let derivatives = move |x: T| -> (T, T, T) {
        match act {
            Activation::Tanh => unreachable!("handled above"),
            Activation::Softplus => {
                let relu = if x > T::default() { x } else { T::default() };
                let s = sigmoid(x);
                (relu + (-(x.abs())).exp().ln_1p(), s, s * (one - s))
            }
            Activation::Sin => {
                let s = x.sin();
                (s, x.cos(), -s)
            }
            Activation::Silu => {
                let s = sigmoid(x);
                let a = x * s;
                let ds = s * (one - s);
                (a, s + a * (one - s), ds * (T::of(2.0) + x * (one - T::of(2.0) * s)))
            }
            Activation::Gelu => {
                let cdf = half + half * (x * T::of(std::f64::consts::FRAC_1_SQRT_2)).erf();
                let pdf = (T::of(-0.5) * x * x).exp() * T::of(1.0 / (2.0 * std::f64::consts::PI).sqrt());
                (x * cdf, cdf + x * pdf, pdf * (T::of(2.0) - x * x))
            }
            Activation::Relu => {
                if x > T::default() {
                    (x, one, T::default())
                } else {
                    (T::default(), T::default(), T::default())
                }
            }
        }
    };
    for i in 0..n {
        let (s, s1, s2) = derivatives(u[i]);
        u[i] = s;
        d1[i] = s1;
        if let Some(d2) = d2.as_deref_mut() {
            d2[i] = s2;
        }
    }
}

/// One chunk of rows of an HNN: sum of squared errors and gradients of scale·Σ(error²)/2.
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
