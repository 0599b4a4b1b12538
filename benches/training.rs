//! Model and training throughput on the CPU (or CUDA when built with `--features cuda`):
//! - `forward_grad`: H and ∇H of a 2→200→200→1 tanh NeuralHamiltonian;
//! - `gradient_step`: one gradient-matching step (loss on J∇H, backward, Adam);
//! - `trajectory_step`: one trajectory-matching step through 50 leapfrog steps of a separable HNN;
//! - `trajectory_backprop`: its loss and gradients through 10 and 100 leapfrog steps at two-body's
//!   batch and model, by the stored graph and by reversible backpropagation;
//! - `rollout`: 100 leapfrog steps of a separable HNN for a batch of trajectories;
//! - `field_stage`: J∇H of a trained (frozen) NeuralHamiltonian, one stage of a rollout, also at
//!   batch 8 (what each thread of an evaluation's rollout evaluates per stage).
//!
//! - `lnn_step`: one gradient-matching step of the LNN (loss on q̈ by the Euler–Lagrange
//!   equations, its Hessian blocks by forward over reverse, backward, Adam) on the double
//!   pendulum's 2 degrees of freedom, at the LNN reference's width (`benches/lnn_jax.py` runs
//!   the reference algorithm, `jax.hessian` of L, on the same sizes);
//! - `ensemble_8_seeds`: 20 training steps of the HNN and baseline of 8 seeds (16 models), as
//!   one ensemble (`train_ensemble`) and one model after another (`train`), at two_body's and
//!   spring's sizes (batch 200 of 8-wide states; the full 750 samples of 2-wide states).
//!
//! Batches 1, 200, 1 000 and 65 536; f32 and f64.
//!
//! `cargo bench --bench training` (`-- gradient_step/f32` to filter).

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hnn::core::integrators::Leapfrog;
use hnn::core::{
    exec, init, Activation, Hamiltonian, Integrator, NeuralHamiltonian, NeuralLagrangian, SeparableHamiltonian,
    VectorField,
};
use hnn::train::optim::{Gradients, Optimizer, OptimizerKind};

const BATCHES: [usize; 4] = [1, 200, 1000, 65536];
const HIDDEN: [usize; 2] = [200, 200];

fn device() -> Device {
    if cfg!(feature = "cuda") {
        hnn::train::device::select_device(hnn::train::device::DeviceChoice::Cuda).expect("CUDA device 0")
    } else {
        Device::Cpu
    }
}

fn setup() {
    hnn::core::exec::threads::init();
}

fn states(batch: usize, width: usize, dtype: DType, dev: &Device) -> Tensor {
    Tensor::randn(0f32, 1.0, (batch, width), dev).unwrap().to_dtype(dtype).unwrap()
}

fn neural(dtype: DType, dev: &Device) -> (VarMap, NeuralHamiltonian) {
    let varmap = VarMap::new();
    let h = NeuralHamiltonian::new(1, &HIDDEN, Activation::Tanh, VarBuilder::from_varmap(&varmap, dtype, dev)).unwrap();
    init::orthogonal_init(&varmap, 0).unwrap();
    (varmap, h)
}

fn separable(dtype: DType, dev: &Device) -> (VarMap, SeparableHamiltonian) {
    let varmap = VarMap::new();
    let h =
        SeparableHamiltonian::new(1, &HIDDEN, Activation::Tanh, VarBuilder::from_varmap(&varmap, dtype, dev)).unwrap();
    init::orthogonal_init(&varmap, 0).unwrap();
    (varmap, h)
}

