//! The explicit ∇H of the learned models and the parameter gradients of the gradient-matching
//! loss, against central finite differences in f64.

mod common;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use common::*;
use hnn_core::init::orthogonal_init;
use hnn_core::{Activation, Baseline, Error, Hamiltonian, NeuralHamiltonian, SeparableHamiltonian, VectorField};

fn states(batch: usize, dof: usize) -> Tensor {
    Tensor::randn(0f64, 1.0, (batch, 2 * dof), &Device::Cpu).unwrap()
}

/// Central finite differences of H along every input coordinate.
fn fd_input_grad(h: &dyn Hamiltonian, z: &Tensor, eps: f64) -> Vec<Vec<f64>> {
    let zr = rows(z);
    let d = zr[0].len();
    let mut out = vec![vec![0.0; d]; zr.len()];
    for j in 0..d {
        let shift = |s: f64| {
            let shifted: Vec<Vec<f64>> = zr
                .iter()
                .map(|r| {
                    let mut r = r.clone();
                    r[j] += s;
                    r
                })
                .collect();
            h.energy(&tensor(&shifted, DType::F64)).unwrap().to_vec1::<f64>().unwrap()
        };
        let (plus, minus) = (shift(eps), shift(-eps));
        for i in 0..zr.len() {
            out[i][j] = (plus[i] - minus[i]) / (2.0 * eps);
        }
    }
    out
}

fn relative_error(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for (ra, rb) in a.iter().zip(b) {
        for (x, y) in ra.iter().zip(rb) {
            num += (x - y) * (x - y);
            den += y * y;
        }
    }
    (num / den).sqrt()
}

fn neural(dof: usize, act: Activation, seed: u64) -> (VarMap, NeuralHamiltonian) {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F64, &Device::Cpu);
    let h = NeuralHamiltonian::new(dof, &[16, 12], act, vb.pp("hnn")).unwrap();
    orthogonal_init(&varmap, seed).unwrap();
    (varmap, h)
}

#[test]
fn input_gradient_matches_finite_differences_for_every_activation() {
    for act in Activation::ALL.into_iter().filter(|a| a.is_twice_differentiable()) {
        let (_, h) = neural(2, act, 7);
        let z = states(9, 2);
        let analytic = rows(&h.grad(&z).unwrap());
        let numeric = fd_input_grad(&h, &z, 1e-5);
        let err = relative_error(&analytic, &numeric);
        assert!(err < 1e-6, "{act}: relative error {err:.2e}");
    }
}

#[test]
fn separable_gradient_matches_finite_differences() {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F64, &Device::Cpu);
    let h = SeparableHamiltonian::new(3, &[10, 10], Activation::Tanh, vb).unwrap();
    orthogonal_init(&varmap, 3).unwrap();
    let z = states(5, 3);
    let err = relative_error(&rows(&h.grad(&z).unwrap()), &fd_input_grad(&h, &z, 1e-5));
    assert!(err < 1e-6, "relative error {err:.2e}");
    // ∂H/∂q depends on q only.
    let z2 = Tensor::cat(&[z.narrow(1, 0, 3).unwrap(), states(5, 3).narrow(1, 0, 3).unwrap()], 1).unwrap();
    assert_eq!(max_abs_diff(&h.dh_dq(&z).unwrap(), &h.dh_dq(&z2).unwrap()), 0.0);
}

/// Gradient-matching loss L = mean ‖ż − f(z)‖².
fn loss(field: &dyn VectorField, z: &Tensor, target: &Tensor) -> Tensor {
    (field.time_derivatives(z).unwrap() - target).unwrap().sqr().unwrap().mean_all().unwrap()
}

/// Checks ∂L/∂θ from one `backward` against central differences for every variable.
fn check_parameter_gradients(varmap: &VarMap, field: &dyn VectorField, z: &Tensor, target: &Tensor) {
    let grads = loss(field, z, target).backward().unwrap();
    let mut vars: Vec<(String, Var)> =
        varmap.data().lock().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    let eps = 1e-6;
    for (name, var) in vars {
        let analytic: Vec<f64> = match grads.get(&var) {
            Some(g) => g.flatten_all().unwrap().to_vec1().unwrap(),
            None => vec![0.0; var.elem_count()], // a variable that cannot reach the loss
        };
        let original: Vec<f64> = var.flatten_all().unwrap().to_vec1().unwrap();
        let (mut num, mut den) = (0.0, 0.0);
        // Every entry of small tensors; a spread of entries of large ones.
        let step = (original.len() / 40).max(1);
        for i in (0..original.len()).step_by(step) {
            let eval = |s: f64| {
                let mut v = original.clone();
                v[i] += s;
                var.set(&Tensor::from_vec(v, var.dims(), &Device::Cpu).unwrap()).unwrap();
                loss(field, z, target).to_scalar::<f64>().unwrap()
            };
            let fd = (eval(eps) - eval(-eps)) / (2.0 * eps);
            num += (fd - analytic[i]).powi(2);
            den += fd * fd;
        }
        var.set(&Tensor::from_vec(original, var.dims(), &Device::Cpu).unwrap()).unwrap();
        let rel = (num / den.max(1e-30)).sqrt();
        assert!(rel < 1e-5, "{name}: relative error {rel:.2e} (|fd| = {:.2e})", den.sqrt());
    }
}

