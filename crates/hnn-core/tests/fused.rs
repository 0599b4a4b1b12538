//! The fused gradient-matching kernel against candle's autograd on the same model (every
//! activation, several depths, f64 and f32, one and several threads) and against finite
//! differences of its own loss.

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use hnn_core::exec::{self, host, Frozen, NetworkField};
use hnn_core::init::orthogonal_init;
use hnn_core::{Activation, Baseline, LossGradients, NeuralHamiltonian, VectorField};

fn data(rows: usize, dim: usize, dtype: DType, seed: u64) -> (Tensor, Tensor) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut draw = || {
        let v: Vec<f64> = (0..rows * dim).map(|_| rng.random_range(-1.5..1.5)).collect();
        Tensor::from_vec(v, (rows, dim), &Device::Cpu).unwrap().to_dtype(dtype).unwrap()
    };
    (draw(), draw())
}

/// Model kinds under test.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Hnn,
    Baseline,
}

/// A model of either kind.
enum Built {
    Hnn(NeuralHamiltonian),
    Baseline(Baseline),
}

impl Built {
    fn new(kind: Kind, dof: usize, hidden: &[usize], act: Activation, vb: VarBuilder) -> Self {
        match kind {
            Kind::Hnn => Built::Hnn(NeuralHamiltonian::new(dof, hidden, act, vb).unwrap()),
            Kind::Baseline => Built::Baseline(Baseline::new(dof, hidden, act, vb).unwrap()),
        }
    }
    fn field(&self) -> &dyn VectorField {
        match self {
            Built::Hnn(h) => h,
            Built::Baseline(b) => b,
        }
    }
    fn network(&self) -> NetworkField<'_> {
        match self {
            Built::Hnn(h) => h.network(),
            Built::Baseline(b) => b.network(),
        }
    }
    /// The execution layer's kernel for gradient matching.
    fn kernel(&self, z: &Tensor, t: &Tensor) -> hnn_core::Result<Option<LossGradients>> {
        exec::network_gradient_matching(self.network(), z, t)
    }
}

fn model(kind: Kind, dof: usize, hidden: &[usize], act: Activation, dtype: DType) -> (VarMap, Built) {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, dtype, &Device::Cpu);
    let built = Built::new(kind, dof, hidden, act, vb);
    init(&varmap);
    (varmap, built)
}

/// Orthogonal weights and non-zero biases, so bias gradients are exercised at a generic point.
fn init(varmap: &VarMap) {
    orthogonal_init(varmap, 7).unwrap();
    // Non-zero biases, so their gradients are exercised at a generic point.
    for (name, var) in varmap.data().lock().unwrap().iter() {
        if name.ends_with("bias") {
            let b = (var.as_tensor().ones_like().unwrap() * 0.1).unwrap();
            var.set(&b).unwrap();
        }
    }
}

/// Loss and gradients by candle's autograd: one entry per parameter, then ∂/∂z and ∂/∂target.
fn autograd(field: &dyn VectorField, z: &Tensor, t: &Tensor, params: &[Tensor]) -> (f64, Vec<Vec<f64>>) {
    let (zv, tv) = (candle_core::Var::from_tensor(z).unwrap(), candle_core::Var::from_tensor(t).unwrap());
    let loss =
        (field.time_derivatives(zv.as_tensor()).unwrap() - tv.as_tensor()).unwrap().sqr().unwrap().mean_all().unwrap();
    let grads = loss.backward().unwrap();
    let value = loss.to_dtype(DType::F64).unwrap().to_scalar::<f64>().unwrap();
    let mut g: Vec<Vec<f64>> =
        params.iter().map(|p| flat(grads.get(p).expect("a gradient for every parameter"))).collect();
    let zero = || vec![0.0; z.elem_count()];
    g.push(grads.get(zv.as_tensor()).map(flat).unwrap_or_else(zero));
    g.push(grads.get(tv.as_tensor()).map(flat).unwrap_or_else(zero));
    (value, g)
}