fn named(varmap: &VarMap) -> Vec<(String, candle_core::Var)> {
    let mut v: Vec<_> = varmap.data().lock().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Runs the whole measurement `f` (a `b.iter(...)`) in the thread budget the trainer gives this
/// batch: one pool for all iterations, as in training, not one per iteration.
fn sized<R: Send>(dev: &Device, batch: usize, f: impl FnOnce() -> R + Send) -> R {
    hnn::core::exec::threads::run_sized(dev, batch, HIDDEN[0], f)
}

fn forward_grad(c: &mut Criterion) {
    setup();
    let dev = device();
    let mut group = c.benchmark_group("forward_grad");
    for dtype in [DType::F32, DType::F64] {
        let (_vm, h) = neural(dtype, &dev);
        for batch in BATCHES {
            let z = states(batch, 2, dtype, &dev);
            group.throughput(Throughput::Elements(batch as u64));
            group.sample_size(if batch >= 65536 { 10 } else { 30 });
            group.bench_with_input(BenchmarkId::new(format!("{dtype:?}").to_lowercase(), batch), &z, |b, z| {
                sized(&dev, batch, || b.iter(|| h.grad(z).unwrap().sum_all().unwrap().to_vec0::<f32>().ok()))
            });
        }
    }
    group.finish();
}

fn gradient_step(c: &mut Criterion) {
    setup();
    let dev = device();
    let mut group = c.benchmark_group("gradient_step");
    for dtype in [DType::F32, DType::F64] {
        for batch in BATCHES {
            let (vm, h) = neural(dtype, &dev);
            let mut opt = Optimizer::new(OptimizerKind::Adam, named(&vm), 1e-4);
            let z = states(batch, 2, dtype, &dev);
            let target = states(batch, 2, dtype, &dev);
            group.throughput(Throughput::Elements(batch as u64));
            group.sample_size(if batch >= 65536 { 10 } else { 30 });
            let name = format!("{dtype:?}").to_lowercase();
            // The training path, without autograd: the fused kernel on the CPU (which spreads the
            // batch over the threads itself), the tensor-op backward of `explicit` on a GPU.
            let route = if dev.is_cpu() { "fused" } else { "explicit" };
            if exec::has_matching_kernel(Some(h.network()), dtype) {
                group.bench_function(BenchmarkId::new(format!("{route}_{name}"), batch), |b| {
                    b.iter(|| {
                        let loss = exec::matching_loss(&h, Some(h.network()), &z, &target).unwrap();
                        opt.step(&Gradients::of_matching(loss).unwrap().1, 1e-3, 1.0).unwrap();
                        dev.synchronize().unwrap();
                    })
                });
            }
            // candle's autograd through the explicit ∇H (the GPU path, and the reference point).
            group.bench_function(BenchmarkId::new(format!("autograd_{name}"), batch), |b| {
                sized(&dev, batch, || {
                    b.iter(|| {
                        let loss =
                            (h.time_derivatives(&z).unwrap() - &target).unwrap().sqr().unwrap().mean_all().unwrap();
                        opt.step(&Gradients::backward(&loss).unwrap().1, 1e-3, 1.0).unwrap();
                        dev.synchronize().unwrap();
                    })
                })
            });
        }
    }
    group.finish();
}

fn trajectory_step(c: &mut Criterion) {
    setup();
    let dev = device();
    let mut group = c.benchmark_group("trajectory_step");
    for dtype in [DType::F32, DType::F64] {
        for batch in [1, 200, 1000] {
            let (vm, h) = separable(dtype, &dev);
            let mut opt = Optimizer::new(OptimizerKind::Adam, named(&vm), 0.0);
            let z0 = states(batch, 2, dtype, &dev);
            let z1 = states(batch, 2, dtype, &dev);
            group.throughput(Throughput::Elements(batch as u64));
            group.sample_size(10);
            group.bench_function(BenchmarkId::new(format!("{dtype:?}").to_lowercase(), batch), |b| {
                sized(&dev, batch, || {
                    b.iter(|| {
                        let pred = Leapfrog.propagate(&h, &z0, 0.01, 50).unwrap();
                        let loss = (pred - &z1).unwrap().sqr().unwrap().mean_all().unwrap();
                        opt.step(&Gradients::backward(&loss).unwrap().1, 1e-3, 1.0).unwrap();
                        dev.synchronize().unwrap();
                    })
                })
            });
        }
    }
    group.finish();
}

/// One trajectory-matching step's loss and gradients through m leapfrog steps at two-body's
/// batch and model (200 states, 4 dof, separable HNN 200 × 200, f32): the stored graph against
/// reversible backpropagation (memory: `examples/reversible_memory.rs`).
fn trajectory_backprop(c: &mut Criterion) {
    setup();
    let dev = device();
    let mut group = c.benchmark_group("trajectory_backprop");
    group.sample_size(10);
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &dev);
    let h = SeparableHamiltonian::new(4, &HIDDEN, Activation::Tanh, vb).unwrap();
    init::orthogonal_init(&varmap, 0).unwrap();
    let params = varmap.all_vars();
    let (z0, z1) = (states(200, 8, DType::F32, &dev), states(200, 8, DType::F32, &dev));
    for m in [10, 100] {
        let dt = 0.1 / m as f64;
        group.bench_function(BenchmarkId::new("stored", m), |b| {
            sized(&dev, 200, || {
                b.iter(|| {
                    let pred = Leapfrog.propagate(&h, &z0, dt, m).unwrap();
                    let loss = (pred - &z1).unwrap().sqr().unwrap().mean_all().unwrap();
                    Gradients::backward(&loss).unwrap()
                })
            })
        });
        group.bench_function(BenchmarkId::new("reversible", m), |b| {
            sized(&dev, 200, || {
                b.iter(|| {
                    hnn::core::integrators::reversible::matching_gradients(&Leapfrog, &h, &params, &z0, &z1, dt, m)
                        .unwrap()
                })
            })
        });
    }
    group.finish();
}

