//! Integrators: order of convergence, long-run energy behaviour, time reversibility,
//! symplecticity of one step, error handling.

mod common;

use candle_core::{DType, Tensor};
use common::*;
use hnn_core::integrators::*;
use hnn_core::{Error, Hamiltonian, Integrator, VectorField};

/// A reference solution: fixed-step Dormand–Prince with a tiny step (global error ~1e-15).
fn reference(field: &dyn VectorField, z0: &Tensor, t: f64) -> Tensor {
    let n = (t / 5e-4).round() as usize;
    DormandPrinceStep.propagate(field, z0, t / n as f64, n).unwrap()
}

/// Global error at time `t` for each step count; returns the fitted order.
fn observed_order(
    integrator: &dyn Integrator,
    field: &dyn VectorField,
    z0: &Tensor,
    t: f64,
    counts: &[usize],
) -> (f64, Vec<f64>) {
    let exact = reference(field, z0, t);
    let mut dts = vec![];
    let mut errs = vec![];
    for &n in counts {
        let dt = t / n as f64;
        let z = integrator.propagate(field, z0, dt, n).unwrap();
        dts.push(dt);
        errs.push(max_abs_diff(&z, &exact));
    }
    (loglog_slope(&dts, &errs), errs)
}

fn start(rows_: &[Vec<f64>]) -> Tensor {
    tensor(rows_, DType::F64)
}

#[test]
fn order_of_convergence_separable_schemes() {
    let z0 = start(&[vec![1.0, 0.3], vec![-2.0, 0.5]]);
    let cases: Vec<(Box<dyn Integrator>, Vec<usize>)> = vec![
        (Box::new(Euler), vec![100, 200, 400, 800]),
        (Box::new(SymplecticEuler), vec![100, 200, 400, 800]),
        (Box::new(Leapfrog), vec![20, 40, 80, 160]),
        (Box::new(Yoshida4), vec![10, 20, 40, 80]),
        (Box::new(Yoshida6), vec![8, 16, 32, 64]),
        (Box::new(Yoshida8), vec![12, 24, 48, 96]),
        (Box::new(Rk4), vec![10, 20, 40, 80]),
        (Box::new(DormandPrinceStep), vec![40, 80, 160, 320]),
        (Box::new(ImplicitMidpoint { tolerance: Some(1e-15), max_iterations: 200 }), vec![20, 40, 80, 160]),
        (Box::new(Tao { omega: 20.0 }), vec![200, 400, 800, 1600]),
    ];
    for (integrator, counts) in cases {
        let (slope, errs) = observed_order(integrator.as_ref(), &Pendulum, &z0, 2.0, &counts);
        let k = integrator.order() as f64;
        assert!(
            (slope - k).abs() < 0.3,
            "{}: fitted order {slope:.3}, expected {k} (errors {})",
            integrator.name(),
            fmt(&errs)
        );
    }
}

#[test]
fn order_of_convergence_non_separable_schemes() {
    let z0 = start(&[vec![0.7, -0.4], vec![0.1, 1.1]]);
    let cases: Vec<(Box<dyn Integrator>, Vec<usize>)> = vec![
        (Box::new(ImplicitMidpoint { tolerance: Some(1e-15), max_iterations: 200 }), vec![20, 40, 80, 160]),
        (Box::new(Tao { omega: 20.0 }), vec![200, 400, 800, 1600]),
        (Box::new(Rk4), vec![10, 20, 40, 80]),
    ];
    for (integrator, counts) in cases {
        let (slope, errs) = observed_order(integrator.as_ref(), &NonSeparable, &z0, 1.0, &counts);
        let k = integrator.order() as f64;
        assert!(
            (slope - k).abs() < 0.3,
            "{}: fitted order {slope:.3}, expected {k} (errors {})",
            integrator.name(),
            fmt(&errs)
        );
    }
}

fn fmt(v: &[f64]) -> String {
    v.iter().map(|e| format!("{e:.3e}")).collect::<Vec<_>>().join(", ")
}

