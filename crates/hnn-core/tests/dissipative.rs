//! The dissipative HNN, ż = (J − R)∇H: the conservative part conserves H exactly, the
//! dissipative part never adds energy, its parameter gradients match finite differences, and
//! with R → 0 it is the HNN of the same H.

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use hnn_core::init::orthogonal_init;
use hnn_core::{Activation, DissipativeHamiltonian, Hamiltonian, NeuralHamiltonian, VectorField};

fn model(seed: u64) -> (VarMap, DissipativeHamiltonian) {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F64, &Device::Cpu);
    let m = DissipativeHamiltonian::new(2, &[16, 16], Activation::Tanh, vb).unwrap();
    orthogonal_init(&varmap, seed).unwrap();
    (varmap, m)
}

fn states(seed: u64, batch: usize) -> Tensor {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let v: Vec<f64> = (0..batch * 4).map(|_| rng.random_range(-2.0..2.0)).collect();
    Tensor::from_vec(v, (batch, 4), &Device::Cpu).unwrap()
}

fn rows(t: &Tensor) -> Vec<Vec<f64>> {
    t.to_vec2::<f64>().unwrap()
}

/// ∇H·ż per state.
fn power(grad: &Tensor, field: &Tensor) -> Vec<f64> {
    (grad * field).unwrap().sum(1).unwrap().to_vec1::<f64>().unwrap()
}

#[test]
fn the_conservative_part_conserves_h_and_the_dissipative_part_never_adds_energy() {
    for seed in 0..4 {
        let (_vars, m) = model(seed);
        let z = states(10 + seed, 256);
        let (_, grad) = m.energy().energy_and_grad(&z).unwrap();
        let (conservative, dissipative) = m.parts(&z).unwrap();
        let scale: Vec<f64> = (&grad * &grad).unwrap().sum(1).unwrap().to_vec1::<f64>().unwrap();
        for (p, s) in power(&grad, &conservative).iter().zip(&scale) {
            // ∇Hᵀ J ∇H = 0: exact up to the round-off of a sum of products.
            assert!(p.abs() <= 1e-14 * (1.0 + s), "J∇H·∇H = {p} (|∇H|² = {s})");
        }
        let total = power(&grad, &m.time_derivatives(&z).unwrap());
        let rates = rows(&m.rates(&z).unwrap());
        for ((p, s), r) in power(&grad, &dissipative).iter().zip(&scale).zip(&total) {
            assert!(*p <= 1e-14 * (1.0 + s), "dH/dt from R = {p} > 0");
            assert!(*r <= 1e-13 * (1.0 + s), "dH/dt = {r} > 0");
        }
        assert!(rates.iter().flatten().all(|r| *r > 0.0), "rates are softplus, positive");
    }
}

#[test]
fn the_energy_balance_along_a_rollout_is_the_dissipated_power() {
    // H(z(t)) − H(z(0)) = −∫ ∇HᵀR∇H dt, checked with RK4 and the trapezoid rule.
    let (_vars, m) = model(3);
    let mut z = states(7, 8);
    let dt = 1e-3;
    let h0 = m.energy().energy(&z).unwrap();
    let dissipated = |z: &Tensor| -> Tensor {
        let (_, grad) = m.energy().energy_and_grad(z).unwrap();
        let (_, d) = m.parts(z).unwrap();
        (&grad * d).unwrap().sum(1).unwrap()
    };
    let mut integral = (dissipated(&z) * (0.5 * dt)).unwrap();
    let rk4 = hnn_core::integrators::Rk4;
    for step in 0..200 {
        z = hnn_core::Integrator::propagate(&rk4, &m, &z, dt, 1).unwrap();
        let w = if step == 199 { 0.5 * dt } else { dt };
        integral = (integral + (dissipated(&z) * w).unwrap()).unwrap();
    }
    let change = (m.energy().energy(&z).unwrap() - &h0).unwrap().to_vec1::<f64>().unwrap();
    for (c, i) in change.iter().zip(integral.to_vec1::<f64>().unwrap()) {
        assert!(*c <= 0.0, "H rose by {c}");
        assert!((c - i).abs() < 1e-6 * (1.0 + i.abs()), "ΔH = {c}, ∫ dH/dt = {i}");
    }
}

