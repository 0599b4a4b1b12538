//! Adam (PyTorch semantics: weight decay added to the gradient) and AdamW (decoupled weight
//! decay), with state that checkpoints can save and restore.
//!
//! candle-nn's `AdamW` keeps its moment estimates private and has no coupled-L2 variant, so it
//! can neither resume a run exactly nor reproduce the reference's `torch.optim.Adam`.

use crate::error::{Error, Result};
use candle_core::backprop::GradStore;
use candle_core::{DType, Tensor, TensorId, Var, WithDType};
use hnn_core::exec::cpu::{adam_update, AdamStep, Real};
use hnn_core::exec::{LossGradients, MatchingLoss};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Gradients of a loss with respect to (some of) the optimizer's variables, from candle's
/// `backward` or from a fused kernel.
pub enum Gradients {
    /// From `backward`.
    Autograd(GradStore),
    /// Keyed by the parameter tensor's id.
    Direct(HashMap<TensorId, Tensor>),
}

impl Gradients {
    /// Runs `backward` on a scalar loss: (its value, the gradients).
    pub fn backward(loss: &Tensor) -> Result<(f64, Self)> {
        let value = loss.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?;
        Ok((value, Gradients::Autograd(loss.backward()?)))
    }

    /// The gradient of `param`, if the loss depends on it.
    pub fn get(&self, param: &Tensor) -> Option<&Tensor> {
        match self {
            Gradients::Autograd(store) => store.get(param),
            Gradients::Direct(map) => map.get(&param.id()),
        }
    }
}

impl Gradients {
    /// The output of a kernel: (loss, gradients).
    pub fn fused(l: LossGradients) -> (f64, Self) {
        (l.loss, Gradients::Direct(l.params.into_iter().map(|(p, g)| (p.id(), g)).collect()))
    }

    /// (loss, gradients) of a gradient-matching loss, however the execution layer computed it.
    pub fn of_matching(loss: MatchingLoss) -> Result<(f64, Self)> {
        match loss {
            MatchingLoss::Computed(l) => Ok(Self::fused(l)),
            MatchingLoss::Graph(loss) => Self::backward(&loss),
        }
    }
}

/// Adam moments of one CPU variable as plain vectors.
enum CpuMoments {
    F32(Vec<f32>, Vec<f32>),
    F64(Vec<f64>, Vec<f64>),
}

impl CpuMoments {
    fn tensors(&self, shape: &candle_core::Shape, device: &candle_core::Device) -> Result<(Tensor, Tensor)> {
        Ok(match self {
            CpuMoments::F32(m, v) => {
                (Tensor::from_slice(m, shape.clone(), device)?, Tensor::from_slice(v, shape.clone(), device)?)
            }
            CpuMoments::F64(m, v) => {
                (Tensor::from_slice(m, shape.clone(), device)?, Tensor::from_slice(v, shape.clone(), device)?)
            }
        })
    }
}

/// The float types whose moments [`CpuMoments`] holds.
trait CpuMoment: Sized {
    fn wrap(m: Vec<Self>, v: Vec<Self>) -> CpuMoments;
    fn unwrap(c: CpuMoments) -> Option<(Vec<Self>, Vec<Self>)>;
}

macro_rules! cpu_moment {
    ($t:ty, $variant:ident, $other:ident) => {
        impl CpuMoment for $t {
            fn wrap(m: Vec<Self>, v: Vec<Self>) -> CpuMoments {
                CpuMoments::$variant(m, v)
            }
            fn unwrap(c: CpuMoments) -> Option<(Vec<Self>, Vec<Self>)> {
                match c {
                    CpuMoments::$variant(m, v) => Some((m, v)),
                    CpuMoments::$other(..) => None,
                }
            }
        }
    };
}
cpu_moment!(f32, F32, F64);
cpu_moment!(f64, F64, F32);

/// The per-step quantities of an update.
#[derive(Clone, Copy)]
struct Hyper {
    lr: f64,
    grad_scale: f64,
    bias1: f64,
    bias2: f64,
}

/// Which update rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    /// Adam with L2 weight decay added to the gradient (`torch.optim.Adam`, the reference).
    #[default]
    Adam,
    /// AdamW: weight decay applied to the weights, decoupled from the moments.
    AdamW,
}

/// Adam/AdamW over named variables.
pub struct Optimizer {
    kind: OptimizerKind,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    vars: Vec<(String, Var)>,
    m: Vec<Option<Tensor>>,
    v: Vec<Option<Tensor>>,
    /// The moments of CPU variables, kept as plain vectors between steps (then `m`/`v` are
    /// `None`); turned into tensors only for [`Optimizer::state`].
    cpu: Vec<Option<CpuMoments>>,
    step: usize,
}

impl Optimizer {
    /// A new optimizer (β = (0.9, 0.999), ε = 1e-8, as PyTorch).
    pub fn new(kind: OptimizerKind, vars: Vec<(String, Var)>, weight_decay: f64) -> Self {
        let n = vars.len();
        Self {
            kind,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
            vars,
            m: vec![None; n],
            v: vec![None; n],
            cpu: (0..n).map(|_| None).collect(),
            step: 0,
        }
    }

