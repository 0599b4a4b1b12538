//! The training loop: resumption, divergence handling, checkpoints and their errors.

mod common;

use candle_core::{DType, Device, Tensor};
use common::*;
use hnn_core::VectorField;
use hnn_train::checkpoint::{self, TrainingInfo};
use hnn_train::optim::Gradients;
use hnn_train::training::{train, RunContext, TrainData};
use hnn_train::{Error, ModelKind, ModelSpec, ModelState};
use std::path::Path;

fn setup(steps: usize) -> (hnn_train::ExperimentConfig, hnn_systems::Dataset) {
    let mut cfg = smoke("spring", steps);
    cfg.train.batch_size = 64; // mini-batches: the sampler's stream must resume too
    cfg.train.input_noise = 0.01;
    let ds = cfg.data.load(0, None).unwrap();
    (cfg, ds)
}

fn spec(kind: ModelKind) -> ModelSpec {
    ModelSpec { kind, dof: 1, hidden: vec![16, 16], activation: hnn_core::Activation::Tanh }
}

fn ctx(path: &Path) -> RunContext {
    RunContext {
        seed: 9,
        checkpoint: Some(path.to_path_buf()),
        info: TrainingInfo::default(),
        progress: false,
        label: "t".into(),
        stop: None,
    }
}

fn weights(state: &ModelState) -> Vec<u32> {
    state
        .named_vars()
        .iter()
        .flat_map(|(_, v)| v.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap())
        .map(f32::to_bits)
        .collect()
}

#[test]
fn resume_ends_where_an_uninterrupted_run_would() {
    let dir = tempfile::tempdir().unwrap();
    let (mut cfg, ds) = setup(40);
    let data = TrainData::new(&ds, &cfg.train.objective, DType::F32, &Device::Cpu).unwrap();

    let straight = ModelState::new(spec(ModelKind::HNN), DType::F32, &Device::Cpu, 3).unwrap();
    let full = train(&straight, &data, &cfg.train, &ctx(&dir.path().join("straight.safetensors")), None).unwrap();

    // Interrupted after 15 steps, then resumed to 40.
    cfg.train.steps = 15;
    let first = ModelState::new(spec(ModelKind::HNN), DType::F32, &Device::Cpu, 3).unwrap();
    let path = dir.path().join("part.safetensors");
    train(&first, &data, &cfg.train, &ctx(&path), None).unwrap();
    cfg.train.steps = 40;
    let (resumed, meta) = checkpoint::load(&path, &Device::Cpu, None, Some(ModelKind::HNN)).unwrap();
    assert_eq!(meta.training.step, 15);
    let rest = train(&resumed, &data, &cfg.train, &ctx(&path), Some(&path)).unwrap();

    assert_eq!(rest.steps_run, 25);
    // A checkpoint paired with a sidecar from another point of a run is refused, naming both.
    let early = dir.path().join("early.safetensors");
    cfg.train.steps = 5;
    let other = ModelState::new(spec(ModelKind::HNN), DType::F32, &Device::Cpu, 3).unwrap();
    train(&other, &data, &cfg.train, &ctx(&early), None).unwrap();
    std::fs::copy(checkpoint::optimizer_path(&path), checkpoint::optimizer_path(&early)).unwrap();
    cfg.train.steps = 40;
    let err = train(&other, &data, &cfg.train, &ctx(&early), Some(&early)).unwrap_err().to_string();
    assert!(err.contains("step 5") && err.contains("step 40") && err.contains("early.optim.safetensors"), "{err}");
    assert_eq!(weights(&resumed), weights(&straight), "same weights bit for bit");
    assert_eq!(rest.train_curve, full.train_curve, "same loss curve");
    // The interrupted run also evaluated at its last step (15); otherwise the same evaluations.
    let resumed_tests: Vec<_> = rest.test_curve.iter().filter(|(s, _)| *s != 15).cloned().collect();
    assert_eq!(resumed_tests, full.test_curve);
}

#[test]
fn divergence_stops_with_the_step_and_keeps_the_last_good_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (mut cfg, ds) = setup(5);
    let data = TrainData::new(&ds, &cfg.train.objective, DType::F32, &Device::Cpu).unwrap();
    let state = ModelState::new(spec(ModelKind::HNN), DType::F32, &Device::Cpu, 1).unwrap();
    let path = dir.path().join("hnn.safetensors");
    train(&state, &data, &cfg.train, &ctx(&path), None).unwrap();
    let good = std::fs::read(&path).unwrap();

    // Resume with an absurd learning rate: the weights overflow to ±inf.
    cfg.train.steps = 20;
    cfg.train.learning_rate = 1e300;
    cfg.train.checkpoint_every = 1;
    let err = train(&state, &data, &cfg.train, &ctx(&path), Some(&path)).unwrap_err();
    let Error::Diverged { step, .. } = &err else { panic!("{err}") };
    assert_eq!(*step, 6, "the first step after the resume");
    assert!(err.to_string().contains("step 6"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), good, "the last good checkpoint survives");
    assert!(checkpoint::load(&path, &Device::Cpu, None, None).is_ok());
}

