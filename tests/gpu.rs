//! The CUDA path agrees with the CPU path: models, integrators, training and whole experiments.
//!
//! Built only with `--features cuda`; on a machine without a GPU every test fails with "no CUDA
//! device" rather than passing vacuously. The CPU trains with the fused kernels and the GPU with
//! candle's autograd, so in f64 the two are independent implementations that must agree to
//! rounding. Run on a GPU machine with `scripts/gpu_check.sh` (see docs/src/performance.md, "GPUs").
#![cfg(feature = "cuda")]

use candle_core::{DType, Device, Tensor};
use hnn::core::integrators::{DormandPrince, IntegratorKind};
use hnn::core::{exec, rollout, Solver, VectorField};
use hnn::train::checkpoint::{self, TrainingInfo};
use hnn::train::device::{select_device, DeviceChoice, Precision};
use hnn::train::training::{train, RunContext, TrainData};
use hnn::train::{ExperimentConfig, Model, ModelKind, ModelSpec, ModelState, RunOptions};
use std::path::{Path, PathBuf};

fn cuda() -> Device {
    let device = select_device(DeviceChoice::Cuda).expect("no CUDA device: these tests need a GPU");
    assert!(device.is_cuda());
    device
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// ‖a − b‖ / ‖b‖ over all elements, on the host in f64.
fn rel(a: &Tensor, b: &Tensor) -> f64 {
    let host = |t: &Tensor| t.to_device(&Device::Cpu).unwrap().to_dtype(DType::F64).unwrap();
    let (a, b) = (host(a), host(b));
    let diff = (&a - &b).unwrap().sqr().unwrap().sum_all().unwrap().to_scalar::<f64>().unwrap().sqrt();
    diff / b.sqr().unwrap().sum_all().unwrap().to_scalar::<f64>().unwrap().sqrt().max(1e-300)
}

fn tolerance(dtype: DType) -> f64 {
    if dtype == DType::F64 {
        1e-12
    } else {
        1e-5
    }
}

/// The same model (same seed) on the CPU and on the GPU, the GPU copy read from a checkpoint
/// written on the CPU.
fn twin(kind: ModelKind, dof: usize, dtype: DType, dir: &Path) -> (ModelState, ModelState) {
    twin_with(ModelSpec { kind, dof, hidden: vec![64, 48], activation: hnn_core::Activation::Tanh }, dtype, dir)
}

fn twin_with(spec: ModelSpec, dtype: DType, dir: &Path) -> (ModelState, ModelState) {
    let kind = spec.kind;
    let cpu = ModelState::new(spec, dtype, &Device::Cpu, 5).unwrap();
    let path = dir.join(format!("{kind:?}_{dtype:?}_{}_{}.safetensors", cpu.spec.activation, cpu.spec.hidden.len()));
    checkpoint::save(&cpu, &TrainingInfo::default(), &path).unwrap();
    let (gpu, _) = checkpoint::load(&path, &cuda(), None, None).unwrap();
    assert!(gpu.device.is_cuda());
    (cpu, gpu)
}

#[test]
fn the_training_gradients_match_the_cpu_kernel() {
    // On the GPU, training takes its gradients from hnn_core::exec::explicit (fused CUDA kernels
    // for tanh, tensor ops otherwise); on the CPU from hnn_core::exec::cpu. Two implementations.
    let dir = tempfile::tempdir().unwrap();
    for dtype in [DType::F64, DType::F32] {
        for activation in [hnn_core::Activation::Tanh, hnn_core::Activation::Softplus] {
            for hidden in [vec![64, 48], vec![32, 24, 16]] {
                for kind in [ModelKind::HNN, ModelKind::BASELINE] {
                    let spec = ModelSpec { kind, dof: 2, hidden: hidden.clone(), activation };
                    let (cpu, gpu) = twin_with(spec, dtype, dir.path());
                    let z = Tensor::randn(0f64, 1.0, (500, 4), &Device::Cpu).unwrap().to_dtype(dtype).unwrap();
                    let t = Tensor::randn(0f64, 1.0, (500, 4), &Device::Cpu).unwrap().to_dtype(dtype).unwrap();
                    let (zg, tg) = (z.to_device(&cuda()).unwrap(), t.to_device(&cuda()).unwrap());
                    let kernel = |m: &Model, z: &Tensor, t: &Tensor| {
                        exec::network_gradient_matching(m.network().expect("an MLP field"), z, t).unwrap()
                    };
                    let c = kernel(&cpu.model, &z, &t).expect("the CPU kernel");
                    let g = kernel(&gpu.model, &zg, &tg).expect("the explicit backward");
                    let what = format!("{dtype:?} {activation} {hidden:?} {kind:?}");
                    let tol = if dtype == DType::F64 { 1e-11 } else { 1e-4 };
                    assert!((g.loss - c.loss).abs() <= tol * c.loss, "{what}: loss {} vs {}", g.loss, c.loss);
                    assert_eq!(g.params.len(), c.params.len(), "{what}");
                    for ((_, a), (_, b)) in g.params.iter().zip(&c.params) {
                        assert!(a.device().is_cuda());
                        let e = rel(a, b);
                        assert!(e < tol, "{what}: a parameter gradient differs by {e:.2e}");
                    }
                    let (ei, et) = (rel(&g.d_states, &c.d_states), rel(&g.d_targets, &c.d_targets));
                    assert!(ei < tol && et < tol, "{what}: ∂/∂z differs by {ei:.2e}, ∂/∂target by {et:.2e}");
                }
            }
        }
    }
}

#[test]
fn the_fused_adam_kernel_matches_the_cpu_update() {
    use hnn::train::optim::{Gradients, Optimizer, OptimizerKind};
    let dir = tempfile::tempdir().unwrap();
    for dtype in [DType::F64, DType::F32] {
        for kind in [OptimizerKind::Adam, OptimizerKind::AdamW] {
            let (cpu, gpu) = twin(ModelKind::HNN, 2, dtype, dir.path());
            let mut opts: Vec<Optimizer> =
                [&cpu, &gpu].iter().map(|s| Optimizer::new(kind, s.named_vars(), 1e-2)).collect();
            let z = Tensor::randn(0f64, 1.0, (300, 4), &Device::Cpu).unwrap().to_dtype(dtype).unwrap();
            let t = Tensor::randn(0f64, 1.0, (300, 4), &Device::Cpu).unwrap().to_dtype(dtype).unwrap();
            for step in 0..3 {
                for (state, opt) in [&cpu, &gpu].iter().zip(opts.iter_mut()) {
                    let dev = &state.device;
                    let (z, t) = (z.to_device(dev).unwrap(), t.to_device(dev).unwrap());
                    let loss =
                        (state.model.time_derivatives(&z).unwrap() - t).unwrap().sqr().unwrap().mean_all().unwrap();
                    opt.step(&Gradients::backward(&loss).unwrap().1, 1e-3, 0.5).unwrap();
                }
                let tol = if dtype == DType::F64 { 1e-12 } else { 1e-5 };
                for ((name, a), (_, b)) in gpu.named_vars().iter().zip(cpu.named_vars().iter()) {
                    let e = rel(a.as_tensor(), b.as_tensor());
                    assert!(e < tol, "{dtype:?} {kind:?} step {step}: {name} differs by {e:.2e}");
                }
                let (sg, sc) = (opts[1].state().unwrap().0, opts[0].state().unwrap().0);
                for ((name, a), (_, b)) in sg.iter().zip(&sc) {
                    let e = rel(a, b);
                    assert!(e < 1e3 * tol, "{dtype:?} {kind:?} step {step}: optimizer {name} differs by {e:.2e}");
                }
            }
        }
    }
}

#[test]
fn auto_picks_the_gpu() {
    assert!(select_device(DeviceChoice::Auto).unwrap().is_cuda());
    assert!(select_device(DeviceChoice::Cuda).unwrap().is_cuda());
}

#[test]
fn models_give_the_same_energy_and_field() {
    let dir = tempfile::tempdir().unwrap();
    for dtype in [DType::F32, DType::F64] {
        for kind in [ModelKind::HNN, ModelKind::SEPARABLE_HNN, ModelKind::BASELINE] {
            let (cpu, gpu) = twin(kind, 2, dtype, dir.path());
            let z = Tensor::randn(0f64, 1.0, (300, 4), &Device::Cpu).unwrap().to_dtype(dtype).unwrap();
            let zg = z.to_device(&cuda()).unwrap();
            let (f_cpu, f_gpu) = (cpu.model.time_derivatives(&z).unwrap(), gpu.model.time_derivatives(&zg).unwrap());
            assert!(f_gpu.device().is_cuda());
            let e = rel(&f_gpu, &f_cpu);
            assert!(e < tolerance(dtype), "{kind:?} {dtype:?}: field differs by {e:.2e}");
            if let (Some(ec), Some(eg)) = (cpu.model.energy(&z).unwrap(), gpu.model.energy(&zg).unwrap()) {
                let e = rel(&eg, &ec);
                assert!(e < tolerance(dtype), "{dtype:?}: energy differs by {e:.2e}");
            }
        }
        // And a checkpoint written from the GPU reads back on the CPU unchanged.
        let (_, gpu) = twin(ModelKind::HNN, 1, dtype, dir.path());
        let path = dir.path().join("from_gpu.safetensors");
        checkpoint::save(&gpu, &TrainingInfo::default(), &path).unwrap();
        let (back, _) = checkpoint::load(&path, &Device::Cpu, None, None).unwrap();
        for ((n1, v1), (n2, v2)) in back.named_vars().iter().zip(gpu.named_vars().iter()) {
            assert_eq!(n1, n2);
            assert_eq!(rel(v1.as_tensor(), v2.as_tensor()), 0.0, "{n1}");
        }
    }
}

#[test]
fn every_integrator_and_the_adaptive_solver_agree() {
    let dir = tempfile::tempdir().unwrap();
    // Separable, so that every integrator (symplectic Euler, leapfrog, Yoshida) applies.
    let (cpu, gpu) = twin(ModelKind::SEPARABLE_HNN, 2, DType::F64, dir.path());
    let z0 = Tensor::randn(0f64, 0.5, (64, 4), &Device::Cpu).unwrap();
    let z0g = z0.to_device(&cuda()).unwrap();
    let times: Vec<f64> = (0..=20).map(|i| i as f64 * 0.1).collect();
    for (kind, name) in IntegratorKind::ALL {
        let fixed = || Solver::Fixed { integrator: kind.build(), dt: 0.01 };
        let (a, b) = (fixed(), fixed());
        let r_cpu = rollout(&cpu.model, &z0, &times, &a).unwrap();
        let r_gpu = rollout(&gpu.model, &z0g, &times, &b).unwrap();
        assert!(r_gpu.device().is_cuda());
        let e = rel(&r_gpu, &r_cpu);
        assert!(e < 1e-10, "{name}: rollouts differ by {e:.2e}");
    }
    let dp = || Solver::Adaptive(DormandPrince::new(1e-9, 1e-9));
    let r_cpu = rollout(&cpu.model, &z0, &times, &dp()).unwrap();
    let r_gpu = rollout(&gpu.model, &z0g, &times, &dp()).unwrap();
    let e = rel(&r_gpu, &r_cpu);
    assert!(e < 1e-8, "adaptive Dormand–Prince: rollouts differ by {e:.2e}");
}

fn smoke(name: &str, steps: usize) -> ExperimentConfig {
    let path = repo().join(format!("experiments/{name}.toml"));
    ExperimentConfig::from_file(&path).unwrap().smoke(steps).unwrap()
}

/// Weights after `steps` of training on `device`, and the training curve.
fn trained(cfg: &ExperimentConfig, kind: ModelKind, device: &Device) -> (Vec<Tensor>, Vec<f64>) {
    let ds = cfg.data.load(0, None).unwrap();
    let data = TrainData::new(&ds, &cfg.train.objective, DType::F64, device).unwrap();
    let spec =
        ModelSpec { kind, dof: ds.meta.dof, hidden: cfg.model.hidden.clone(), activation: hnn_core::Activation::Tanh };
    let state = ModelState::new(spec, DType::F64, device, 3).unwrap();
    let ctx = RunContext {
        seed: 9,
        checkpoint: None,
        info: TrainingInfo::default(),
        progress: false,
        label: "gpu".into(),
        stop: None,
    };
    let report = train(&state, &data, &cfg.train, &ctx, None).unwrap();
    (state.named_vars().iter().map(|(_, v)| v.as_tensor().clone()).collect(), report.train_curve)
}

#[test]
fn training_on_the_gpu_follows_the_cpu() {
    // Gradient matching with mini-batches and input noise, and trajectory matching.
    let mut spring = smoke("spring", 30);
    spring.train.input_noise = 0.01;
    let oscillator = smoke("oscillator_trajectory", 10);
    for (cfg, kinds) in [(&spring, vec![ModelKind::HNN, ModelKind::BASELINE]), (&oscillator, vec![ModelKind::HNN])] {
        for kind in kinds {
            let (w_cpu, c_cpu) = trained(cfg, kind, &Device::Cpu);
            let (w_gpu, c_gpu) = trained(cfg, kind, &cuda());
            assert!(w_gpu[0].device().is_cuda());
            for (i, (a, b)) in c_gpu.iter().zip(&c_cpu).enumerate() {
                assert!((a - b).abs() <= 1e-8 * b.abs(), "{kind:?}: step {i} loss {a} on the GPU, {b} on the CPU");
            }
            for (a, b) in w_gpu.iter().zip(&w_cpu) {
                let e = rel(a, b);
                assert!(e < 1e-8, "{kind:?}: weights differ by {e:.2e} after training");
            }
        }
    }
}

fn options(out: &Path, device: DeviceChoice) -> RunOptions {
    RunOptions { out: out.to_path_buf(), device, precision: Precision::F64, plots: false, ..RunOptions::default() }
}

#[test]
fn experiments_run_end_to_end_on_the_gpu() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["spring", "two_body"] {
        let cfg = smoke(name, 20);
        let cpu = &hnn::train::experiment::run(&cfg, &options(&dir.path().join("cpu"), DeviceChoice::Cpu)).unwrap()[0];
        let gpu = &hnn::train::experiment::run(&cfg, &options(&dir.path().join("gpu"), DeviceChoice::Cuda)).unwrap()[0];
        assert_eq!(gpu.device, "cuda");
        for (model, run) in &gpu.models {
            let (g, c) = (&run.metrics, &cpu.models[model].metrics);
            for (what, a, b) in [
                ("test loss", g.test_loss.mean, c.test_loss.mean),
                ("energy MSE", g.energy_mse.mean, c.energy_mse.mean),
                ("trajectory MSE", g.trajectory_mse.mean, c.trajectory_mse.mean),
            ] {
                assert!((a - b).abs() <= 1e-6 * b.abs(), "{name}/{model}: {what} {a} on the GPU, {b} on the CPU");
            }
        }
        assert!(dir.path().join(format!("gpu/{name}/0/hnn.safetensors")).is_file());
    }
}

