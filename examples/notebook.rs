//! The seed notebook "02 • Neural Hamiltonian" in Rust: a neural Hamiltonian learns the
//! harmonic oscillator H = p²/2 + q²/2, first by gradient matching on random samples, then by
//! trajectory matching on 20 observed trajectories (every 50th of 200 steps, fitted through
//! 50-step propagations); each is compared with the truth over 2000 steps from (1, 0).
//! The notebook's `step` is RK4 here, and its network two tanh layers of 16.
//!
//! `cargo run --release --example notebook [-- FIGURES_DIR]`: with a folder, it also draws
//! `notebook_gradient.png` and `notebook_trajectory.png` there (q and p of the truth and of the
//! learned model over the 2000 steps; `just assets` puts them into the book).

use hnn::prelude::*;
use hnn::systems::HarmonicOscillator;
use hnn::train::plots::{line_chart, Chart, Series};
use rand::{Rng, SeedableRng};
use std::path::Path;

/// `n` states (q, p) uniform in [−amplitude, amplitude]², as the notebook's `sample`.
fn sample(n: usize, amplitude: f64, seed: u64) -> hnn::Result<Tensor> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let v: Vec<f64> = (0..2 * n).map(|_| rng.random_range(-amplitude..amplitude)).collect();
    Ok(Tensor::from_vec(v, (n, 2), &Device::Cpu)?)
}

/// The largest state error of each learned model over the 2000 steps from (1, 0).
pub struct Errors {
    /// Gradient matching's largest |Δq| or |Δp|.
    pub gradient: f64,
    /// Trajectory matching's largest |Δq| or |Δp|.
    pub trajectory: f64,
}

/// 2000 steps of 0.01 from (1, 0) with the exact and the learned H: prints the largest |Δq|
/// and |Δp| and returns the larger, and with a folder draws q(t) and p(t) of both into
/// `FIGURES/notebook_{name}.png`.
fn compare(exact: &HarmonicOscillator, model: &HnnModel, name: &str, figures: Option<&Path>) -> hnn::Result<f64> {
    let times: Vec<f64> = (0..=2000).map(|k| 0.01 * k as f64).collect();
    let z0 = Tensor::new(&[[1.0f64, 0.0]], &Device::Cpu)?;
    let truth = rollout(exact, &z0, &times, &Solver::fixed(Rk4, 0.01))?.squeeze(1)?;
    let learned = model.rollout(&z0, &times, &Solver::fixed(Rk4, 0.01))?.squeeze(1)?;
    let err = (&learned - &truth)?.abs()?.max(0)?.to_vec1::<f64>()?;
    println!("{name} matching: over 2000 steps, max |q error| = {:.3e}, max |p error| = {:.3e}", err[0], err[1]);
    if let Some(dir) = figures {
        let (truth, learned) = (truth.to_vec2::<f64>()?, learned.to_vec2::<f64>()?);
        let curve = |rows: &[Vec<f64>], i: usize| times.iter().zip(rows).map(|(&t, z)| (t, z[i])).collect();
        let mut series = vec![
            Series::new("q, true", curve(&truth, 0), 0),
            Series::new("p, true", curve(&truth, 1), 0),
            Series::new("q, learned", curve(&learned, 0), 1),
            Series::new("p, learned", curve(&learned, 1), 2),
        ];
        series[0].thin = true;
        series[1].thin = true;
        let title = format!("{name} matching: 2000 RK4 steps of 0.01 from (1, 0)");
        let chart = Chart { title: &title, x: "t", y: "q, p", log_y: false, equal_axes: false };
        line_chart(&dir.join(format!("notebook_{name}.png")), &chart, &series)?;
    }
    Ok(err[0].max(err[1]))
}

fn print_curve(report: &TrainReport, every: usize) {
    for (i, loss) in report.train_curve.iter().enumerate().filter(|(i, _)| *i == 0 || (i + 1) % every == 0) {
        println!("epoch: {:5} | loss: {loss:.5e}", i + 1);
    }
}

#[allow(dead_code)] // `tests/docs.rs` calls `run`
fn main() -> hnn::Result<()> {
    let figures = std::env::args_os().nth(1).map(std::path::PathBuf::from);
    let errors = run(figures.as_deref())?;
    println!(
        "largest state error: gradient matching {:.2e}, trajectory matching {:.2e}",
        errors.gradient, errors.trajectory
    );
    Ok(())
}

/// Both halves of the notebook; with a folder, their figures too.
pub fn run(figures: Option<&Path>) -> hnn::Result<Errors> {
    let exact = HarmonicOscillator::new(1.0, 1.0, 0.0);
    let config = ModelConfig {
        hidden: vec![16, 16],
        precision: Precision::F64,
        device: DeviceChoice::Cpu,
        ..Default::default()
    };

    // ANCHOR: gradient
    // Gradient matching: 10 000 Adam steps at 1e-3, each on 50 samples (drawn from a pool of
    // 500 000 random states in [−1.5, 1.5]² rather than fresh each step), fitted to the true ż.
    let z = sample(500_000, 1.5, 0)?;
    let data = pairs(&z, &exact.time_derivatives(&z)?, 0.0)?;
    let mut gradient = HnnModel::new(&config, 1)?;
    print_curve(&gradient.fit(&data, TrainConfig { steps: 10_000, batch_size: 50, ..Default::default() })?, 500);
    let gradient = compare(&exact, &gradient, "gradient", figures)?;
    // ANCHOR_END: gradient

    // ANCHOR: trajectory
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
    let trajectory = compare(&exact, &trajectory, "trajectory", figures)?;
    // ANCHOR_END: trajectory
    Ok(Errors { gradient, trajectory })
}