/// |H(z_t) − H(z_0)| over a long run, sampled every `every` steps.
fn energy_errors(
    integrator: &dyn Integrator,
    h: &dyn Hamiltonian,
    field: &dyn VectorField,
    z0: &Tensor,
    dt: f64,
    steps: usize,
    every: usize,
) -> Vec<f64> {
    let e0 = h.energy(z0).unwrap().to_vec1::<f64>().unwrap()[0];
    let mut s = integrator.lift(z0).unwrap();
    let mut samples = Vec::with_capacity(steps / every);
    for i in 1..=steps {
        s = integrator.step(field, &s, dt).unwrap();
        if i % every == 0 {
            samples.push(integrator.project(&s).unwrap());
        }
    }
    let all = Tensor::cat(&samples, 0).unwrap();
    h.energy(&all).unwrap().to_vec1::<f64>().unwrap().iter().map(|e| (e - e0).abs()).collect()
}

fn max_of(v: &[f64]) -> f64 {
    v.iter().cloned().fold(0.0, f64::max)
}

#[test]
fn symplectic_schemes_keep_energy_error_bounded_over_1e5_steps() {
    let osc = Oscillator { m: 1.0, k: 1.0, n: 1 };
    let z0 = start(&[vec![1.0, 0.0]]);
    let steps = 100_000;
    let cases: Vec<(Box<dyn Integrator>, f64, f64)> = vec![
        // (integrator, dt, bound on |ΔH| from the modified-Hamiltonian theory, with margin)
        (Box::new(SymplecticEuler), 0.05, 0.05),
        (Box::new(Leapfrog), 0.1, 0.01),
        (Box::new(Yoshida4), 0.1, 1e-4),
        (Box::new(Yoshida6), 0.1, 1e-6),
        (Box::new(Yoshida8), 0.1, 1e-8),
        (Box::new(ImplicitMidpoint::default()), 0.1, 0.01),
        (Box::new(Tao { omega: 20.0 }), 0.01, 0.01),
    ];
    for (integrator, dt, bound) in cases {
        let errs = energy_errors(integrator.as_ref(), &osc, &osc, &z0, dt, steps, 100);
        let tenth = errs.len() / 10;
        let early = max_of(&errs[..tenth]);
        let late = max_of(&errs[errs.len() - tenth..]);
        assert!(
            max_of(&errs) < bound,
            "{}: max |ΔH| {:.2e} over {steps} steps exceeds {bound:.0e}",
            integrator.name(),
            max_of(&errs)
        );
        // No drift: the last tenth of the run is no worse than the first tenth.
        // (1e-9 is round-off level: implicit midpoint conserves quadratic H exactly.)
        assert!(late < 1.5 * early + 1e-9, "{}: |ΔH| grew from {early:.3e} to {late:.3e}", integrator.name());
    }
    // On the (nonlinear) pendulum the energy error is a genuine O(dt²) oscillation: bounded.
    let z0 = start(&[vec![2.0, 0.0]]);
    for integrator in [&Leapfrog as &dyn Integrator, &ImplicitMidpoint::default()] {
        let errs = energy_errors(integrator, &Pendulum, &Pendulum, &z0, 0.1, steps, 100);
        let tenth = errs.len() / 10;
        let (early, late) = (max_of(&errs[..tenth]), max_of(&errs[errs.len() - tenth..]));
        assert!(early > 1e-4 && early < 0.05, "{}: pendulum |ΔH| {early:.2e}", integrator.name());
        assert!(late < 1.1 * early, "{}: pendulum |ΔH| grew from {early:.3e} to {late:.3e}", integrator.name());
    }
}