fn flat(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64).unwrap().flatten_all().unwrap().to_vec1::<f64>().unwrap()
}

/// Largest |a − b| relative to the largest |b| of the same tensor.
fn worst_relative(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(a, b)| {
            let scale = b.iter().fold(0f64, |m, x| m.max(x.abs())).max(1e-30);
            a.iter().zip(b).fold(0f64, |m, (x, y)| m.max((x - y).abs())) / scale
        })
        .fold(0.0, f64::max)
}

fn compare(kind: Kind, dof: usize, hidden: &[usize], act: Activation, dtype: DType, rows: usize) -> (f64, f64) {
    let (_vm, field) = model(kind, dof, hidden, act, dtype);
    let (z, t) = data(rows, 2 * dof, dtype, 3);
    let LossGradients { loss, params, d_states, d_targets } =
        field.kernel(&z, &t).unwrap().expect("a fused kernel on the CPU for f32/f64");
    let mut fused: Vec<Vec<f64>> = params.iter().map(|(_, g)| flat(g)).collect();
    let params: Vec<Tensor> = params.into_iter().map(|(p, _)| p).collect();
    fused.push(flat(&d_states));
    fused.push(flat(&d_targets));
    let (reference, auto) = autograd(field.field(), &z, &t, &params);
    ((loss - reference).abs() / reference, worst_relative(&fused, &auto))
}

/// Every model kind, activation (ReLU only for the baseline: an HNN needs σ″), depth 0–3 and
/// 1–2 degrees of freedom.
fn for_every_case(mut f: impl FnMut(Kind, Activation, &[usize], usize)) {
    for kind in [Kind::Hnn, Kind::Baseline] {
        for act in Activation::ALL {
            if matches!(kind, Kind::Hnn) && act == Activation::Relu {
                continue;
            }
            for hidden in [&[][..], &[9], &[8, 6], &[5, 7, 4]] {
                for dof in [1, 2] {
                    f(kind, act, hidden, dof);
                }
            }
        }
    }
}

#[test]
fn fused_matches_autograd_in_f64_for_every_activation_and_depth() {
    for_every_case(|kind, act, hidden, dof| {
        let (dl, dg) = compare(kind, dof, hidden, act, DType::F64, 37);
        assert!(dl < 1e-12 && dg < 1e-10, "{kind:?} {act} {hidden:?} dof {dof}: loss {dl:e}, grads {dg:e}");
    });
}

#[test]
fn fused_matches_autograd_in_f32() {
    for kind in [Kind::Hnn, Kind::Baseline] {
        let (dl, dg) = compare(kind, 2, &[32, 32], Activation::Tanh, DType::F32, 100);
        assert!(dl < 1e-5 && dg < 1e-4, "{kind:?}: loss {dl:e}, grads {dg:e}");
    }
}

#[test]
fn fused_splits_large_batches_across_threads_with_the_same_result() {
    // 512 rows of a 128-wide network: large enough for the batch to be split (when the machine
    // has several threads); the sums must still agree with autograd.
    for kind in [Kind::Hnn, Kind::Baseline] {
        let (dl, dg) = compare(kind, 2, &[128, 128], Activation::Tanh, DType::F64, 512);
        assert!(dl < 1e-12 && dg < 1e-10, "{kind:?}: loss {dl:e}, grads {dg:e}");
    }
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let four = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F64, &Device::Cpu);
    let field = NeuralHamiltonian::new(2, &[128, 128], Activation::Tanh, vb).unwrap();
    orthogonal_init(&varmap, 7).unwrap();
    let (z, t) = data(512, 4, DType::F64, 5);
    let run = |pool: &rayon::ThreadPool| {
        pool.install(|| exec::network_gradient_matching(field.network(), &z, &t).unwrap().unwrap())
    };
    let (a, b) = (run(&one), run(&four));
    assert!((a.loss - b.loss).abs() < 1e-12 * a.loss);
    let ga: Vec<Vec<f64>> = a.params.iter().map(|(_, g)| flat(g)).collect();
    let gb: Vec<Vec<f64>> = b.params.iter().map(|(_, g)| flat(g)).collect();
    assert!(worst_relative(&gb, &ga) < 1e-12);
}