#[test]
fn checkpoints_round_trip_and_bad_ones_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let state = ModelState::new(spec(ModelKind::HNN), DType::F32, &Device::Cpu, 4).unwrap();
    let path = dir.path().join("hnn.safetensors");
    checkpoint::save(
        &state,
        &TrainingInfo { mode: hnn_train::checkpoint::TrainingMode::Gradient, step: 7, seed: 4, ..Default::default() },
        &path,
    )
    .unwrap();
    let (loaded, meta) = checkpoint::load(&path, &Device::Cpu, None, None).unwrap();
    assert_eq!(meta.model, state.spec);
    assert_eq!(meta.dtype, "f32");
    assert_eq!(meta.layout, "q,p");
    assert_eq!(meta.training.step, 7);
    let z = Tensor::randn(0f32, 1.0, (5, 2), &Device::Cpu).unwrap();
    let a = state.model.time_derivatives(&z).unwrap().to_vec2::<f32>().unwrap();
    let b = loaded.model.time_derivatives(&z).unwrap().to_vec2::<f32>().unwrap();
    assert_eq!(a, b);
    // Loading as f64 converts.
    let (as64, _) = checkpoint::load(&path, &Device::Cpu, Some(DType::F64), None).unwrap();
    assert_eq!(as64.dtype, DType::F64);

    let bytes = std::fs::read(&path).unwrap();
    let write = |name: &str, b: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, b).unwrap();
        p
    };
    let expect = |p: &Path, what: &str| {
        let e = checkpoint::load(p, &Device::Cpu, None, Some(ModelKind::HNN)).unwrap_err().to_string();
        assert!(e.contains(what), "{}: `{e}` should mention `{what}`", p.display());
        assert!(e.contains(p.file_name().unwrap().to_str().unwrap()), "{e} names the file");
    };
    expect(&write("truncated.safetensors", &bytes[..bytes.len() - 100]), "truncated or corrupt");
    expect(&write("empty.safetensors", b""), "truncated or corrupt");
    expect(&write("garbage.safetensors", b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}"), "truncated or corrupt");
    expect(&dir.path().join("missing.safetensors"), "missing.safetensors");

    // Another model kind.
    let base = ModelState::new(spec(ModelKind::BASELINE), DType::F32, &Device::Cpu, 4).unwrap();
    let bpath = dir.path().join("baseline.safetensors");
    checkpoint::save(&base, &TrainingInfo::default(), &bpath).unwrap();
    expect(&bpath, "holds a `baseline` model, expected `hnn`");

    // Any edit after writing: a flipped bit in the weights, a metadata field changed in place
    // (another valid activation, other widths), a tensor's dtype rewritten over the same bytes.
    let mut flipped = bytes.clone();
    let last = flipped.len() - 3;
    flipped[last] ^= 0x10;
    expect(&write("flipped.safetensors", &flipped), "checksum mismatch");
    for (from, to) in [(&b"\\\"tanh\\\""[..], &b"\\\"silu\\\""[..]), (b"[16,16]", b"[16,17]"), (b"\"F32\"", b"\"U32\"")]
    {
        let at = bytes.windows(from.len()).position(|w| w == from).unwrap_or_else(|| panic!("{from:?} in the header"));
        let mut tampered = bytes.clone();
        tampered[at..at + to.len()].copy_from_slice(to);
        expect(&write("edited.safetensors", &tampered), "checksum mismatch");
    }
    // A file written before checksums (the same contents, unsealed) still loads.
    let (meta, tensors) = checkpoint::read_raw(&path).unwrap();
    let unsealed = safetensors::serialize(
        tensors.clone().into_iter().collect::<Vec<_>>(),
        Some(std::collections::HashMap::from([("hnn".to_string(), meta.to_string())])),
    )
    .unwrap();
    let old = write("old.safetensors", &unsealed);
    let (reloaded, _) = checkpoint::load(&old, &Device::Cpu, None, Some(ModelKind::HNN)).unwrap();
    assert_eq!(weights(&reloaded), weights(&loaded));
    // Metadata that promises other shapes or dtypes than the tensors have, written with a valid
    // checksum (a program's mistake rather than corruption): named.
    let mut meta = meta;
    let tensors: Vec<(String, Tensor)> = tensors.into_iter().collect();
    meta["model"]["hidden"] = serde_json::json!([16, 17]);
    checkpoint::save_tensors(&dir.path().join("shape.safetensors"), tensors.clone(), meta.to_string()).unwrap();
    expect(&dir.path().join("shape.safetensors"), "has shape");
    meta["model"]["hidden"] = serde_json::json!([16, 16]);
    let as_u32: Vec<(String, Tensor)> =
        tensors.iter().map(|(n, t)| (n.clone(), t.to_dtype(DType::U32).unwrap())).collect();
    checkpoint::save_tensors(&dir.path().join("dtype.safetensors"), as_u32, meta.to_string()).unwrap();
    expect(&dir.path().join("dtype.safetensors"), "stored as U32");
    // Metadata that promises a model far larger than the file: refused before it is built.
    for (hidden, what) in [(vec![16000, 16000], "metadata describes a model"), (vec![1usize << 40], "model.hidden")] {
        meta["model"]["hidden"] = serde_json::json!(hidden);
        let huge = dir.path().join("huge.safetensors");
        checkpoint::save_tensors(&huge, tensors.clone(), meta.to_string()).unwrap();
        expect(&huge, what);
    }
    // No hnn metadata (e.g. the optimizer sidecar, or someone else's file).
    expect(&checkpoint::optimizer_path(&path).with_file_name("hnn.optim.safetensors"), "hnn.optim.safetensors");
    let other = dir.path().join("other.safetensors");
    state.varmap.save(&other).unwrap();
    expect(&other, "not an hnn checkpoint");

    // Resuming without the optimizer sidecar says so.
    let (cfg, ds) = setup(5);
    let data = TrainData::new(&ds, &cfg.train.objective, DType::F32, &Device::Cpu).unwrap();
    let lone = dir.path().join("lone.safetensors");
    std::fs::copy(&path, &lone).unwrap();
    let err = train(&loaded, &data, &cfg.train, &ctx(&lone), Some(&lone)).unwrap_err().to_string();
    assert!(err.contains("lone.optim.safetensors"), "{err}");
}