#[test]
fn rk4_energy_drifts_linearly() {
    // RK4 on the oscillator loses energy at a constant rate per step (|R(i·dt)| < 1): the error
    // after 10⁵ steps is twice the error after 5·10⁴, where a symplectic scheme stays bounded.
    let osc = Oscillator { m: 1.0, k: 1.0, n: 1 };
    let z0 = start(&[vec![1.0, 0.0]]);
    let errs = energy_errors(&Rk4, &osc, &osc, &z0, 0.1, 100_000, 1000);
    let (half, end) = (errs[errs.len() / 2 - 1], errs[errs.len() - 1]);
    let ratio = end / half;
    assert!((ratio - 2.0).abs() < 0.05, "RK4 energy error ratio {ratio:.3} (half {half:.3e}, end {end:.3e})");
    // It grows monotonically, and exceeds the bounded leapfrog error at the same dt by the end.
    assert!(errs.windows(2).all(|w| w[1] >= w[0]));
    let leapfrog = energy_errors(&Yoshida4, &osc, &osc, &z0, 0.1, 100_000, 1000);
    assert!(end > 10.0 * max_of(&leapfrog), "RK4 {end:.3e} vs Yoshida {:.3e}", max_of(&leapfrog));
}

#[test]
fn leapfrog_and_implicit_midpoint_are_time_reversible() {
    let z0 = start(&[vec![0.3, -0.2, 0.1, 0.25], vec![-0.1, 0.2, 0.3, 0.0]]);
    let midpoint = ImplicitMidpoint { tolerance: Some(1e-15), max_iterations: 200 };
    let cases: Vec<(&dyn Integrator, &dyn VectorField)> = vec![
        (&Leapfrog, &HenonHeiles),
        (&Yoshida4, &HenonHeiles),
        (&Yoshida6, &HenonHeiles),
        (&Yoshida8, &HenonHeiles),
        (&midpoint, &HenonHeiles),
    ];
    for (integrator, field) in cases {
        let forward = integrator.propagate(field, &z0, 0.05, 1000).unwrap();
        let back = integrator.propagate(field, &forward, -0.05, 1000).unwrap();
        let err = max_abs_diff(&back, &z0);
        assert!(err < 1e-10, "{}: returned with error {err:.2e}", integrator.name());
    }
    let z1 = start(&[vec![0.7, -0.4]]);
    let forward = midpoint.propagate(&NonSeparable, &z1, 0.02, 500).unwrap();
    let back = midpoint.propagate(&NonSeparable, &forward, -0.02, 500).unwrap();
    assert!(max_abs_diff(&back, &z1) < 1e-10);
    // RK4 is not reversible: the same round trip misses by far more.
    let forward = Rk4.propagate(&HenonHeiles, &z0, 0.05, 1000).unwrap();
    let back = Rk4.propagate(&HenonHeiles, &forward, -0.05, 1000).unwrap();
    assert!(max_abs_diff(&back, &z0) > 1e-9);
}

/// Jacobian of a map on `[1, d]` states by central differences, all perturbations in one batch.
fn jacobian(map: &dyn Fn(&Tensor) -> Tensor, z: &[f64], eps: f64) -> Vec<Vec<f64>> {
    let d = z.len();
    let mut batch = vec![];
    for j in 0..d {
        for s in [eps, -eps] {
            let mut r = z.to_vec();
            r[j] += s;
            batch.push(r);
        }
    }
    let out = rows(&map(&tensor(&batch, DType::F64)));
    let mut jac = vec![vec![0.0; d]; d];
    for j in 0..d {
        for i in 0..d {
            jac[i][j] = (out[2 * j][i] - out[2 * j + 1][i]) / (2.0 * eps);
        }
    }
    jac
}

/// max |Φ'ᵀ J Φ' − J| for the canonical J with positions first.
fn symplecticity_defect(jac: &[Vec<f64>]) -> f64 {
    let d = jac.len();
    let n = d / 2;
    let j = |a: usize, b: usize| -> f64 {
        if a < n && b == a + n {
            1.0
        } else if a >= n && b + n == a {
            -1.0
        } else {
            0.0
        }
    };
    let mut worst: f64 = 0.0;
    for a in 0..d {
        for b in 0..d {
            let mut s = 0.0;
            for k in 0..d {
                for l in 0..d {
                    s += jac[k][a] * j(k, l) * jac[l][b];
                }
            }
            worst = worst.max((s - j(a, b)).abs());
        }
    }
    worst
}