#[test]
fn the_pixel_experiment_runs_on_the_gpu_and_follows_the_cpu() {
    let text = std::fs::read_to_string(repo().join("experiments/pixels.toml")).unwrap();
    let cfg = hnn::pixels::experiment::PixelExperiment::from_toml(&text, "pixels.toml").unwrap().smoke(20).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opts = |sub: &str, device| RunOptions { plots: true, ..options(&dir.path().join(sub), device) };
    let cpu = &hnn::pixels::experiment::run(&cfg, &opts("cpu", DeviceChoice::Cpu)).unwrap()[0];
    let gpu = &hnn::pixels::experiment::run(&cfg, &opts("gpu", DeviceChoice::Cuda)).unwrap()[0];
    assert_eq!(gpu.device, "cuda");
    for (model, run) in &gpu.models {
        let (g, c) = (&run.metrics, &cpu.models[model].metrics);
        let (a, b) = (g.test_loss.mean, c.test_loss.mean);
        assert!((a - b).abs() <= 1e-6 * b.abs(), "pixels/{model}: test loss {a} on the GPU, {b} on the CPU");
        assert!(g.energy_mse.mean.is_finite() && g.trajectory_mse.mean.is_finite(), "pixels/{model}");
    }
    assert!(dir.path().join("gpu/pixels/0/rollout.gif").is_file());
}

