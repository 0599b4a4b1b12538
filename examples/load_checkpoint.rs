//! Loads an hnn checkpoint with candle alone (no hnn crate) and evaluates H(z) and the
//! Hamiltonian vector field J∇H(z), ∇H taken by candle's own (first-order) autograd.
//!
//! `cargo run --release --example load_checkpoint -- runs/spring/0/hnn.safetensors 0.5,0.1`
//!
//! Tensor names (docs/src/formats.md, "Checkpoints"): `hnn.layers.{i}.weight` `[out, in]`, `hnn.layers.{i}.bias` `[out]`;
//! tanh between layers (the activation is recorded in the `hnn` metadata JSON); the last layer
//! has no bias. States are `[batch, 2n]`, q first, then p.

use candle_core::{DType, Device, Result, Tensor, Var};
use candle_nn::VarBuilder;

/// An HNN read from a checkpoint by name.
pub struct PlainHnn {
    layers: Vec<(Tensor, Option<Tensor>)>,
}

impl PlainHnn {
    /// Reads `hnn.layers.*` from `path` (any stored dtype, converted to f64).
    pub fn load(path: &std::path::Path, device: &Device) -> Result<Self> {
        // SAFETY: the file is not modified while mapped.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[path], DType::F64, device)? };
        let vb = vb.pp("hnn").pp("layers");
        let mut layers = vec![];
        let mut i = 0;
        while vb.contains_tensor(&format!("{i}.weight")) {
            let weight = vb.get_unchecked(&format!("{i}.weight"))?;
            let bias = if vb.contains_tensor(&format!("{i}.bias")) {
                Some(vb.get_unchecked(&format!("{i}.bias"))?)
            } else {
                None
            };
            layers.push((weight, bias));
            i += 1;
        }
        if layers.is_empty() {
            candle_core::bail!("{}: no `hnn.layers.0.weight`: not an HNN checkpoint", path.display());
        }
        Ok(Self { layers })
    }

    /// H(z), `[batch]`.
    pub fn energy(&self, z: &Tensor) -> Result<Tensor> {
        let mut a = z.clone();
        for (i, (w, b)) in self.layers.iter().enumerate() {
            a = a.matmul(&w.t()?)?;
            if let Some(b) = b {
                a = a.broadcast_add(b)?;
            }
            if i + 1 < self.layers.len() {
                a = a.tanh()?;
            }
        }
        a.squeeze(1)
    }

    /// J∇H(z) = (∂H/∂p, −∂H/∂q), `[batch, 2n]`.
    pub fn time_derivatives(&self, z: &Tensor) -> Result<Tensor> {
        let z = Var::from_tensor(z)?;
        let grads = self.energy(z.as_tensor())?.sum_all()?.backward()?;
        let g = grads.get(z.as_tensor()).expect("H depends on z").clone();
        let n = g.dims()[1] / 2;
        Tensor::cat(&[g.narrow(1, n, n)?, g.narrow(1, 0, n)?.neg()?], 1)
    }
}

#[allow(dead_code)]
fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: load_checkpoint CHECKPOINT q1,…,p1,…");
        std::process::exit(2);
    }
    let z: Vec<f64> = args[2].split(',').map(|s| s.trim().parse().expect("a number")).collect();
    let model = PlainHnn::load(std::path::Path::new(&args[1]), &Device::Cpu)?;
    let z = Tensor::from_vec(z.clone(), (1, z.len()), &Device::Cpu)?;
    println!("H = {}", model.energy(&z)?.to_vec1::<f64>()?[0]);
    println!("dz/dt = {:?}", model.time_derivatives(&z)?.to_vec2::<f64>()?[0]);
    Ok(())
}