#[test]
fn one_step_is_symplectic() {
    let z = [0.3, -0.2, 0.1, 0.25];
    let midpoint = ImplicitMidpoint { tolerance: Some(1e-15), max_iterations: 200 };
    let cases: Vec<(&dyn Integrator, &dyn VectorField, &[f64])> = vec![
        (&SymplecticEuler, &HenonHeiles, &z),
        (&Leapfrog, &HenonHeiles, &z),
        (&Yoshida4, &HenonHeiles, &z),
        (&Yoshida6, &HenonHeiles, &z),
        (&Yoshida8, &HenonHeiles, &z),
        (&midpoint, &HenonHeiles, &z),
        (&midpoint, &NonSeparable, &[0.7, -0.4]),
    ];
    for (integrator, field, z) in cases {
        let map = |s: &Tensor| integrator.step(field, s, 0.1).unwrap();
        let defect = symplecticity_defect(&jacobian(&map, z, 1e-5));
        assert!(defect < 1e-8, "{}: ‖Φ'ᵀJΦ' − J‖ = {defect:.2e}", integrator.name());
    }
    // RK4 is not symplectic.
    let map = |s: &Tensor| Rk4.step(&HenonHeiles, s, 0.3).unwrap();
    let defect = symplecticity_defect(&jacobian(&map, &z, 1e-5));
    assert!(defect > 1e-6, "RK4 defect {defect:.2e}");
}

#[test]
fn tao_step_is_symplectic_on_the_extended_phase_space() {
    // Tao's state is (q, p, x, y); its canonical pairs are (q, p) and (x, y), so reorder to
    // positions (q, x) then momenta (p, y) before checking.
    let tao = Tao { omega: 20.0 };
    let perm = [0usize, 2, 1, 3]; // canonical order → Tao order, for n = 1
    let map = |s: &Tensor| {
        let tao_in = Tensor::cat(&perm.iter().map(|&i| s.narrow(1, i, 1).unwrap()).collect::<Vec<_>>(), 1).unwrap();
        let out = tao.step(&NonSeparable, &tao_in, 0.01).unwrap();
        Tensor::cat(&perm.iter().map(|&i| out.narrow(1, i, 1).unwrap()).collect::<Vec<_>>(), 1).unwrap()
    };
    let defect = symplecticity_defect(&jacobian(&map, &[0.7, 0.71, -0.4, -0.39], 1e-5));
    assert!(defect < 1e-8, "Tao: ‖Φ'ᵀJΦ' − J‖ = {defect:.2e}");
}

#[test]
fn integrators_refuse_what_they_cannot_integrate() {
    let z = start(&[vec![0.5, 0.5]]);
    for integrator in [&Leapfrog as &dyn Integrator, &SymplecticEuler, &Yoshida4, &Yoshida6, &Yoshida8] {
        let err = integrator.step(&NonSeparable, &z, 0.1).unwrap_err();
        assert!(matches!(err, Error::NotSeparable { .. }), "{err}");
        assert!(err.to_string().contains("implicit_midpoint"), "{err}");
    }
    // A field without a Hamiltonian.
    struct Rotation;
    impl VectorField for Rotation {
        fn time_derivatives(&self, z: &Tensor) -> hnn_core::Result<Tensor> {
            hnn_core::apply_j(z)
        }
    }
    assert!(matches!(Tao::default().step(&Rotation, &z.clone(), 0.1).unwrap_err(), Error::NotHamiltonian { .. }));
    assert!(matches!(Leapfrog.step(&Rotation, &z, 0.1).unwrap_err(), Error::NotHamiltonian { .. }));
    // ...but implicit midpoint and RK4 integrate any field.
    assert!(ImplicitMidpoint::default().step(&Rotation, &z, 0.1).is_ok());
    assert!(Rk4.step(&Rotation, &z, 0.1).is_ok());
    // Implicit midpoint that cannot converge says so instead of returning a wrong state.
    let stiff = Oscillator { m: 1.0, k: 1e6, n: 1 };
    let err = ImplicitMidpoint { tolerance: None, max_iterations: 20 }.step(&stiff, &z, 0.1).unwrap_err();
    assert!(matches!(err, Error::NoConvergence { .. } | Error::NonFinite(_)), "{err}");
    assert!(err.to_string().contains("implicit midpoint"), "{err}");
}