fn field_stage(c: &mut Criterion) {
    setup();
    let dev = device();
    let mut group = c.benchmark_group("field_stage");
    for dtype in [DType::F32, DType::F64] {
        let (vm, _) = neural(dtype, &dev);
        let frozen = named(&vm).into_iter().map(|(n, v)| (n, v.as_tensor().detach())).collect();
        let h = NeuralHamiltonian::new(1, &HIDDEN, Activation::Tanh, VarBuilder::from_tensors(frozen, dtype, &dev))
            .unwrap();
        for batch in [1, 8, 200, 1000] {
            let z = states(batch, 2, dtype, &dev).detach();
            group.throughput(Throughput::Elements(batch as u64));
            group.bench_with_input(BenchmarkId::new(format!("{dtype:?}").to_lowercase(), batch), &z, |b, z| {
                b.iter(|| {
                    let dz = h.time_derivatives(z).unwrap();
                    dev.synchronize().unwrap();
                    dz
                })
            });
        }
    }
    group.finish();
}

fn rollout(c: &mut Criterion) {
    setup();
    let dev = device();
    let mut group = c.benchmark_group("rollout_100_steps");
    for dtype in [DType::F32, DType::F64] {
        let (vm, _) = separable(dtype, &dev);
        // Detached weights: no autograd graph through the rollout.
        let frozen = named(&vm).into_iter().map(|(n, v)| (n, v.as_tensor().detach())).collect();
        let h = SeparableHamiltonian::new(1, &HIDDEN, Activation::Tanh, VarBuilder::from_tensors(frozen, dtype, &dev))
            .unwrap();
        for batch in [1, 200, 10_000] {
            let z0 = states(batch, 2, dtype, &dev).detach();
            group.throughput(Throughput::Elements((batch * 100) as u64));
            group.sample_size(10);
            group.bench_function(BenchmarkId::new(format!("{dtype:?}").to_lowercase(), batch), |b| {
                sized(&dev, batch, || {
                    b.iter(|| {
                        let z = Leapfrog.propagate(&h, &z0, 0.01, 100).unwrap().detach();
                        dev.synchronize().unwrap();
                        z
                    })
                })
            });
        }
    }
    group.finish();
}

/// The tensor ops a GPU training step is made of, one by one, at [65 536, 200] f32 (GPU only:
/// where the time of a step goes).
fn primitives(c: &mut Criterion) {
    setup();
    let dev = device();
    if dev.is_cpu() {
        return;
    }
    let mut group = c.benchmark_group("primitives_65536x200");
    group.sample_size(20);
    let (rows, width) = (65536, HIDDEN[0]);
    let x = states(rows, width, DType::F32, &dev);
    let y = states(rows, width, DType::F32, &dev);
    let w = states(width, width, DType::F32, &dev);
    let row = states(1, width, DType::F32, &dev);
    let ones = Tensor::ones((1, rows), DType::F32, &dev).unwrap();
    let mut time = |name: &str, f: &dyn Fn() -> Tensor| {
        group.bench_function(name, |b| {
            b.iter(|| {
                let out = f();
                dev.synchronize().unwrap();
                out
            })
        });
    };
    time("matmul_x_wt", &|| x.matmul(&w.t().unwrap()).unwrap());
    time("matmul_x_w", &|| x.matmul(&w).unwrap());
    time("matmul_xt_y", &|| x.t().unwrap().matmul(&y).unwrap());
    time("column_sums_by_matmul", &|| ones.matmul(&x).unwrap());
    time("sum_keepdim_0", &|| x.sum_keepdim(0).unwrap());
    time("tanh", &|| x.tanh().unwrap());
    time("mul", &|| (&x * &y).unwrap());
    time("broadcast_mul_row", &|| x.broadcast_mul(&row).unwrap());
    time("broadcast_add_row", &|| x.broadcast_add(&row).unwrap());
    time("affine", &|| x.affine(-2.0, 1.0).unwrap());
    time("sqr", &|| x.sqr().unwrap());
    time("zeros_like", &|| x.zeros_like().unwrap());
    group.finish();
}

