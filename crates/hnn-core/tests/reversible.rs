//! Reversible backpropagation (`integrators::reversible`) against backpropagation through the
//! stored graph of all steps and against finite differences, in f64, at m = 1, 10 and 1000
//! leapfrog steps (and Yoshida 4), with the round-off of the reconstruction measured.

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use hnn_core::init::orthogonal_init;
use hnn_core::integrators::reversible::matching_gradients;
use hnn_core::integrators::{Leapfrog, Rk4, Yoshida4, Yoshida6, Yoshida8};
use hnn_core::{Activation, Integrator, SeparableHamiltonian};

fn model(dtype: DType) -> (VarMap, SeparableHamiltonian) {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, dtype, &Device::Cpu);
    let h = SeparableHamiltonian::new(1, &[12, 12], Activation::Tanh, vb).unwrap();
    orthogonal_init(&varmap, 5).unwrap();
    (varmap, h)
}

fn states(seed: u64, dtype: DType) -> Tensor {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let v: Vec<f64> = (0..12).map(|_| rng.random_range(-1.0..1.0)).collect();
    Tensor::from_vec(v, (6, 2), &Device::Cpu).unwrap().to_dtype(dtype).unwrap()
}

fn vars(varmap: &VarMap) -> Vec<Var> {
    let data = varmap.data().lock().unwrap();
    let mut named: Vec<_> = data.iter().map(|(n, v)| (n.clone(), v.clone())).collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    named.into_iter().map(|(_, v)| v).collect()
}

fn loss(integ: &dyn Integrator, h: &SeparableHamiltonian, z0: &Tensor, target: &Tensor, dt: f64, m: usize) -> Tensor {
    let z = integ.propagate(h, z0, dt, m).unwrap();
    (z - target).unwrap().sqr().unwrap().mean_all().unwrap()
}

fn max_rel(a: &Tensor, b: &Tensor) -> f64 {
    let d = (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f64>().unwrap();
    let s = b.abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f64>().unwrap();
    d / s.max(1e-300)
}

/// Runs `f` on a thread with a large stack: candle walks a deep stored graph recursively.
fn deep<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|s| {
        std::thread::Builder::new().stack_size(512 << 20).spawn_scoped(s, f).unwrap().join().unwrap()
    })
}

#[test]
fn reversible_gradients_equal_the_stored_graphs_at_1_10_and_1000_steps() {
    deep(|| {
        let (varmap, h) = model(DType::F64);
        let params = vars(&varmap);
        let (z0, target) = (states(1, DType::F64), states(2, DType::F64));
        for (integ, m, dt) in [
            (&Leapfrog as &dyn Integrator, 1, 0.1),
            (&Leapfrog, 10, 0.05),
            (&Leapfrog, 1000, 0.002),
            (&Yoshida4, 10, 0.05),
            (&Yoshida6, 10, 0.05),
            (&Yoshida8, 10, 0.05),
        ] {
            let ours = matching_gradients(integ, &h, &params, &z0, &target, dt, m).unwrap();
            let start = Var::from_tensor(&z0).unwrap();
            let l = loss(integ, &h, start.as_tensor(), &target, dt, m);
            let stored = l.backward().unwrap();
            let what = format!("{} m = {m}", integ.name());
            assert!((ours.loss - l.to_scalar::<f64>().unwrap()).abs() < 1e-12 * ours.loss.max(1e-12), "{what}: loss");
            for (p, g) in &ours.params {
                let want = stored.get(p).expect("the loss depends on every parameter");
                assert!(max_rel(g, want) < 1e-8, "{what}: parameter gradient off by {:e}", max_rel(g, want));
            }
            let worst = ours.params.iter().map(|(p, g)| max_rel(g, stored.get(p).unwrap())).fold(0.0, f64::max);
            eprintln!(
                "{what}: parameter gradients agree to {worst:.1e} (relative), reconstruction {:.1e}",
                ours.reconstruction_error
            );
            assert!(max_rel(&ours.d_start, stored.get(start.as_tensor()).unwrap()) < 1e-8, "{what}: ∂L/∂z0");
            // f64 reconstruction: round-off only.
            assert!(ours.reconstruction_error < 1e-9, "{what}: reconstruction {:e}", ours.reconstruction_error);
        }
    });
}

#[test]
fn reversible_gradients_match_finite_differences() {
    let (varmap, h) = model(DType::F64);
    let params = vars(&varmap);
    let (z0, target) = (states(3, DType::F64), states(4, DType::F64));
    let (dt, m) = (0.05, 10);
    let ours = matching_gradients(&Leapfrog, &h, &params, &z0, &target, dt, m).unwrap();
    let eps = 1e-6;
    let (mut checked, mut worst) = (0, 0.0f64);
    for (var, (_, grad)) in params.iter().zip(&ours.params) {
        let base: Vec<f64> = var.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
        let g: Vec<f64> = grad.flatten_all().unwrap().to_vec1().unwrap();
        for i in [0, base.len() / 2, base.len() - 1] {
            let at = |x: f64| {
                let mut v = base.clone();
                v[i] = x;
                var.set(&Tensor::from_vec(v, var.as_tensor().dims(), &Device::Cpu).unwrap()).unwrap();
                loss(&Leapfrog, &h, &z0, &target, dt, m).to_scalar::<f64>().unwrap()
            };
            let fd = (at(base[i] + eps) - at(base[i] - eps)) / (2.0 * eps);
            at(base[i]);
            assert!((fd - g[i]).abs() <= 1e-6 * (1.0 + fd.abs()), "parameter entry {i}: fd {fd}, reversible {}", g[i]);
            worst = worst.max((fd - g[i]).abs() / (1.0 + fd.abs()));
            checked += 1;
        }
    }
    assert!(checked >= 12);
    eprintln!("finite differences (h = 1e-6) against reversible gradients, {checked} entries: worst {worst:.1e}");
}

#[test]
fn only_reversible_integrators_are_accepted_and_f32_round_off_is_reported() {
    let (varmap, h) = model(DType::F32);
    let params = vars(&varmap);
    let (z0, target) = (states(5, DType::F32), states(6, DType::F32));
    let e = matching_gradients(&Rk4, &h, &params, &z0, &target, 0.1, 3).unwrap_err().to_string();
    assert!(e.contains("time-reversible") && e.contains("rk4"), "{e}");
    // In f32 the reconstruction drifts by round-off; it is measured, not hidden.
    let r = matching_gradients(&Leapfrog, &h, &params, &z0, &target, 0.01, 1000).unwrap();
    eprintln!("f32, 1000 leapfrog steps: reconstruction error {:.1e}", r.reconstruction_error);
    assert!(r.reconstruction_error > 0.0 && r.reconstruction_error < 1e-2, "{}", r.reconstruction_error);
}
