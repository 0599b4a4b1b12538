//! The optimizer's CPU update: one Adam/AdamW step over plain slices.

use super::real::{simd_dispatch, Real};

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
        theta[j] = T::round_from_f64(th - s.lr * update - s.decoupled_decay * th);
        m[j] = T::round_from_f64(mj);
        v[j] = T::round_from_f64(vj);
    }
}