#[test]
fn parameter_gradients_of_gradient_matching_match_finite_differences() {
    for act in [Activation::Tanh, Activation::Softplus, Activation::Sin, Activation::Silu, Activation::Gelu] {
        let (varmap, h) = neural(1, act, 11);
        let z = states(12, 1);
        let target = states(12, 1);
        check_parameter_gradients(&varmap, &h, &z, &target);
    }
}

#[test]
fn parameter_gradients_of_separable_and_baseline_match_finite_differences() {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F64, &Device::Cpu);
    let h = SeparableHamiltonian::new(2, &[8], Activation::Tanh, vb.pp("sep")).unwrap();
    let b = Baseline::new(2, &[8, 8], Activation::Relu, vb.pp("base")).unwrap();
    orthogonal_init(&varmap, 5).unwrap();
    let z = states(10, 2);
    let target = states(10, 2);
    check_parameter_gradients(&varmap, &h, &z, &target);
    // The baseline shares the map; its variables get FD-checked against its own loss too.
    let varmap_b = VarMap::new();
    let vbb = VarBuilder::from_varmap(&varmap_b, DType::F64, &Device::Cpu);
    let b2 = Baseline::new(2, &[8, 8], Activation::Tanh, vbb).unwrap();
    orthogonal_init(&varmap_b, 5).unwrap();
    check_parameter_gradients(&varmap_b, &b2, &z, &target);
    assert_eq!(b.time_derivatives(&z).unwrap().dims(), &[10, 4]);
}

#[test]
fn relu_is_refused_for_hamiltonian_networks() {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let err = NeuralHamiltonian::new(1, &[8], Activation::Relu, vb.clone()).unwrap_err();
    assert!(matches!(err, Error::ActivationNotTwiceDifferentiable(_)));
    assert!(err.to_string().contains("relu"), "{err}");
    assert!(SeparableHamiltonian::new(1, &[8], Activation::Relu, vb).is_err());
    assert!("swish?".parse::<Activation>().is_err());
    assert_eq!("Tanh".parse::<Activation>().unwrap(), Activation::Tanh);
}

#[test]
fn orthogonal_init_is_orthogonal_and_deterministic() {
    let (varmap, h) = neural(2, Activation::Tanh, 42);
    let w = varmap.data().lock().unwrap()["hnn.layers.1.weight"].as_tensor().clone(); // 12 × 16
    let wwt = w.matmul(&w.t().unwrap()).unwrap();
    let eye = Tensor::eye(12, DType::F64, &Device::Cpu).unwrap();
    assert!(max_abs_diff(&wwt, &eye) < 1e-12, "rows orthonormal");
    let w0 = varmap.data().lock().unwrap()["hnn.layers.0.weight"].as_tensor().clone(); // 16 × 4
    let wtw = w0.t().unwrap().matmul(&w0).unwrap();
    assert!(max_abs_diff(&wtw, &Tensor::eye(4, DType::F64, &Device::Cpu).unwrap()) < 1e-12, "columns orthonormal");
    // Same seed, same network; different seed, different network.
    let z = states(4, 2);
    let (_, h2) = neural(2, Activation::Tanh, 42);
    let (_, h3) = neural(2, Activation::Tanh, 43);
    assert_eq!(max_abs_diff(&h.energy(&z).unwrap(), &h2.energy(&z).unwrap()), 0.0);
    assert!(max_abs_diff(&h.energy(&z).unwrap(), &h3.energy(&z).unwrap()) > 1e-6);
    // No bias on the output layer; documented names.
    let names: Vec<String> = {
        let mut v: Vec<String> = varmap.data().lock().unwrap().keys().cloned().collect();
        v.sort();
        v
    };
    assert_eq!(
        names,
        ["hnn.layers.0.bias", "hnn.layers.0.weight", "hnn.layers.1.bias", "hnn.layers.1.weight", "hnn.layers.2.weight"]
    );
}

#[test]
fn f32_models_work_and_shapes_are_checked() {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let h = NeuralHamiltonian::new(2, &[32, 32], Activation::Tanh, vb).unwrap();
    orthogonal_init(&varmap, 1).unwrap();
    let z = Tensor::randn(0f32, 1.0, (6, 4), &Device::Cpu).unwrap();
    assert_eq!(h.energy(&z).unwrap().dims(), &[6]);
    assert_eq!(h.time_derivatives(&z).unwrap().dtype(), DType::F32);
    let wrong = Tensor::randn(0f32, 1.0, (6, 2), &Device::Cpu).unwrap();
    let err = h.time_derivatives(&wrong).unwrap_err().to_string();
    assert!(err.contains("[batch, 4]"), "{err}");
}