    /// Number of updates taken.
    pub fn steps_taken(&self) -> usize {
        self.step
    }

    /// Global L2 norm of the gradients present in `grads`.
    pub fn grad_norm(&self, grads: &Gradients) -> Result<f64> {
        let mut sq = 0.0;
        for (_, var) in &self.vars {
            if let Some(g) = grads.get(var.as_tensor()) {
                sq += g.to_dtype(candle_core::DType::F64)?.sqr()?.sum_all()?.to_scalar::<f64>()?;
            }
        }
        Ok(sq.sqrt())
    }

    /// One update with learning rate `lr`; gradients are multiplied by `grad_scale` first
    /// (for clipping). Variables without a gradient are left alone (as PyTorch).
    pub fn step(&mut self, grads: &Gradients, lr: f64, grad_scale: f64) -> Result<()> {
        self.step += 1;
        let t = self.step as i32;
        let h = Hyper { lr, grad_scale, bias1: 1.0 - self.beta1.powi(t), bias2: 1.0 - self.beta2.powi(t) };
        for i in 0..self.vars.len() {
            let var = self.vars[i].1.clone();
            let Some(g) = grads.get(var.as_tensor()) else { continue };
            match (var.device().is_cpu(), var.dtype()) {
                (true, DType::F32) => self.update_cpu::<f32>(i, &var, g, h)?,
                (true, DType::F64) => self.update_cpu::<f64>(i, &var, g, h)?,
                #[cfg(feature = "cuda")]
                (false, DType::F32 | DType::F64) if var.device().is_cuda() => self.update_cuda(i, &var, g, h)?,
                _ => self.update_tensor(i, &var, g, h)?,
            }
        }
        Ok(())
    }

    /// One variable's update in one fused CUDA kernel (f32/f64): `[θ′; m′; v′]` at once.
    #[cfg(feature = "cuda")]
    fn update_cuda(&mut self, i: usize, var: &Var, g: &Tensor, h: Hyper) -> Result<()> {
        let theta = var.as_tensor();
        let moments = match (&self.m[i], &self.v[i]) {
            (Some(m), Some(v)) => Some(Tensor::stack(&[m.flatten_all()?, v.flatten_all()?], 0)?),
            _ => None,
        };
        let update = hnn_core::exec::cuda::AdamUpdate {
            lr: h.lr,
            betas: (self.beta1, self.beta2),
            bias_corrections: (h.bias1, h.bias2),
            eps: self.eps,
            weight_decay: self.weight_decay,
            decoupled: self.kind == OptimizerKind::AdamW,
            grad_scale: h.grad_scale,
        };
        let out = hnn_core::exec::cuda::adam(theta, g, moments.as_ref(), update)?;
        let shape = theta.shape();
        var.set(&out.get(0)?.reshape(shape)?)?;
        self.m[i] = Some(out.get(1)?.reshape(shape)?);
        self.v[i] = Some(out.get(2)?.reshape(shape)?);
        Ok(())
    }

    /// One variable's update with tensor ops (any device and dtype).
    fn update_tensor(&mut self, i: usize, var: &Var, g: &Tensor, h: Hyper) -> Result<()> {
        let (b1, b2) = (self.beta1, self.beta2);
        let Hyper { lr, grad_scale, bias1, bias2 } = h;
        let theta = var.as_tensor();
        let mut g = if grad_scale != 1.0 { (g * grad_scale)? } else { g.clone() };
        if self.kind == OptimizerKind::Adam && self.weight_decay != 0.0 {
            g = (g + (theta * self.weight_decay)?)?;
        }
        let m = match &self.m[i] {
            Some(m) => ((m * b1)? + (&g * (1.0 - b1))?)?,
            None => (&g * (1.0 - b1))?,
        };
        let v = match &self.v[i] {
            Some(v) => ((v * b2)? + (g.sqr()? * (1.0 - b2))?)?,
            None => (g.sqr()? * (1.0 - b2))?,
        };
        let denom = ((&v / bias2)?.sqrt()? + self.eps)?;
        let update = ((&m / bias1)? / denom)?;
        let mut next = (theta - (update * lr)?)?;
        if self.kind == OptimizerKind::AdamW && self.weight_decay != 0.0 {
            next = (next - (theta * (lr * self.weight_decay))?)?;
        }
        var.set(&next)?;
        // Detach: gradients from `backward` still reference the autograd graph, and a moment
        // built from them would keep every step's graph alive (memory grows without bound).
        self.m[i] = Some(m.detach());
        self.v[i] = Some(v.detach());
        Ok(())
    }