#[test]
fn fused_loss_gradient_matches_finite_differences() {
    let (vm, field) = model(Kind::Hnn, 1, &[10, 10], Activation::Softplus, DType::F64);
    let (z, t) = data(20, 2, DType::F64, 11);
    let fused = field.kernel(&z, &t).unwrap().unwrap();
    let loss = |field: &Built| field.kernel(&z, &t).unwrap().unwrap().loss;
    let vars = vm.all_vars();
    let eps = 1e-6;
    for (param, grad) in &fused.params {
        let var = vars.iter().find(|v| v.as_tensor().id() == param.id()).expect("a variable per parameter");
        let original = var.as_tensor().copy().unwrap();
        let g = flat(grad);
        for i in [0, g.len() / 2, g.len() - 1] {
            let shifted = |s: f64| {
                let mut v = flat(&original);
                v[i] += s;
                var.set(&Tensor::from_vec(v, original.shape(), &Device::Cpu).unwrap()).unwrap();
                loss(&field)
            };
            let fd = (shifted(eps) - shifted(-eps)) / (2.0 * eps);
            var.set(&original).unwrap();
            assert!((fd - g[i]).abs() < 1e-6 * (1.0 + fd.abs()), "entry {i}: fd {fd} vs {}", g[i]);
        }
    }
}

#[test]
fn fused_declines_where_it_does_not_apply_and_rejects_bad_shapes() {
    let (_vm, field) = model(Kind::Hnn, 1, &[8], Activation::Tanh, DType::F64);
    // Data in another dtype than the weights: no kernel, autograd will convert.
    let (z, t) = data(4, 2, DType::F32, 1);
    assert!(field.kernel(&z, &t).unwrap().is_none());
    assert!(!exec::has_matching_kernel(Some(field.network()), DType::F32));
    // ... and the execution layer then hands back the loss with its autograd graph.
    let loss = exec::matching_loss(field.field(), Some(field.network()), &z, &t);
    assert!(matches!(loss, Err(_) | Ok(exec::MatchingLoss::Graph(_))));
    let (z, _) = data(4, 2, DType::F64, 1);
    let (_, t) = data(5, 2, DType::F64, 1);
    let err = field.kernel(&z, &t).unwrap_err().to_string();
    assert!(err.contains("same shape"), "{err}");
}

/// The model frozen for inference by the execution layer (as rollouts of a trained model are):
/// it evaluates on the fused inference kernel.
fn frozen(kind: Kind, dof: usize, hidden: &[usize], act: Activation, varmap: &VarMap) -> Frozen {
    let dtype = varmap.all_vars()[0].dtype();
    let tensors: std::collections::HashMap<String, Tensor> = varmap
        .data()
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().detach().copy().unwrap()))
        .collect();
    let vb = VarBuilder::from_tensors(tensors, dtype, &Device::Cpu);
    let built = Built::new(kind, dof, hidden, act, vb);
    let frozen = match &built {
        Built::Hnn(h) => exec::freeze(Some(built.network()), dof, h.clone(), dtype).unwrap(),
        Built::Baseline(b) => exec::freeze(Some(built.network()), dof, b.clone(), dtype).unwrap(),
    };
    assert!(frozen.is_kernel(), "{kind:?} {dtype:?}: the inference kernel");
    frozen
}