#[test]
fn integrator_names_round_trip() {
    for (kind, name) in IntegratorKind::ALL {
        assert_eq!(name.parse::<IntegratorKind>().unwrap(), kind);
        assert_eq!(kind.build().name(), name);
    }
    assert!("rk45".parse::<IntegratorKind>().unwrap_err().to_string().contains("leapfrog"));
}

#[test]
fn fixed_step_rollout_hits_the_output_times() {
    let osc = Oscillator { m: 1.0, k: 1.0, n: 1 };
    let z0 = start(&[vec![1.0, 0.0], vec![0.0, 2.0]]);
    let times: Vec<f64> = (0..=20).map(|i| i as f64 * 0.3).collect();
    let traj = rollout(&osc, &z0, &times, &Solver::fixed(Yoshida4, 0.01)).unwrap();
    assert_eq!(traj.dims(), &[21, 2, 2]);
    // Exact: q = q0 cos t + p0 sin t.
    let t_last = *times.last().unwrap();
    let last = rows(&traj.get(20).unwrap());
    assert!((last[0][0] - t_last.cos()).abs() < 1e-8);
    assert!((last[1][0] - 2.0 * t_last.sin()).abs() < 1e-8);
    assert!(rollout(&osc, &z0, &[0.0, 1.0, 0.5], &Solver::fixed(Rk4, 0.1)).is_err());
    assert!(rollout(&osc, &z0, &[0.0, 1.0], &Solver::fixed(Rk4, 0.0)).is_err());
    // Tao carries its extended state through the rollout.
    let traj = rollout(&osc, &z0, &times, &Solver::fixed(Tao::default(), 0.005)).unwrap();
    assert_eq!(traj.dims(), &[21, 2, 2]);
}

#[test]
fn a_rollout_too_large_to_return_is_refused_before_it_starts() {
    let osc = Oscillator { m: 1.0, k: 1.0, n: 1 };
    // 1000 starts × 2 numbers at 200 001 times: 4e8 numbers, above the 1e8 cap.
    let z0 = Tensor::zeros((1000, 2), DType::F64, &candle_core::Device::Cpu).unwrap();
    let times: Vec<f64> = (0..=200_000).map(|i| i as f64 * 1e-3).collect();
    for solver in [Solver::dopri5(1e-6, 1e-6), Solver::fixed(Rk4, 0.1)] {
        let started = std::time::Instant::now();
        let err = rollout_parallel(&osc, &z0, &times, &solver, 2).unwrap_err().to_string();
        assert!(err.contains("more than the cap") && err.contains("200001 output times"), "{err}");
        assert!(started.elapsed().as_secs_f64() < 1.0, "refused only after {:?}", started.elapsed());
    }
    // One trajectory of plain f64s, too: 300 000 times × a state of 1000 numbers.
    let times: Vec<f64> = (0..300_000).map(|i| i as f64).collect();
    let err = DormandPrince::new(1e-6, 1e-6).solve_slice(|_, dy| dy.fill(0.0), &[0.0; 1000], &times).unwrap_err();
    assert!(err.to_string().contains("more than the cap"), "{err}");
    // Too many output times, whatever the width; and just under both caps is fine.
    assert!(check_rollout_size(10_000_001, 1).unwrap_err().to_string().contains("output times"));
    assert!(check_rollout_size(10_000_000, 10).is_ok());
}
