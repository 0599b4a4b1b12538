//! The thermostat's statistics: BAOAB samples of the true double well agree with its exact
//! Boltzmann position marginal by the Kolmogorov–Smirnov test at the effective sample size,
//! and samples of a deliberately wrong H (one harmonic well) are rejected by the same test;
//! crossings and autocorrelation times on series whose answers are known.

use candle_core::DType;
use hnn_systems::{DoubleWell, HarmonicOscillator};
use hnn_train::thermostat::{autocorrelation_time, crossings, sample, ExactMarginal, ThermostatConfig};

fn config() -> ThermostatConfig {
    ThermostatConfig {
        temperatures: vec![0.5],
        gamma: 1.0,
        dt: 0.05,
        walkers: 128,
        start: 1.0,
        burn_in: 200,
        steps: 8000,
        record_every: 20,
        threshold: 0.5,
        bins: 40,
    }
}

#[test]
fn true_samples_pass_and_a_wrong_hamiltonians_fail_the_same_test() {
    let cfg = config();
    cfg.validate().unwrap();
    let truth = DoubleWell::new(1.0, 1.0, 1.0);
    let exact = ExactMarginal::new(&truth, 0.5).unwrap();
    // The exact marginal is symmetric with its median at 0.
    assert!((exact.cdf(0.0) - 0.5).abs() < 1e-9);
    let (good, positions) = sample(&cfg, &truth, DType::F64, &exact, 0.5, 11).unwrap();
    assert_eq!(positions.len(), 128 * 400);
    assert!((good.mass - 1.0).abs() < 1e-9, "the mass read off T = p²/2: {}", good.mass);
    assert!(good.effective_samples > 500.0 && good.effective_samples <= positions.len() as f64);
    // 99.9% level of the KS test: 1.95/√n_eff.
    let bound = 1.95 / good.effective_samples.sqrt();
    assert!(good.ks_distance < bound, "true H: KS {} ≥ {bound} (n_eff {})", good.ks_distance, good.effective_samples);
    assert!(good.crossing_rate > 0.0, "at kT = 0.5 walkers cross the barrier of height 1");
    // One harmonic well with the double well's curvature at q = 1: no barrier, wrong marginal.
    let wrong = HarmonicOscillator::new(1.0, 8.0, 1.0);
    let (bad, _) = sample(&cfg, &wrong, DType::F64, &exact, 0.5, 11).unwrap();
    let bound = 1.95 / bad.effective_samples.sqrt();
    assert!(bad.ks_distance > 10.0 * bound, "wrong H: KS {} vs {bound}", bad.ks_distance);
    assert_eq!(bad.crossing_rate, 0.0, "a single well has no barrier to cross");
}

#[test]
fn crossings_and_autocorrelation_on_known_series() {
    // One walker going −1, 0, +1, +0.2, −1, −1: two committed crossings (0 and +0.2 in between
    // do not count); a second walker staying put: none.
    let series: Vec<Vec<f64>> = [[-1.0, 1.0], [0.0, 1.0], [1.0, 1.0], [0.2, 1.0], [-1.0, 1.0], [-1.0, 1.0]]
        .iter()
        .map(|r| r.to_vec())
        .collect();
    assert_eq!(crossings(&series, 0.5), 2);
    // An AR(1) series x_k = φx_{k−1} + ε has τ = (1 + φ)/(1 − φ): 3 for φ = 0.5.
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let (walkers, records, phi) = (64, 4000, 0.5);
    let mut x = vec![0.0; walkers];
    let mut s = vec![];
    for _ in 0..records {
        for v in x.iter_mut() {
            *v = phi * *v + rng.sample::<f64, _>(rand_distr::StandardNormal);
        }
        s.push(x.clone());
    }
    let tau = autocorrelation_time(&s);
    assert!((tau - 3.0).abs() < 0.3, "τ = {tau}, expected 3");
}

#[test]
fn a_blown_up_run_and_an_untabulable_marginal_are_errors_not_numbers() {
    let truth = DoubleWell::new(1.0, 1.0, 1.0);
    assert!(ExactMarginal::new(&truth, 1e-300).is_err());
    assert!(ExactMarginal::new(&truth, 1e300).is_err(), "no kT so hot that nothing confines");
    let exact = ExactMarginal::new(&truth, 0.5).unwrap();
    let cfg = ThermostatConfig { dt: 5.0, walkers: 8, burn_in: 50, steps: 200, record_every: 10, ..config() };
    let err = sample(&cfg, &truth, DType::F64, &exact, 0.5, 1).unwrap_err().to_string();
    assert!(err.contains("finite") && err.contains("time step"), "{err}");
}

#[test]
fn bad_settings_are_refused_by_name() {
    for (cfg, key) in [
        (ThermostatConfig { temperatures: vec![], ..config() }, "temperatures"),
        (ThermostatConfig { temperatures: vec![-1.0], ..config() }, "temperatures"),
        (ThermostatConfig { walkers: 1, ..config() }, "walkers"),
        (ThermostatConfig { steps: 10, ..config() }, "steps"),
        (ThermostatConfig { dt: 0.0, ..config() }, "dt"),
        (ThermostatConfig { walkers: 1 << 20, steps: 1 << 20, ..config() }, "walkers"),
        (ThermostatConfig { walkers: 100_000, steps: 100_000, record_every: 10_000, ..config() }, "walker steps"),
    ] {
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains(key), "{key}: {err}");
    }
}