#[test]
fn inference_kernel_matches_the_tensor_path() {
    for (dtype, tol) in [(DType::F64, 1e-12), (DType::F32, 2e-5)] {
        for kind in [Kind::Hnn, Kind::Baseline] {
            for act in [Activation::Tanh, Activation::Softplus, Activation::Gelu] {
                for (hidden, rows) in [
                    (&[][..], 5),
                    (&[9][..], 7),
                    (&[8, 6][..], 3),
                    // Rollout-sized batches with wide and odd layers.
                    (&[40, 24][..], 13),
                    (&[200, 200][..], 9),
                    (&[200, 200][..], 32),
                    (&[128, 128][..], 700),
                ] {
                    let (vm, field) = model(kind, 2, hidden, act, dtype);
                    let fast = frozen(kind, 2, hidden, act, &vm);
                    let (z, _) = data(rows, 4, dtype, 9);
                    // `field` reads variables (the tensor path), `fast` detached copies (the kernel).
                    let a = flat(&field.field().time_derivatives(&z).unwrap());
                    let b = flat(&fast.time_derivatives(&z).unwrap());
                    let err = worst_relative(&[b], &[a]);
                    assert!(err < tol, "{dtype:?} {kind:?} {act} {hidden:?}: {err:e}");
                    if let (Some(h1), Some(h2)) = (field.field().hamiltonian(), fast.hamiltonian()) {
                        let (e1, e2) = (flat(&h1.energy(&z).unwrap()), flat(&h2.energy(&z).unwrap()));
                        let err = worst_relative(&[e2], &[e1]);
                        assert!(err < tol, "{dtype:?} {act} {hidden:?}: energy {err:e}");
                    }
                }
            }
        }
    }
}

/// Loss and gradients (parameters in order, then ∂/∂z and ∂/∂target) as host vectors.
fn unpack(l: LossGradients) -> (f64, Vec<Tensor>, Vec<Vec<f64>>) {
    let params = l.params.iter().map(|(p, _)| p.clone()).collect();
    let mut g: Vec<Vec<f64>> = l.params.iter().map(|(_, g)| flat(g)).collect();
    g.push(flat(&l.d_states));
    g.push(flat(&l.d_targets));
    (l.loss, params, g)
}

#[test]
fn explicit_tensor_backward_matches_autograd_and_the_fused_kernel() {
    // The GPU's route, run here on the CPU: same math as the fused kernel, in tensor ops.
    for dtype in [DType::F64, DType::F32] {
        for_every_case(|kind, act, hidden, dof| {
            let varmap = VarMap::new();
            let vb = VarBuilder::from_varmap(&varmap, dtype, &Device::Cpu);
            let (z, t) = data(37, 2 * dof, dtype, 3);
            let field = Built::new(kind, dof, hidden, act, vb);
            init(&varmap);
            let explicit = exec::explicit_gradient_matching(field.network(), &z, &t).unwrap();
            let (loss, params, grads) = unpack(explicit);
            let (reference, auto) = autograd(field.field(), &z, &t, &params);
            let (_, _, fused) = unpack(field.kernel(&z, &t).unwrap().unwrap());
            let (dl, dg, df) =
                ((loss - reference).abs() / reference, worst_relative(&grads, &auto), worst_relative(&grads, &fused));
            let tol = if dtype == DType::F64 { 1e-10 } else { 1e-4 };
            assert!(
                dl < tol && dg < tol && df < tol,
                "{dtype:?} {kind:?} {act} {hidden:?} dof {dof}: loss {dl:e}, vs autograd {dg:e}, vs fused {df:e}"
            );
        });
    }
}