#[test]
fn optimizer_state_holds_no_autograd_graph() {
    // Regression: moments built from `backward`'s gradients kept every step's graph alive and a
    // 2000-step run grew to 24 GB.
    use hnn_train::optim::{Optimizer, OptimizerKind};
    let state = ModelState::new(spec(ModelKind::HNN), DType::F32, &Device::Cpu, 2).unwrap();
    let mut opt = Optimizer::new(OptimizerKind::Adam, state.named_vars(), 1e-4);
    let z = Tensor::randn(0f32, 1.0, (8, 2), &Device::Cpu).unwrap();
    for _ in 0..3 {
        let loss = state.model.time_derivatives(&z).unwrap().sqr().unwrap().mean_all().unwrap();
        opt.step(&Gradients::backward(&loss).unwrap().1, 1e-3, 1.0).unwrap();
    }
    let (moments, steps) = opt.state().unwrap();
    assert_eq!(steps, 3);
    assert!(!moments.is_empty());
    for (name, t) in moments {
        assert!(!t.track_op(), "{name} keeps an autograd graph");
    }
}

#[test]
fn a_frozen_model_is_a_snapshot_of_the_weights() {
    // The fused inference kernel caches a frozen model's weights; the frozen model must not see
    // later updates of the variables either (it used to share their storage).
    let state = ModelState::new(spec(ModelKind::HNN), DType::F64, &Device::Cpu, 3).unwrap();
    let z = Tensor::new(&[[0.3f64, -0.2], [1.0, 0.5]], &Device::Cpu).unwrap();
    let frozen = state.frozen(DType::F64, &Device::Cpu).unwrap();
    let before = frozen.time_derivatives(&z).unwrap().to_vec2::<f64>().unwrap();
    for (_, var) in state.named_vars() {
        var.set(&(var.as_tensor() * 2.0).unwrap()).unwrap();
    }
    let after = frozen.time_derivatives(&z).unwrap().to_vec2::<f64>().unwrap();
    assert_eq!(before, after);
    let refrozen = state.frozen(DType::F64, &Device::Cpu).unwrap().time_derivatives(&z).unwrap();
    assert_ne!(refrozen.to_vec2::<f64>().unwrap(), before, "a new snapshot sees the new weights");
}

#[test]
fn each_family_bounds_its_own_parameter_count() {
    // The bound refuses oversized configs and checkpoints before anything is allocated, so it
    // must never be below what a model of that kind really holds: the separable and dissipative
    // HNNs have two networks each, more than one 2n → hidden → 2n MLP.
    for kind in hnn_train::ModelKind::all() {
        for (dof, hidden) in [(1, vec![200, 200]), (4, vec![64]), (3, vec![16, 32, 8])] {
            let spec = hnn_train::ModelSpec { kind, dof, hidden, activation: hnn_core::Activation::Tanh };
            let state = ModelState::new(spec.clone(), DType::F32, &Device::Cpu, 0).unwrap();
            let held: usize = state.named_vars().iter().map(|(_, v)| v.elem_count()).sum();
            let bound = spec.parameter_bound();
            assert!(bound >= held as f64, "{spec}: bound {bound} below the {held} parameters it holds");
            assert!(bound <= 1.2 * held as f64 + 100.0, "{spec}: bound {bound} far above the {held} it holds");
        }
    }
}
