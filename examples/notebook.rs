//! The seed notebook "02 • Neural Hamiltonian" in Rust: a neural Hamiltonian learns the
//! harmonic oscillator H = p²/2 + q²/2, first by gradient matching on random samples, then by
//! trajectory matching on 20 observed trajectories (every 50th of 200 steps, fitted through
//! 50-step propagations); each is compared with the truth over 2000 steps from (1, 0).
//! The notebook's `step` is RK4 here, and its network two tanh layers of 16.
//!
//! `cargo run --release --example notebook`

use hnn::prelude::*;
use hnn::systems::HarmonicOscillator;
use rand::{Rng, SeedableRng};

/// `n` states (q, p) uniform in [−amplitude, amplitude]², as the notebook's `sample`.
fn sample(n: usize, amplitude: f64, seed: u64) -> hnn::Result<Tensor> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let v: Vec<f64> = (0..2 * n).map(|_| rng.random_range(-amplitude..amplitude)).collect();
    Ok(Tensor::from_vec(v, (n, 2), &Device::Cpu)?)
}

/// 2000 steps of 0.01 from (1, 0) with the exact and the learned H: the largest |Δq|, |Δp|.
fn compare(exact: &HarmonicOscillator, model: &HnnModel, label: &str) -> hnn::Result<()> {
    let times: Vec<f64> = (0..=2000).map(|k| 0.01 * k as f64).collect();
    let z0 = Tensor::new(&[[1.0f64, 0.0]], &Device::Cpu)?;
    let truth = rollout(exact, &z0, &times, &Solver::fixed(Rk4, 0.01))?;
    let learned = model.rollout(&z0, &times, &Solver::fixed(Rk4, 0.01))?;
    let err = (learned - truth)?.squeeze(1)?.abs()?.max(0)?.to_vec1::<f64>()?;
    println!("{label}: over 2000 steps, max |q error| = {:.3e}, max |p error| = {:.3e}", err[0], err[1]);
    Ok(())
}

fn print_curve(report: &TrainReport, every: usize) {
    for (i, loss) in report.train_curve.iter().enumerate().filter(|(i, _)| *i == 0 || (i + 1) % every == 0) {
        println!("epoch: {:5} | loss: {loss:.5e}", i + 1);
    }
}

fn main() -> hnn::Result<()> {
    let exact = HarmonicOscillator::new(1.0, 1.0, 0.0);
    let config = ModelConfig {
        hidden: vec![16, 16],
        precision: Precision::F64,
        device: DeviceChoice::Cpu,
        ..Default::default()
    };

    // Gradient matching: 10 000 Adam steps at 1e-3, each on 50 samples (drawn from a pool of
    // 500 000 random states in [−1.5, 1.5]² rather than fresh each step), fitted to the true ż.
    let z = sample(500_000, 1.5, 0)?;
    let data = pairs(&z, &exact.time_derivatives(&z)?, 0.0)?;
    let mut gradient = HnnModel::new(&config, 1)?;
    print_curve(&gradient.fit(&data, TrainConfig { steps: 10_000, batch_size: 50, ..Default::default() })?, 500);
    compare(&exact, &gradient, "gradient matching")?;

    // Trajectory matching: 20 starts, 200 steps of 0.01, every 50th kept (t = 0, 0.5, … 2);
    // each observed state is propagated 50 RK4 steps and fitted to the next; 2000 Adam steps.
    let times: Vec<f64> = (0..=4).map(|k| 0.5 * k as f64).collect();
    let observed = rollout(&exact, &sample(20, 1.5, 1)?, &times, &Solver::fixed(Rk4, 0.01))?; // [5, 20, 2]
    let data =
        trajectories_on_grid(&times, &observed, &TrajectoryOptions { test_fraction: 0.0, ..Default::default() })?;
    let mut trajectory = HnnModel::new(&config, 1)?;
    let report =
        trajectory.fit(&data, TrainConfig { steps: 2000, ..TrainConfig::trajectory(IntegratorKind::Rk4, 50) })?;
    print_curve(&report, 100);
    compare(&exact, &trajectory, "trajectory matching")
}
