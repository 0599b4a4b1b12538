//! The forward pass shared by the training and inference kernels: an MLP's parameters as host
//! slices ([`MlpView`]) and its per-layer activations with σ′ (and σ″).

use super::matmul::{matmul, Mat};
use super::real::Real;
use crate::activation::{Activation, Order};

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
    /// products ([`super::small_gemm`]), which is what rollouts of frozen networks do.
    pub transposed: Vec<&'a [T]>,
    /// Hidden-layer activation.
    pub activation: Activation,
}

/// Per-layer values of the forward pass: `act[k]` = σ(u_k) for hidden layers k = 1…h (act[0] is
/// the input), `d1[k]` = σ′(u_k) and, when asked, `d2[k]` = σ″(u_k).
pub(crate) struct Forward<T> {
    pub(crate) act: Vec<Vec<T>>,
    pub(crate) d1: Vec<Vec<T>>,
    pub(crate) d2: Vec<Vec<T>>,
}

#[inline(always)]
pub(crate) fn forward_pass<T: Real>(net: &MlpView<'_, T>, z: &[T], rows: usize, second: bool) -> Forward<T> {
    let widths = net.widths;
    let hidden = widths.len() - 2;
    let mut f = Forward { act: vec![z.to_vec()], d1: vec![vec![]], d2: vec![vec![]] };
    for k in 1..=hidden {
        let (win, wout) = (widths[k - 1], widths[k]);
        let mut u = vec![T::default(); rows * wout];
        let w = match net.transposed.get(k - 1) {
            Some(wt) if rows <= super::small_gemm::MAX_ROWS => Mat::new(wt, win, wout),
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
pub(crate) fn output_layer<T: Real>(net: &MlpView<'_, T>, fw: &Forward<T>, rows: usize) -> Vec<T> {
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
    let d1 = &mut d1[..n];
    // One loop per activation and order, each with the formula of `Activation::derivatives`
    // inlined for a constant activation, so that every loop compiles to that activation's
    // arithmetic alone (and vectorizes, for tanh).
    macro_rules! each {
        ($($variant:ident),*) => {
            match (act, d2) {
                $(
                    (Activation::$variant, Some(d2)) => {
                        let d2 = &mut d2[..n];
                        for i in 0..n {
                            (u[i], d1[i], d2[i]) = Activation::$variant.at(u[i], Order::Second);
                        }
                    }
                    (Activation::$variant, None) => {
                        for i in 0..n {
                            (u[i], d1[i], _) = Activation::$variant.at(u[i], Order::First);
                        }
                    }
                )*
            }
        };
    }
    each!(Tanh, Softplus, Sin, Silu, Gelu, Relu);
}