#[test]
fn an_ensemble_on_the_gpu_ends_where_each_member_would_alone() {
    // Three seeds of the HNN and the baseline in one `train_ensemble` on the GPU, against each
    // trained alone there and against the CPU ensemble.
    let cfg = smoke("spring", 30);
    let device = cuda();
    let ctx = |i: usize| RunContext {
        seed: 9 + i as u64,
        checkpoint: None,
        info: TrainingInfo::default(),
        progress: false,
        label: "gpu".into(),
        stop: None,
    };
    let members: Vec<(u64, ModelKind)> =
        (0..3).flat_map(|seed| [(seed, ModelKind::HNN), (seed, ModelKind::BASELINE)]).collect();
    let run = |device: &Device, together: bool| -> Vec<Vec<Tensor>> {
        let data: Vec<TrainData> = members
            .iter()
            .map(|(seed, _)| {
                let ds = cfg.data.load(*seed, None).unwrap();
                TrainData::new(&ds, &cfg.train.objective, DType::F64, device).unwrap()
            })
            .collect();
        let states: Vec<ModelState> = members
            .iter()
            .map(|(seed, kind)| {
                let spec = ModelSpec {
                    kind: *kind,
                    dof: 1,
                    hidden: cfg.model.hidden.clone(),
                    activation: hnn_core::Activation::Tanh,
                };
                ModelState::new(spec, DType::F64, device, *seed).unwrap()
            })
            .collect();
        let ctxs: Vec<RunContext> = (0..members.len()).map(ctx).collect();
        if together {
            let reports = hnn::train::training::train_ensemble(
                &states.iter().collect::<Vec<_>>(),
                &data.iter().collect::<Vec<_>>(),
                &cfg.train,
                &ctxs,
                &vec![None; members.len()],
            )
            .unwrap();
            assert!(reports.iter().all(Result::is_ok));
        } else {
            for ((s, d), c) in states.iter().zip(&data).zip(&ctxs) {
                train(s, d, &cfg.train, c, None).unwrap();
            }
        }
        states.iter().map(|s| s.named_vars().iter().map(|(_, v)| v.as_tensor().clone()).collect()).collect()
    };
    let (gpu_together, gpu_alone, cpu_together) = (run(&device, true), run(&device, false), run(&Device::Cpu, true));
    for (i, ((t, a), c)) in gpu_together.iter().zip(&gpu_alone).zip(&cpu_together).enumerate() {
        for ((t, a), c) in t.iter().zip(a).zip(c) {
            assert_eq!(rel(t, a), 0.0, "member {i}: the GPU ensemble against the member alone");
            let e = rel(t, c);
            assert!(e < 1e-8, "member {i}: GPU and CPU ensembles differ by {e:.2e}");
        }
    }
}
