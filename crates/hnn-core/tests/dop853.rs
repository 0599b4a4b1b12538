//! Adaptive Dormand–Prince 8(5,3) (`EmbeddedPair::Dop853`): the tableau, the order of one step,
//! agreement with scipy's `solve_ivp(method="DOP853")` step for step, and dense output (the
//! backends: `tests/dopri.rs`, for both pairs).

use hnn_core::integrators::dop853::{A, B, C, D, E3, E5};
use hnn_core::integrators::DormandPrince;

#[test]
fn tableau_is_consistent() {
    for (i, row) in A.iter().enumerate() {
        let s: f64 = row.iter().sum();
        assert!((s - C[i]).abs() < 1e-14, "row {i} sums to c ({s} vs {})", C[i]);
        assert!(row[i..].iter().all(|&a| a == 0.0), "row {i} is explicit");
    }
    assert!((B.iter().sum::<f64>() - 1.0).abs() < 1e-14);
    // Error weights are differences of two sets of weights, each summing to 1.
    assert!(E5.iter().sum::<f64>().abs() < 1e-14 && E3.iter().sum::<f64>().abs() < 1e-14);
    assert!(D.iter().flatten().all(|d| d.is_finite()));
}

/// Two unit masses, ż of (q₁, q₂, p₁, p₂) in the plane.
fn kepler(y: &[f64], dy: &mut [f64]) {
    let (dx, dz) = (y[2] - y[0], y[3] - y[1]);
    let r3 = (dx * dx + dz * dz).powf(1.5);
    dy[..4].copy_from_slice(&y[4..8]);
    dy[4] = dx / r3;
    dy[5] = dz / r3;
    dy[6] = -dx / r3;
    dy[7] = -dz / r3;
}

/// Circular orbit of two unit masses at distance 1: angular velocity √2.
fn circular_orbit(t: f64) -> Vec<f64> {
    let w = 2f64.sqrt();
    let v = 0.5 * w;
    let (c, s) = ((w * t).cos(), (w * t).sin());
    vec![0.5 * c, 0.5 * s, -0.5 * c, -0.5 * s, -v * s, v * c, v * s, -v * c]
}

/// Field evaluations and the largest deviation from the circular orbit over 51 output times in
/// [0, 20].
fn circular_run(solver: DormandPrince) -> (usize, f64) {
    let times: Vec<f64> = (0..=50).map(|i| i as f64 * 20.0 / 50.0).collect();
    let mut calls = 0;
    let out = solver
        .solve_slice(
            |y, dy| {
                calls += 1;
                kepler(y, dy)
            },
            &circular_orbit(0.0),
            &times,
        )
        .unwrap();
    let worst = times
        .iter()
        .enumerate()
        .flat_map(|(i, &t)| {
            out[8 * i..8 * i + 8].iter().zip(circular_orbit(t)).map(|(g, e)| (g - e).abs()).collect::<Vec<_>>()
        })
        .fold(0.0, f64::max);
    (calls, worst)
}

#[test]
fn matches_scipy_step_for_step() {
    // scipy 1.x, solve_ivp(fun, (0, 20), circular_orbit(0), t_eval=linspace(0, 20, 51), ...):
    //   DOP853 rtol 1e-9, atol 1e-12: nfev 1307, max deviation 3.974937e-09
    //   DOP853 rtol 1e-6, atol 1e-9:  nfev 626,  max deviation 2.419526e-06
    //   RK45   rtol 1e-9, atol 1e-12: nfev 3410, max deviation 9.998791e-08
    // The same count of field evaluations means the same initial step, the same accepted and
    // rejected steps and the same dense-output stages — except that scipy also builds the dense
    // output (3 evaluations) of a step whose only output time is its own end point (the last
    // step, say), where we take the step's end state: at most two such steps here.
    for (rtol, atol, nfev, deviation) in [(1e-9, 1e-12, 1307, 3.974937e-9), (1e-6, 1e-9, 626, 2.419526e-6)] {
        let (calls, worst) = circular_run(DormandPrince::dop853(rtol, atol));
        let saved = nfev - calls as i64;
        assert!((0..=6).contains(&saved) && saved % 3 == 0, "rtol {rtol}: {calls} field evaluations, scipy {nfev}");
        assert!((worst - deviation).abs() < 0.01 * deviation, "rtol {rtol}: deviation {worst:.6e} vs {deviation:.6e}");
    }
    let (calls, worst) = circular_run(DormandPrince::new(1e-9, 1e-12));
    assert_eq!(calls, 3410, "the 5(4) pair, for comparison");
    assert!((worst - 9.998791e-8).abs() < 0.01 * 9.998791e-8, "{worst:.6e}");
}

/// One step of size h from the eccentric-orbit start (first step forced, tolerance loose enough
/// to accept it), and the state at θ·h from its dense output.
fn one_step(h: f64, theta: f64) -> (Vec<f64>, Vec<f64>) {
    let y0 = [0.5, 0.0, -0.5, 0.0, 0.0, 0.45, 0.0, -0.45];
    let solver = DormandPrince { first_step: Some(h), ..DormandPrince::dop853(1.0, 1.0) };
    let out = solver.solve_slice(kepler, &y0, &[0.0, theta * h, h]).unwrap();
    (out[16..24].to_vec(), out[8..16].to_vec())
}

#[test]
fn one_step_has_order_eight_and_dense_output_order_seven() {
    // Reference: the same problem at rtol 1e-14 (DOP853) — checked against the 5(4) pair.
    let exact = |t: f64| {
        let y0 = [0.5, 0.0, -0.5, 0.0, 0.0, 0.45, 0.0, -0.45];
        let a = DormandPrince::dop853(1e-14, 1e-15).solve_slice(kepler, &y0, &[0.0, t]).unwrap()[8..].to_vec();
        let b = DormandPrince::new(1e-13, 1e-15).solve_slice(kepler, &y0, &[0.0, t]).unwrap()[8..].to_vec();
        let gap = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
        assert!(gap < 1e-11, "references disagree by {gap:.1e}");
        a
    };
    let err = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    let (theta, h) = (0.4, 0.4);
    let (end1, mid1) = one_step(h, theta);
    let (end2, mid2) = one_step(h / 2.0, theta);
    // Local error O(h⁹) of the step: halving h divides it by ~512.
    let ratio = err(&end1, &exact(h)) / err(&end2, &exact(h / 2.0));
    assert!(ratio > 300.0 && ratio < 900.0, "step error ratio {ratio:.0} (expected ~512)");
    // The dense output's local error is O(h⁸): ~256.
    let ratio = err(&mid1, &exact(theta * h)) / err(&mid2, &exact(theta * h / 2.0));
    assert!(ratio > 150.0 && ratio < 450.0, "dense output error ratio {ratio:.0} (expected ~256)");
}
