//! The BAOAB thermostat: on a harmonic oscillator the sampled ⟨q²⟩ and ⟨p²⟩ are kT/k and m·kT
//! within a stated statistical bound; the O-step is the exact Ornstein–Uhlenbeck transition;
//! γ = 0 is leapfrog; runs are deterministic by seed.

use candle_core::{DType, Device, Tensor};
use hnn_core::langevin::Baoab;
use hnn_core::{Hamiltonian, Integrator};
use rand::SeedableRng;

/// H = p²/2m + kq²/2 as a separable tensor Hamiltonian.
struct Oscillator {
    m: f64,
    k: f64,
}

impl Hamiltonian for Oscillator {
    fn degrees_of_freedom(&self) -> usize {
        1
    }
    fn energy(&self, z: &Tensor) -> hnn_core::Result<Tensor> {
        let (q, p) = hnn_core::split_qp(z)?;
        Ok(((p.sqr()? / (2.0 * self.m))? + (q.sqr()? * (0.5 * self.k))?)?.squeeze(1)?)
    }
    fn grad(&self, z: &Tensor) -> hnn_core::Result<Tensor> {
        let (q, p) = hnn_core::split_qp(z)?;
        hnn_core::join_qp(&(q * self.k)?, &(p / self.m)?)
    }
    fn is_separable(&self) -> bool {
        true
    }
}

fn zeros(walkers: usize) -> Tensor {
    Tensor::zeros((walkers, 2), DType::F64, &Device::Cpu).unwrap()
}

#[test]
fn harmonic_oscillator_samples_match_kt_over_k_and_m_kt() {
    let h = Oscillator { m: 2.0, k: 3.0 };
    let (kt, gamma, dt) = (0.7, 1.0, 0.05);
    let thermostat = Baoab::new(kt, gamma, dt, h.m).unwrap();
    // 4000 independent walkers from rest; after a burn-in of 20/γ, 9 records 5/γ apart. The
    // slowest mode decays as e^(−γt/2), so neighbouring records still correlate (8%): we count
    // the 36 000 records as only half as many independent samples.
    let run = thermostat.run(&h, &zeros(4000), 1200, 100, 7).unwrap();
    let states = run.states.narrow(0, 4, 9).unwrap(); // t = 20 … 60, 9 records (every 5)
    let states = states.reshape(((), 2)).unwrap().to_vec2::<f64>().unwrap();
    let n = states.len() as f64 / 2.0; // at most 2 independent records per walker, conservatively
    let q2: f64 = states.iter().map(|z| z[0] * z[0]).sum::<f64>() / states.len() as f64;
    let p2: f64 = states.iter().map(|z| z[1] * z[1]).sum::<f64>() / states.len() as f64;
    // For a Gaussian, Var(x²) = 2σ⁴: the standard error of ⟨x²⟩ is σ²√(2/n). Bound: 5 of them.
    let (q2_true, p2_true) = (kt / h.k, h.m * kt);
    let se = |s2: f64| s2 * (2.0 / n).sqrt();
    assert!((q2 - q2_true).abs() < 5.0 * se(q2_true), "⟨q²⟩ = {q2}, kT/k = {q2_true} (se {})", se(q2_true));
    // ⟨p²⟩ carries BAOAB's O(h²) bias, (h²k/4m)·m·kT/(…) ≈ 0.1% here, far inside the bound.
    assert!((p2 - p2_true).abs() < 5.0 * se(p2_true), "⟨p²⟩ = {p2}, m·kT = {p2_true} (se {})", se(p2_true));
}

#[test]
fn the_o_step_is_the_exact_ornstein_uhlenbeck_transition() {
    let thermostat = Baoab::new(0.5, 2.0, 0.3, 1.5).unwrap();
    let (c, sigma) = thermostat.ou_coefficients();
    assert_eq!(c, (-0.6f64).exp());
    assert!((sigma * sigma - (1.0 - c * c) * 1.5 * 0.5).abs() < 1e-15);
    let n = 200_000;
    let p0 = Tensor::full(1.2f64, (n, 1), &Device::Cpu).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let p = thermostat.ornstein_uhlenbeck(&p0, &mut rng).unwrap().flatten_all().unwrap().to_vec1::<f64>().unwrap();
    let mean = p.iter().sum::<f64>() / n as f64;
    let var = p.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    // Exact: mean c·p₀, variance (1 − c²)·m·kT. Bounds: 5 standard errors.
    let (m_true, v_true) = (c * 1.2, sigma * sigma);
    assert!((mean - m_true).abs() < 5.0 * (v_true / n as f64).sqrt(), "mean {mean} vs {m_true}");
    assert!((var - v_true).abs() < 5.0 * v_true * (2.0 / n as f64).sqrt(), "variance {var} vs {v_true}");
    // Applied twice it is the transition over 2dt: the process is exactly Markov with e^(−γt).
    let two = Baoab::new(0.5, 2.0, 0.6, 1.5).unwrap().ou_coefficients();
    assert!((two.0 - c * c).abs() < 1e-15);
    assert!((two.1.powi(2) - (c * c * sigma * sigma + sigma * sigma)).abs() < 1e-14);
}

#[test]
fn without_friction_a_step_is_a_leapfrog_step() {
    let h = Oscillator { m: 0.7, k: 1.9 };
    let z0 = Tensor::from_vec(vec![0.3, -0.8, 1.1, 0.2, -0.5, 0.0], (3, 2), &Device::Cpu).unwrap();
    let thermostat = Baoab::new(1.0, 0.0, 0.1, 0.7).unwrap();
    let run = thermostat.run(&h, &z0, 50, 50, 1).unwrap();
    let baoab = run.states.get(1).unwrap();
    let leapfrog = hnn_core::integrators::Leapfrog.propagate(&h, &z0, 0.1, 50).unwrap();
    let diff = (baoab - leapfrog).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap();
    assert!(diff.to_scalar::<f64>().unwrap() < 1e-13);
}

#[test]
fn runs_are_deterministic_by_seed_and_refuse_bad_settings() {
    let h = Oscillator { m: 1.0, k: 1.0 };
    let thermostat = Baoab::new(1.0, 1.0, 0.1, 1.0).unwrap();
    let a = thermostat.run(&h, &zeros(16), 30, 10, 5).unwrap().states.to_vec3::<f64>().unwrap();
    let b = thermostat.run(&h, &zeros(16), 30, 10, 5).unwrap().states.to_vec3::<f64>().unwrap();
    let c = thermostat.run(&h, &zeros(16), 30, 10, 6).unwrap().states.to_vec3::<f64>().unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(a.len(), 4, "the start and every 10th of 30 steps");
    for bad in [(0.0, 1.0, 0.1, 1.0), (1.0, -1.0, 0.1, 1.0), (1.0, 1.0, f64::NAN, 1.0), (1.0, 1.0, 0.1, 0.0)] {
        assert!(Baoab::new(bad.0, bad.1, bad.2, bad.3).is_err(), "{bad:?}");
    }
    // A non-separable Hamiltonian is refused.
    struct Coupled;
    impl Hamiltonian for Coupled {
        fn degrees_of_freedom(&self) -> usize {
            1
        }
        fn energy(&self, z: &Tensor) -> hnn_core::Result<Tensor> {
            Ok(z.sqr()?.sum(1)?)
        }
        fn grad(&self, z: &Tensor) -> hnn_core::Result<Tensor> {
            Ok((z * 2.0)?)
        }
    }
    assert!(thermostat.run(&Coupled, &zeros(2), 1, 1, 0).is_err());
}
