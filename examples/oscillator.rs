//! End-to-end tour of hnn-core on the harmonic oscillator H = p²/2m + k(q − q₀)²/2:
//! integrators compared on the exact system, then a NeuralHamiltonian trained by gradient
//! matching and rolled out with a symplectic integrator.
//!
//! `cargo run --release --example oscillator`

use anyhow::Result;
use candle_core::{DType, Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use hnn::core::integrators::{ImplicitMidpoint, Leapfrog, Rk4, Yoshida4};
use hnn::core::symplectic::{join_qp, split_qp};
use hnn::core::{init, Activation, Hamiltonian, Integrator, NeuralHamiltonian, VectorField};

/// The notebook's harmonic oscillator.
struct HarmonicOscillator {
    m: f64,
    k: f64,
    q0: f64,
}

impl Hamiltonian for HarmonicOscillator {
    fn degrees_of_freedom(&self) -> usize {
        1
    }
    fn energy(&self, z: &Tensor) -> hnn::core::Result<Tensor> {
        let (q, p) = split_qp(z)?;
        let kinetic = (p.sqr()? / (2.0 * self.m))?;
        let potential = ((q - self.q0)?.sqr()? * (0.5 * self.k))?;
        Ok((kinetic + potential)?.sum(1)?)
    }
    fn grad(&self, z: &Tensor) -> hnn::core::Result<Tensor> {
        let (q, p) = split_qp(z)?;
        join_qp(&((q - self.q0)? * self.k)?, &(p / self.m)?)
    }
    fn is_separable(&self) -> bool {
        true
    }
}

fn max_energy_error(
    h: &dyn Hamiltonian,
    field: &dyn VectorField,
    integrator: &dyn Integrator,
    z0: &Tensor,
    dt: f64,
    steps: usize,
) -> Result<f64> {
    let e0 = h.energy(z0)?.to_vec1::<f64>()?[0];
    let mut z = z0.clone();
    let mut worst: f64 = 0.0;
    for _ in 0..steps / 100 {
        z = integrator.propagate(field, &z, dt, 100)?;
        worst = worst.max((h.energy(&z)?.to_vec1::<f64>()?[0] - e0).abs());
    }
    Ok(worst / e0.abs())
}

fn main() -> Result<()> {
    let device = Device::Cpu;
    let exact = HarmonicOscillator { m: 1.0, k: 1.0, q0: 0.0 };
    let z0 = Tensor::new(&[[1.0f64, 0.0]], &device)?;

    println!("Exact oscillator, dt = 0.1, 100 000 steps: max relative energy error");
    let integrators: [&dyn Integrator; 4] = [&Leapfrog, &Yoshida4, &ImplicitMidpoint::default(), &Rk4];
    for integrator in integrators {
        let err = max_energy_error(&exact, &exact, integrator, &z0, 0.1, 100_000)?;
        let kind = if integrator.is_symplectic() { "symplectic, bounded" } else { "drifts" };
        println!("  {:<18} {err:>10.3e}   ({kind})", integrator.name());
    }

    // Gradient matching, as in the notebook: random (q, p) in [−1.5, 1.5]², exact derivatives.
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &device);
    let model = NeuralHamiltonian::new(1, &[64, 64], Activation::Tanh, vb.pp("hnn"))?;
    init::orthogonal_init(&varmap, 0)?;
    let mut opt = AdamW::new(varmap.all_vars(), ParamsAdamW { lr: 1e-3, weight_decay: 0.0, ..Default::default() })?;
    let train_z = (Tensor::rand(-1.5f32, 1.5, (512, 2), &device)?).to_dtype(DType::F32)?;
    let train_dz = exact.time_derivatives(&train_z.to_dtype(DType::F64)?)?.to_dtype(DType::F32)?;
    println!("\nTraining a NeuralHamiltonian (2→64→64→1, tanh) by gradient matching:");
    for step in 1..=3000 {
        let loss = (model.time_derivatives(&train_z)? - &train_dz)?.sqr()?.mean_all()?;
        opt.backward_step(&loss)?;
        if step == 1 || step % 500 == 0 {
            println!("  step {step:>5}  loss {:.3e}", loss.to_scalar::<f32>()?);
        }
    }

    // Roll the learned model out with leapfrog's non-separable cousin, implicit midpoint.
    let steps = 2000;
    let dt = 0.01;
    let z0f = z0.to_dtype(DType::F32)?;
    let learned = ImplicitMidpoint::default().propagate(&model, &z0f, dt, steps)?;
    let truth = Leapfrog.propagate(&exact, &z0, dt, steps)?;
    let err = (learned.to_dtype(DType::F64)? - &truth)?.abs()?.max_all()?.to_scalar::<f64>()?;
    let h_true_learned = exact.energy(&learned.to_dtype(DType::F64)?)?.to_vec1::<f64>()?[0];
    println!("\nAfter {steps} steps of dt = {dt} from (q, p) = (1, 0):");
    println!("  |z_learned − z_true|_max = {err:.3e}");
    println!("  true energy along the learned rollout: {h_true_learned:.5} (exact 0.5)");
    Ok(())
}
