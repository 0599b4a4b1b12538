//! The symplectic matrix, the state layout, and Hamilton's equations on an analytic H.

mod common;

use candle_core::{DType, Device, Tensor};
use common::*;
use hnn_core::symplectic::{apply_j, degrees_of_freedom, symplectic_matrix};
use hnn_core::{Hamiltonian, PhaseSpace, VectorField};

#[test]
fn j_squared_is_minus_identity_and_j_is_antisymmetric() {
    for n in 1..=4 {
        let j = symplectic_matrix(n, DType::F64, &Device::Cpu).unwrap();
        let eye = Tensor::eye(2 * n, DType::F64, &Device::Cpu).unwrap();
        assert_eq!(max_abs_diff(&j.matmul(&j).unwrap(), &eye.neg().unwrap()), 0.0, "J² = −I, n = {n}");
        assert_eq!(max_abs_diff(&j.t().unwrap(), &j.neg().unwrap()), 0.0, "Jᵀ = −J, n = {n}");
    }
}

#[test]
fn apply_j_matches_the_matrix() {
    let g = Tensor::randn(0f64, 1.0, (7, 6), &Device::Cpu).unwrap();
    let j = symplectic_matrix(3, DType::F64, &Device::Cpu).unwrap();
    // Row vectors: (J g)ᵀ = g Jᵀ.
    let expected = g.matmul(&j.t().unwrap()).unwrap();
    assert_eq!(max_abs_diff(&apply_j(&g).unwrap(), &expected), 0.0);
}

#[test]
fn state_layout_is_checked() {
    let odd = Tensor::zeros((3, 3), DType::F32, &Device::Cpu).unwrap();
    let err = degrees_of_freedom(&odd).unwrap_err().to_string();
    assert!(err.contains("[batch, 2n]"), "{err}");
    let flat = Tensor::zeros(4, DType::F32, &Device::Cpu).unwrap();
    assert!(degrees_of_freedom(&flat).is_err());
    assert_eq!(degrees_of_freedom(&Tensor::zeros((5, 8), DType::F32, &Device::Cpu).unwrap()).unwrap(), 4);
}

#[test]
fn hamiltons_equations_on_the_oscillator() {
    // H = p²/2m + k q²/2 ⇒ dq/dt = p/m, dp/dt = −k q.
    let (m, k) = (2.0, 3.0);
    let h = Oscillator { m, k, n: 1 };
    let z = tensor(&[vec![0.5, -1.0], vec![-2.0, 4.0], vec![0.0, 0.0]], DType::F64);
    let field = rows(&h.time_derivatives(&z).unwrap());
    for (row, zr) in field.iter().zip(rows(&z)) {
        assert!((row[0] - zr[1] / m).abs() < 1e-15);
        assert!((row[1] + k * zr[0]).abs() < 1e-15);
    }
    // The (q, p) API gives the same.
    let (q, p) = (z.narrow(1, 0, 1).unwrap(), z.narrow(1, 1, 1).unwrap());
    let (dq, dp) = h.time_derivatives_qp(&q, &p).unwrap();
    assert_eq!(max_abs_diff(&dq, &z.narrow(1, 1, 1).unwrap().affine(1.0 / m, 0.0).unwrap()), 0.0);
    assert_eq!(max_abs_diff(&dp, &z.narrow(1, 0, 1).unwrap().affine(-k, 0.0).unwrap()), 0.0);
    // Energy is conserved by the field: ∇H · J∇H = 0.
    let g = h.grad(&z).unwrap();
    let dot = (g * h.time_derivatives(&z).unwrap()).unwrap().sum_all().unwrap().to_scalar::<f64>().unwrap();
    assert!(dot.abs() < 1e-14);
}

#[test]
fn notebook_style_step_uses_a_symplectic_default() {
    // h.step(q, p, dt) on a separable H is a leapfrog step.
    let h = Oscillator { m: 1.0, k: 1.0, n: 1 };
    let q = tensor(&[vec![1.0]], DType::F64);
    let p = tensor(&[vec![0.0]], DType::F64);
    let (q1, p1) = h.step(&q, &p, 0.1).unwrap();
    // Leapfrog by hand: p½ = −0.05, q' = 1 − 0.005, p' = p½ − 0.05 q'.
    let qe = 1.0 - 0.1 * 0.05;
    let pe = -0.05 - 0.05 * qe;
    assert!((rows(&q1)[0][0] - qe).abs() < 1e-15);
    assert!((rows(&p1)[0][0] - pe).abs() < 1e-15);
}