fn ensemble(c: &mut Criterion) {
    use hnn::systems::Split;
    use hnn::train::training::{train, train_ensemble, RunContext, TrainConfig, TrainData};
    use hnn::train::{ModelKind, ModelSpec, ModelState};
    setup();
    let mut group = c.benchmark_group("ensemble_8_seeds");
    group.sample_size(10);
    const STEPS: usize = 20;
    for (name, dof, rows, batch) in [("two_body", 4, 4000, 200), ("spring", 1, 750, 0)] {
        let split = |n: usize| Split {
            z: states(n, 2 * dof, DType::F32, &Device::Cpu),
            dz: states(n, 2 * dof, DType::F32, &Device::Cpu),
            t: None,
        };
        let data: Vec<TrainData> = (0..8).map(|_| TrainData::derivatives(&split(rows), &split(100))).collect();
        let mut models = vec![];
        let mut sets = vec![];
        for (seed, d) in data.iter().enumerate() {
            for kind in [ModelKind::HNN, ModelKind::BASELINE] {
                let spec = ModelSpec { kind, dof, hidden: HIDDEN.to_vec(), activation: Activation::Tanh };
                models.push(ModelState::new(spec, DType::F32, &Device::Cpu, seed as u64).unwrap());
                sets.push(d);
            }
        }
        let cfg = TrainConfig {
            objective: Default::default(),
            steps: STEPS,
            batch_size: batch,
            optimizer: OptimizerKind::Adam,
            learning_rate: 1e-3,
            weight_decay: 1e-4,
            schedule: Default::default(),
            grad_clip: None,
            input_noise: 0.0,
            eval_every: STEPS,
            checkpoint_every: 0,
        };
        let ctxs: Vec<RunContext> =
            (0..models.len()).map(|i| RunContext { seed: i as u64, ..RunContext::default() }).collect();
        group.throughput(Throughput::Elements((models.len() * STEPS) as u64));
        group.bench_function(BenchmarkId::new("sequential", name), |b| {
            b.iter(|| {
                for ((m, d), ctx) in models.iter().zip(&sets).zip(&ctxs) {
                    train(m, d, &cfg, ctx, None).unwrap();
                }
            })
        });
        group.bench_function(BenchmarkId::new("ensemble", name), |b| {
            let members: Vec<&ModelState> = models.iter().collect();
            let resumes = vec![None; members.len()];
            b.iter(|| {
                for r in train_ensemble(&members, &sets, &cfg, &ctxs, &resumes).unwrap() {
                    r.unwrap();
                }
            })
        });
    }
    group.finish();
}

/// The LNN reference's network for the double pendulum (lagrangian_nns): hidden widths.
const LNN_HIDDEN: [usize; 3] = [600, 600, 600];
/// Its batch size.
const LNN_BATCH: usize = 512;

fn lnn_step(c: &mut Criterion) {
    setup();
    let dev = device();
    let mut group = c.benchmark_group("lnn_step");
    group.sample_size(20);
    for dtype in [DType::F32, DType::F64] {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, dtype, &dev);
        let l = NeuralLagrangian::from_network(2, &LNN_HIDDEN, Activation::Softplus, vb).unwrap();
        init::orthogonal_init(&varmap, 0).unwrap();
        let mut opt = Optimizer::new(OptimizerKind::Adam, named(&varmap), 1e-3);
        let z = (states(LNN_BATCH, 4, dtype, &dev) * 0.5).unwrap();
        let target = states(LNN_BATCH, 2, dtype, &dev);
        let name = format!("{dtype:?}").to_lowercase();
        group.bench_function(BenchmarkId::new(name, LNN_BATCH), |b| {
            hnn::core::exec::threads::run_sized(&dev, LNN_BATCH, LNN_HIDDEN[0], || {
                b.iter(|| {
                    let acc = l.time_derivatives(&z).unwrap().narrow(1, 2, 2).unwrap();
                    let loss = (acc - &target).unwrap().sqr().unwrap().mean_all().unwrap();
                    opt.step(&Gradients::backward(&loss).unwrap().1, 1e-3, 1.0).unwrap();
                    dev.synchronize().unwrap();
                })
            })
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    lnn_step,
    ensemble,
    forward_grad,
    gradient_step,
    trajectory_step,
    trajectory_backprop,
    rollout,
    field_stage,
    primitives
);
criterion_main!(benches);