    /// The same update as [`Optimizer::step`] for one CPU variable, in one pass over plain
    /// slices (computed in f64) instead of a dozen tensor ops with their temporaries.
    fn update_cpu<T: Real + WithDType + CpuMoment>(&mut self, i: usize, var: &Var, g: &Tensor, h: Hyper) -> Result<()> {
        let flat = |t: &Tensor| -> Result<Vec<T>> { Ok(t.flatten_all()?.to_dtype(T::DTYPE)?.to_vec1::<T>()?) };
        let theta = flat(var.as_tensor())?;
        let g = flat(g)?;
        let n = theta.len();
        let (mut m, mut v) = match self.cpu[i].take().and_then(T::unwrap) {
            Some(mv) => mv,
            None => {
                let m = match self.m[i].take() {
                    Some(m) => flat(&m)?,
                    None => vec![T::default(); n],
                };
                let v = match self.v[i].take() {
                    Some(v) => flat(&v)?,
                    None => vec![T::default(); n],
                };
                (m, v)
            }
        };
        let wd = self.weight_decay;
        let adam = AdamStep {
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
            lr: h.lr,
            grad_scale: h.grad_scale,
            bias1: h.bias1,
            bias2: h.bias2,
            coupled_decay: if self.kind == OptimizerKind::Adam { wd } else { 0.0 },
            decoupled_decay: if self.kind == OptimizerKind::AdamW { h.lr * wd } else { 0.0 },
        };
        let mut next = theta;
        adam_update(&adam, &mut next, &g, &mut m, &mut v);
        var.set(&Tensor::from_vec(next, var.shape().clone(), var.device())?)?;
        self.cpu[i] = Some(T::wrap(m, v));
        Ok(())
    }

    /// The state as named tensors (`m.<var>`, `v.<var>`) and the step count.
    pub fn state(&self) -> Result<(Vec<(String, Tensor)>, usize)> {
        let mut out = vec![];
        for (i, (name, var)) in self.vars.iter().enumerate() {
            let (m, v) = match &self.cpu[i] {
                Some(c) => {
                    let (m, v) = c.tensors(var.shape(), var.device())?;
                    (Some(m), Some(v))
                }
                None => (self.m[i].clone(), self.v[i].clone()),
            };
            if let Some(m) = m {
                out.push((format!("m.{name}"), m));
            }
            if let Some(v) = v {
                out.push((format!("v.{name}"), v));
            }
        }
        Ok((out, self.step))
    }

    /// Restores a state produced by [`Optimizer::state`].
    pub fn load_state(&mut self, mut tensors: std::collections::HashMap<String, Tensor>, step: usize) -> Result<()> {
        for (i, (name, var)) in self.vars.iter().enumerate() {
            self.cpu[i] = None;
            for (slot, prefix) in [(&mut self.m[i], "m"), (&mut self.v[i], "v")] {
                *slot = match tensors.remove(&format!("{prefix}.{name}")) {
                    Some(t) => {
                        if t.dims() != var.dims() {
                            return Err(Error::Config(format!(
                                "optimizer state {prefix}.{name} has shape {:?}, the variable {:?}",
                                t.dims(),
                                var.dims()
                            )));
                        }
                        Some(t.to_dtype(var.dtype())?.to_device(var.device())?)
                    }
                    None => None,
                };
            }
        }
        self.step = step;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// The slice update used on the CPU equals the tensor update used elsewhere.
    #[test]
    fn cpu_update_matches_tensor_update() {
        for kind in [OptimizerKind::Adam, OptimizerKind::AdamW] {
            let init: Vec<f64> = (0..37).map(|i| (i as f64 * 0.37).sin()).collect();
            let make = || Var::from_tensor(&Tensor::from_vec(init.clone(), 37, &Device::Cpu).unwrap()).unwrap();
            let (a, b) = (make(), make());
            let mut oa = Optimizer::new(kind, vec![("w".into(), a.clone())], 1e-2);
            let mut ob = Optimizer::new(kind, vec![("w".into(), b.clone())], 1e-2);
            for step in 1..=5i32 {
                let g: Vec<f64> = (0..37).map(|i| ((i * step) as f64 * 0.11).cos()).collect();
                let g = Tensor::from_vec(g, 37, &Device::Cpu).unwrap();
                let t = step;
                let h = Hyper { lr: 1e-2, grad_scale: 0.5, bias1: 1.0 - 0.9f64.powi(t), bias2: 1.0 - 0.999f64.powi(t) };
                oa.update_cpu::<f64>(0, &a, &g, h).unwrap();
                ob.update_tensor(0, &b, &g, h).unwrap();
            }
            let diff = (a.as_tensor() - b.as_tensor()).unwrap().abs().unwrap().max_all().unwrap();
            assert!(diff.to_scalar::<f64>().unwrap() < 1e-14, "{kind:?}");
            let (sa, _) = oa.state().unwrap();
            let (sb, _) = ob.state().unwrap();
            for ((_, x), (_, y)) in sa.iter().zip(&sb) {
                let d = (x - y).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f64>().unwrap();
                assert!(d < 1e-15, "{kind:?} moments differ by {d}");
            }
        }
    }
}