#[test]
fn host_rows_path_matches_the_tensor_path() {
    for (dtype, tol) in [(DType::F64, 1e-12), (DType::F32, 1e-6)] {
        for kind in [Kind::Hnn, Kind::Baseline] {
            let (vm, live) = model(kind, 2, &[24, 16], Activation::Tanh, dtype);
            let fast = frozen(kind, 2, &[24, 16], Activation::Tanh, &vm);
            let (z, _) = data(7, 4, DType::F64, 5);
            let rows = flat(&z);
            let mut dz = vec![0.0; rows.len()];
            // The kernel on host rows, against the tensor path of the live model on the same
            // states in the weights' type.
            host::time_derivatives_rows(&fast, &rows, &mut dz, 4).unwrap();
            assert!(fast.host_rows().is_some(), "a frozen MLP computes on host rows itself");
            let want = flat(&live.field().time_derivatives(&z.to_dtype(dtype).unwrap()).unwrap());
            let err = worst_relative(std::slice::from_ref(&dz), std::slice::from_ref(&want));
            assert!(err < tol, "{dtype:?} {kind:?}: {err:e}");
            // The rows path through tensors (a live model has no host rows) agrees too.
            if dtype == DType::F64 {
                let mut dz_default = vec![0.0; rows.len()];
                host::time_derivatives_rows(live.field(), &rows, &mut dz_default, 4).unwrap();
                assert!(worst_relative(&[dz_default], &[want]) < tol, "{kind:?}: default rows path");
            }
            // Rows that do not divide into states are refused.
            assert!(host::time_derivatives_rows(&fast, &rows[..5], &mut dz[..5], 4).is_err());
        }
    }
}

#[test]
fn ensemble_kernel_gives_each_member_its_own_call_bit_for_bit() {
    // Members of different forms, widths and batch sizes: some split into several row blocks,
    // some not, some empty. Under 1, 2 and 4 threads each member's loss and gradients must be
    // the bits of its own kernel call under the same thread count.
    let members = [
        (Kind::Hnn, 2, vec![128, 128], 512),
        (Kind::Baseline, 1, vec![64, 64], 700),
        (Kind::Hnn, 1, vec![16], 30),
        (Kind::Baseline, 2, vec![32, 32, 32], 0),
    ];
    for dtype in [DType::F64, DType::F32] {
        let built: Vec<(VarMap, Built)> =
            members.iter().map(|(kind, dof, hidden, _)| model(*kind, *dof, hidden, Activation::Tanh, dtype)).collect();
        let batches: Vec<(Tensor, Tensor)> =
            members.iter().enumerate().map(|(i, (_, dof, _, rows))| data(*rows, 2 * dof, dtype, i as u64)).collect();
        for threads in [1, 2, 4] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let inputs: Vec<_> = built.iter().zip(&batches).map(|((_, m), (z, t))| (m.network(), z, t)).collect();
            let together = pool.install(|| exec::ensemble_gradient_matching(&inputs).unwrap().unwrap());
            for (i, (((_, m), (z, t)), g)) in built.iter().zip(&batches).zip(together).enumerate() {
                let alone = pool.install(|| m.kernel(z, t).unwrap().unwrap());
                let bits = |l: &LossGradients| -> Vec<u64> {
                    let mut b = vec![l.loss.to_bits()];
                    for t in l.params.iter().map(|(_, g)| g).chain([&l.d_states, &l.d_targets]) {
                        b.extend(flat(t).into_iter().map(f64::to_bits));
                    }
                    b
                };
                assert_eq!(bits(&g), bits(&alone), "member {i}, {dtype:?}, {threads} threads");
                assert_eq!(g.loss.is_nan(), members[i].3 == 0, "an empty batch has no loss");
            }
        }
        // A member on another dtype has no joint kernel: the caller computes it alone.
        let (_, other) = model(Kind::Hnn, 1, &[8], Activation::Tanh, DType::F64);
        let (z64, t64) = data(10, 2, DType::F64, 9);
        let (z32, t32) = data(10, 2, DType::F32, 9);
        let (_, small) = model(Kind::Hnn, 1, &[8], Activation::Tanh, DType::F32);
        let mixed = [(other.network(), &z64, &t64), (small.network(), &z32, &t32)];
        assert!(exec::ensemble_gradient_matching(&mixed).unwrap().is_none());
        // A batch of the wrong width is an error naming the shapes.
        let wrong = [(small.network(), &batches[0].0, &batches[0].1)];
        let err = exec::ensemble_gradient_matching(&wrong).unwrap_err().to_string();
        assert!(err.contains("[batch, 2]") && err.contains("[512, 4]"), "{err}");
    }
}