#[test]
fn parameter_gradients_match_finite_differences() {
    let (varmap, m) = model(1);
    let (z, target) = (states(2, 12), states(3, 12));
    let loss = |m: &DissipativeHamiltonian| -> Tensor {
        (m.time_derivatives(&z).unwrap() - &target).unwrap().sqr().unwrap().mean_all().unwrap()
    };
    let grads = loss(&m).backward().unwrap();
    let data = varmap.data().lock().unwrap();
    let mut names: Vec<_> = data.keys().cloned().collect();
    names.sort();
    let mut checked = 0;
    for name in &names {
        let var: &Var = &data[name];
        let g = grads.get(var.as_tensor()).unwrap().flatten_all().unwrap().to_vec1::<f64>().unwrap();
        let original = var.as_tensor().flatten_all().unwrap().to_vec1::<f64>().unwrap();
        for i in [0, original.len() / 2, original.len() - 1] {
            let eps = 1e-6;
            let at = |delta: f64| -> f64 {
                let mut v = original.clone();
                v[i] += delta;
                var.set(&Tensor::from_vec(v, var.shape(), &Device::Cpu).unwrap()).unwrap();
                loss(&m).to_scalar::<f64>().unwrap()
            };
            let fd = (at(eps) - at(-eps)) / (2.0 * eps);
            var.set(&Tensor::from_vec(original.clone(), var.shape(), &Device::Cpu).unwrap()).unwrap();
            assert!((g[i] - fd).abs() < 1e-6 * (1.0 + fd.abs()), "{name}[{i}]: backward {} vs fd {fd}", g[i]);
            checked += 1;
        }
    }
    assert!(names.iter().any(|n| n.starts_with("damping.")) && names.iter().any(|n| n.starts_with("energy.")));
    assert!(checked >= 12);
}

#[test]
fn with_no_friction_it_is_the_hnn_of_the_same_energy() {
    let (varmap, m) = model(4);
    // Drive the damping network's output to −60 (softplus(−60) ≈ 9e-27): the last hidden layer
    // saturates at tanh(40) = 1 and the output layer (no bias, as the paper's) sums −60.
    {
        let data = varmap.data().lock().unwrap();
        let set = |name: &str, value: f64| {
            let v = data.get(name).unwrap_or_else(|| panic!("no variable {name}"));
            v.set(&Tensor::full(value, v.shape(), &Device::Cpu).unwrap()).unwrap();
        };
        set("damping.layers.1.weight", 0.0);
        set("damping.layers.1.bias", 40.0);
        set("damping.layers.2.weight", -60.0 / 16.0);
    }
    // An HNN reading the same energy weights.
    let hnn_vars = VarMap::new();
    let hnn = NeuralHamiltonian::new(
        2,
        &[16, 16],
        Activation::Tanh,
        VarBuilder::from_varmap(&hnn_vars, DType::F64, &Device::Cpu),
    )
    .unwrap();
    {
        let src = varmap.data().lock().unwrap();
        let dst = hnn_vars.data().lock().unwrap();
        for (name, var) in dst.iter() {
            var.set(src[&format!("energy.{name}")].as_tensor()).unwrap();
        }
    }
    let z = states(5, 64);
    let (a, b) = (m.time_derivatives(&z).unwrap(), hnn.time_derivatives(&z).unwrap());
    let diff = (a - b).unwrap().abs().unwrap().max_keepdim(0).unwrap().max(1).unwrap().to_vec1::<f64>().unwrap()[0];
    assert!(diff < 1e-20, "|dissipative − HNN| = {diff}");
    assert!(m.hamiltonian().is_none(), "a dissipative field offers no Hamiltonian to symplectic integrators");
    let e = m.energy_function().expect("its energy").energy(&z).unwrap();
    assert_eq!(e.to_vec1::<f64>().unwrap(), hnn.energy(&z).unwrap().to_vec1::<f64>().unwrap());
}

#[test]
fn symplectic_integrators_refuse_it() {
    let (_vars, m) = model(0);
    let z = states(1, 4);
    let err = hnn_core::Integrator::propagate(&hnn_core::integrators::Leapfrog, &m, &z, 0.1, 1).unwrap_err();
    assert!(err.to_string().to_lowercase().contains("hamiltonian"), "{err}");
}
