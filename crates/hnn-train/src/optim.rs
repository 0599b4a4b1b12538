//! Adam (PyTorch semantics: weight decay added to the gradient) and AdamW (decoupled weight
//! decay), with state that checkpoints can save and restore.
//!
//! candle-nn's `AdamW` keeps its moment estimates private and has no coupled-L2 variant, so it
//! can neither resume a run exactly nor reproduce the reference's `torch.optim.Adam`.

use crate::error::{Error, Result};
use candle_core::backprop::GradStore;
use candle_core::{Tensor, TensorId, Var};
use hnn_core::LossGradients;
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
    /// The output of a fused kernel: (loss, gradients).
    pub fn fused(l: LossGradients) -> (f64, Self) {
        (l.loss, Gradients::Direct(l.grads.into_iter().map(|(p, g)| (p.id(), g)).collect()))
    }
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
        let (b1, b2) = (self.beta1, self.beta2);
        let bias1 = 1.0 - b1.powi(t);
        let bias2 = 1.0 - b2.powi(t);
        for (i, (_, var)) in self.vars.iter().enumerate() {
            let Some(g) = grads.get(var.as_tensor()) else { continue };
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
        }
        Ok(())
    }

    /// The state as named tensors (`m.<var>`, `v.<var>`) and the step count.
    pub fn state(&self) -> (Vec<(String, Tensor)>, usize) {
        let mut out = vec![];
        for (i, (name, _)) in self.vars.iter().enumerate() {
            if let Some(m) = &self.m[i] {
                out.push((format!("m.{name}"), m.clone()));
            }
            if let Some(v) = &self.v[i] {
                out.push((format!("v.{name}"), v.clone()));
            }
        }
        (out, self.step)
    }

    /// Restores a state produced by [`Optimizer::state`].
    pub fn load_state(&mut self, mut tensors: std::collections::HashMap<String, Tensor>, step: usize) -> Result<()> {
        for (i, (name, var)) in self.vars.iter().enumerate() {
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
