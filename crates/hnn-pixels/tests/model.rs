//! The pixel model: shapes, losses, gradients reaching both parts, and learning on small data.

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use hnn_pixels::{LossWeights, PixelModel, PixelTask};
use hnn_train::optim::{Gradients, Optimizer, OptimizerKind};
use hnn_train::{ModelKind, ModelSpec};
use std::collections::HashMap;

fn model(kind: ModelKind, varmap: &VarMap) -> PixelModel {
    let spec = ModelSpec { kind, dof: 1, hidden: vec![64, 64], activation: hnn_core::Activation::Tanh };
    let m = PixelModel::new(784, 64, &spec, VarBuilder::from_varmap(varmap, DType::F32, &Device::Cpu)).unwrap();
    hnn_core::init::orthogonal_init(varmap, 0).unwrap();
    m
}

fn named(varmap: &VarMap) -> Vec<(String, candle_core::Var)> {
    let mut v: Vec<_> = varmap.data().lock().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn losses_train_both_parts_and_decrease() {
    let task = PixelTask { trajectories: 6, steps: 30, ..PixelTask::default() };
    let ds = task.generate(0).unwrap();
    let pairs = ds.pairs(0, 6).unwrap(); // [6, 31, 1568]
    let (n, t, w) = pairs.dims3().unwrap();
    let x = pairs.narrow(1, 0, t - 1).unwrap().reshape((n * (t - 1), w)).unwrap();
    let x_next = pairs.narrow(1, 1, t - 1).unwrap().reshape((n * (t - 1), w)).unwrap();
    let window = [x, x_next];

    for kind in [ModelKind::HNN, ModelKind::BASELINE] {
        let varmap = VarMap::new();
        let m = model(kind, &varmap);
        let names: Vec<String> = named(&varmap).into_iter().map(|(n, _)| n).collect();
        assert!(names.contains(&"ae.encoder.0.weight".to_string()) && names.contains(&"ae.decoder.3.bias".to_string()));
        assert!(names.iter().any(|n| n.starts_with(&format!("{}.layers.", kind.name()))), "{names:?}");

        let first = m.losses(&window, LossWeights::default()).unwrap();
        let grads = first.total.backward().unwrap();
        for (name, var) in named(&varmap) {
            if name.ends_with(".bias") && name.starts_with(kind.name()) {
                continue; // the dynamics' hidden biases may not all reach the loss at init
            }
            assert!(grads.get(var.as_tensor()).is_some(), "{name} gets no gradient");
        }
        let mut opt = Optimizer::new(OptimizerKind::Adam, named(&varmap), 1e-5);
        let start = first.total.to_scalar::<f32>().unwrap();
        let mut last = start;
        for _ in 0..60 {
            let l = m.losses(&window, LossWeights::default()).unwrap();
            last = l.total.to_scalar::<f32>().unwrap();
            opt.step(&Gradients::backward(&l.total).unwrap().1, 1e-3, 1.0).unwrap();
        }
        assert!(last < 0.5 * start, "{}: total loss {start} → {last}", kind.name());
        let l = m.losses(&window, LossWeights::default()).unwrap();
        let parts: f32 = [&l.reconstruction, &l.canonical].iter().map(|t| t.to_scalar::<f32>().unwrap()).sum::<f32>()
            + 0.1 * l.dynamics.to_scalar::<f32>().unwrap();
        assert!(
            (parts - l.total.to_scalar::<f32>().unwrap()).abs() < 1e-6,
            "total = recon + canonical + 0.1 · dynamics"
        );
    }
}

#[test]
fn the_latent_state_must_be_two_dimensional() {
    let varmap = VarMap::new();
    let spec = ModelSpec { kind: ModelKind::HNN, dof: 2, hidden: vec![8], activation: hnn_core::Activation::Tanh };
    let err = PixelModel::new(784, 16, &spec, VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu)).unwrap_err();
    assert!(err.to_string().contains("dof must be 1"), "{err}");
    let x = Tensor::zeros((3, 1568), DType::F32, &Device::Cpu).unwrap();
    let m = model(ModelKind::HNN, &VarMap::new());
    assert_eq!(m.ae.encode(&x).unwrap().dims(), &[3, 2]);
    assert_eq!(m.ae.decode(&m.ae.encode(&x).unwrap()).unwrap().dims(), &[3, 1568]);
    // A window must hold the pairs the latent step needs, and the step must span a frame.
    let err = m.losses(std::slice::from_ref(&x), LossWeights::default()).unwrap_err().to_string();
    assert!(err.contains("offsets [0, 1]"), "{err}");
    let mut m = m.clone();
    m.latent_step.horizon = 0;
    let err = m.losses(&[x.clone(), x.clone()], LossWeights::default()).unwrap_err().to_string();
    assert!(err.contains("horizon 0"), "{err}");
}

#[test]
fn pixel_experiment_smoke_run_writes_everything() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../experiments/pixels.toml")).unwrap();
    let mut cfg = hnn_pixels::experiment::PixelExperiment::from_toml(&text, "pixels.toml").unwrap().smoke(20).unwrap();
    // The analysis energy as exactly one eighth of the data's pendulum energy: 1/64 of its MSE.
    let p = &cfg.data.pendulum;
    cfg.eval.analysis_energy = Some(hnn_systems::analytic::Pendulum::new(8.0 * p.m, p.g / 64.0, p.l).into());
    let dir = tempfile::tempdir().unwrap();
    let opts = hnn_train::RunOptions {
        out: dir.path().to_path_buf(),
        device: hnn_train::device::DeviceChoice::Cpu,
        ..Default::default()
    };
    let runs = hnn_pixels::experiment::run(&cfg, &opts).unwrap();
    let m = &runs[0];
    assert_eq!(m.models.len(), 2);
    for (name, run) in &m.models {
        assert!(run.metrics.energy_mse.mean.is_finite(), "{name}");
        assert!(run.metrics.trajectory_mse.mean.is_finite(), "{name}");
        assert_eq!(run.metrics.energy_mse.n, 2);
        let analysis = run.metrics.energy_mse_analysis.as_ref().expect("the analysis energy's figure").mean;
        let e = run.metrics.energy_mse.mean;
        assert!((analysis * 64.0 - e).abs() <= 1e-9 * e, "{name}: {analysis} vs {e}/64");
    }
    let run_dir = dir.path().join("pixels/0");
    for f in [
        "hnn.safetensors",
        "baseline.safetensors",
        "hnn.optim.safetensors",
        "metrics.json",
        "frame_mse.json",
        "latent.json",
        "config.toml",
        "loss.png",
        "frame_mse.png",
        "latent_phase.png",
        "rollout_strip.png",
        "rollout.gif",
    ] {
        let picture = f.ends_with(".png") || f.ends_with(".gif");
        assert!(run_dir.join(f).is_file() || (picture && !cfg!(feature = "plots")), "{f} missing");
    }
    // The checkpoint holds both parts under documented prefixes and says what it is.
    let bytes = std::fs::read(run_dir.join("hnn.safetensors")).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let json: serde_json::Value = serde_json::from_str(&meta.metadata().as_ref().unwrap()["hnn"]).unwrap();
    assert_eq!(json["format"], "hnn-pixel-checkpoint");
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let names: Vec<String> = st.names().into_iter().map(String::from).collect();
    assert!(names.iter().any(|n| n == "ae.encoder.0.weight") && names.iter().any(|n| n == "hnn.layers.0.weight"));
    // A state-space loader refuses it clearly.
    let err = hnn_train::checkpoint::load(&run_dir.join("hnn.safetensors"), &Device::Cpu, None, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("hnn-pixel-checkpoint"), "{err}");
    // Bad configs name the field.
    let bad = text.replace("dynamics_weight = 0.1", "dynamics_weight = -1.0");
    assert!(hnn_pixels::experiment::PixelExperiment::from_toml(&bad, "x")
        .unwrap_err()
        .to_string()
        .contains("dynamics_weight"));
    // A name that would leave the output folder.
    let bad = text.replacen("name = \"pixels\"", "name = \"..\"", 1);
    let err = hnn_pixels::experiment::PixelExperiment::from_toml(&bad, "x").unwrap_err().to_string();
    assert!(err.contains("not a plain folder name"), "{err}");
}

#[test]
fn fused_step_matches_autograd() {
    // f64, small sizes, a batch split into several blocks; both latent models, both latent
    // integrators and horizons of one and several frames: the fused step's loss and every
    // gradient equal one `backward` of the losses.
    use hnn_core::IntegratorKind;
    use hnn_pixels::LatentStep;
    let task = PixelTask { trajectories: 2, steps: 40, ..PixelTask::default() };
    let ds = task.generate(1).unwrap();
    let pairs = ds.pairs(0, 2).unwrap().to_dtype(DType::F64).unwrap();
    let (n, t, w) = pairs.dims3().unwrap();
    // The windows starting at frames 0..t − 4 of each trajectory, at `offsets`.
    let window = |offsets: &[usize]| -> Vec<Tensor> {
        offsets.iter().map(|&k| pairs.narrow(1, k, t - 4).unwrap().reshape((n * (t - 4), w)).unwrap()).collect()
    };
    for kind in [ModelKind::HNN, ModelKind::BASELINE] {
        // Euler × 1 across one frame takes the dynamics model's fused kernel, the others autograd.
        // The reference's weights, then others (each weight must reach both paths).
        for (integrator, substeps, horizon, weights) in [
            (IntegratorKind::Euler, 1, 1, LossWeights::default()),
            (IntegratorKind::Euler, 1, 1, LossWeights { dynamics: 2.0, canonical: 0.25 }),
            (IntegratorKind::Euler, 2, 1, LossWeights::default()),
            (IntegratorKind::Rk4, 1, 1, LossWeights { dynamics: 0.5, canonical: 3.0 }),
            (IntegratorKind::Rk4, 2, 4, LossWeights { dynamics: 1.5, canonical: 0.5 }),
        ] {
            let varmap = VarMap::new();
            let spec = ModelSpec { kind, dof: 1, hidden: vec![12, 12], activation: hnn_core::Activation::Tanh };
            let mut m =
                PixelModel::new(784, 24, &spec, VarBuilder::from_varmap(&varmap, DType::F64, &Device::Cpu)).unwrap();
            m.latent_step = LatentStep { integrator, substeps, horizon };
            let window = window(&m.latent_step.offsets());
            hnn_core::init::orthogonal_init(&varmap, 3).unwrap();
            let vars = named(&varmap);
            let dynamics: Vec<candle_core::Var> =
                vars.iter().filter(|(n, _)| !n.starts_with("ae.")).map(|(_, v)| v.clone()).collect();
            let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
            let (loss, fused) = pool
                .install(|| hnn_pixels::kernel::pixel_gradients(&m, &dynamics, &window, weights))
                .unwrap()
                .expect("the fused path runs on the CPU in f64");
            let reference = m.losses(&window, weights).unwrap().total;
            let (expected, auto) = Gradients::backward(&reference).unwrap();
            assert!((loss - expected).abs() < 1e-12 * expected, "{kind:?} {integrator:?}: loss {loss} vs {expected}");
            for (name, var) in &vars {
                let a = auto.get(var.as_tensor());
                let f = fused.get(var.as_tensor());
                let (a, f) = match (a, f) {
                    (None, None) => continue,
                    (Some(a), Some(f)) => (a, f),
                    _ => panic!("{name}: gradient present on one path only"),
                };
                let scale = a.abs().unwrap().max_all().unwrap().to_scalar::<f64>().unwrap().max(1e-30);
                let diff = (a - f).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f64>().unwrap();
                assert!(diff <= 1e-10 * scale, "{kind:?} {integrator:?} {name}: {diff:e} vs scale {scale:e}");
            }
        }
    }
}

#[test]
fn latent_step_settings_are_validated() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../experiments/pixels.toml")).unwrap();
    let cfg = hnn_pixels::experiment::PixelExperiment::from_toml(&text, "pixels.toml").unwrap();
    assert_eq!(cfg.model.latent_step().unwrap(), hnn_pixels::LatentStep::default());
    let bad = text.replace("latent_integrator = \"euler\"", "latent_integrator = \"verlet9\"");
    let err = hnn_pixels::experiment::PixelExperiment::from_toml(&bad, "pixels.toml").unwrap_err().to_string();
    // The TOML error quotes the offending line and lists the integrators.
    assert!(err.contains("latent_integrator = \"verlet9\"") && err.contains("leapfrog"), "{err}");
    let bad = text.replace("latent_substeps = 1", "latent_substeps = 0");
    let err = hnn_pixels::experiment::PixelExperiment::from_toml(&bad, "pixels.toml").unwrap_err().to_string();
    assert!(err.contains("model.latent_substeps"), "{err}");
    for horizon in ["0", "101"] {
        let bad = text.replace("latent_horizon = 1", &format!("latent_horizon = {horizon}"));
        let err = hnn_pixels::experiment::PixelExperiment::from_toml(&bad, "pixels.toml").unwrap_err().to_string();
        assert!(err.contains("model.latent_horizon"), "{err}");
    }
    let fits = text.replace("latent_horizon = 1", "latent_horizon = 100");
    hnn_pixels::experiment::PixelExperiment::from_toml(&fits, "pixels.toml").unwrap();
    assert_eq!(cfg.model.loss_weights(), LossWeights::default(), "the reference's weights");
    let bad = text.replace("dynamics_weight = 0.1", "dynamics_weight = 0.1\ncanonical_weight = -1.0");
    let err = hnn_pixels::experiment::PixelExperiment::from_toml(&bad, "pixels.toml").unwrap_err().to_string();
    assert!(err.contains("model.canonical_weight"), "{err}");
}

#[test]
fn every_pixel_experiment_file_is_valid() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../experiments");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        if path.extension().is_some_and(|e| e == "toml") && text.contains("kind = \"pixels\"") {
            let cfg = hnn_pixels::experiment::PixelExperiment::from_toml(&text, &path.display().to_string())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            cfg.validate().unwrap();
            assert_eq!(path.file_stem().unwrap().to_str().unwrap(), cfg.name, "file name = experiment name");
            seen += 1;
        }
    }
    assert!(seen >= 2, "pixels.toml and pixels_strong_dynamics.toml");
}

#[test]
fn pixel_training_resumes_exactly_and_checkpoints_evaluate() {
    use hnn_pixels::experiment::{load_checkpoint, train_model, PixelExperiment, TrainJob};
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../experiments/pixels.toml")).unwrap();
    let mut cfg = PixelExperiment::from_toml(&text, "pixels.toml").unwrap().smoke(6).unwrap();
    cfg.model.kinds = vec![ModelKind::HNN];
    let dir = tempfile::tempdir().unwrap();
    let job = |name: &str| TrainJob {
        seed: 3,
        kind: ModelKind::HNN,
        checkpoint: dir.path().join(name),
        resume: None,
        progress: false,
    };
    let cpu = Device::Cpu;
    // Six steps straight, and three steps then three more from the checkpoint.
    train_model(&cfg, &job("straight.safetensors"), &cpu, DType::F32).unwrap();
    let half =
        PixelExperiment { train: hnn_train::training::TrainConfig { steps: 3, ..cfg.train.clone() }, ..cfg.clone() };
    let split = dir.path().join("split.safetensors");
    train_model(&half, &job("split.safetensors"), &cpu, DType::F32).unwrap();
    let resumed = TrainJob { resume: Some(&split), ..job("split.safetensors") };
    let report = train_model(&cfg, &resumed, &cpu, DType::F32).unwrap();
    assert_eq!(report.steps_run, 3);
    let weights = |name: &str| -> Vec<(String, Vec<f32>)> {
        let c = load_checkpoint(&dir.path().join(name), &cpu, None).unwrap();
        assert_eq!((c.step, c.data_seed), (6, Some(3)), "{name}");
        let data = c.run.varmap.data().lock().unwrap();
        let mut v: Vec<_> = data
            .iter()
            .map(|(n, v)| (n.clone(), v.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    let (a, b) = (weights("straight.safetensors"), weights("split.safetensors"));
    assert_eq!(a.len(), 16 + 3 + 2); // the autoencoder's 8 layers, the HNN's 3 weights and 2 biases
    let differ: Vec<&str> = a.iter().zip(&b).filter(|(x, y)| x != y).map(|(x, _)| x.0.as_str()).collect();
    assert!(differ.is_empty(), "resuming must end exactly where the uninterrupted run ends; differ: {differ:?}");
    // A checkpoint evaluates on the seed it was trained on, deterministically.
    let eval =
        |name: &str| load_checkpoint(&dir.path().join(name), &cpu, None).unwrap().evaluate(None, None, &cpu).unwrap();
    let (e1, e2) = (eval("straight.safetensors"), eval("split.safetensors"));
    assert_eq!(e1.frame_mse.len(), cfg.eval.rollout_steps + 1);
    assert!(e1.metrics.energy_mse.mean.is_finite() && e1.metrics.trajectory_mse.mean > 0.0);
    assert_eq!(e1.frame_mse, e2.frame_mse);
    assert_eq!(e1.metrics.test_loss.mean, e2.metrics.test_loss.mean);
    // Rolled out from a state of one's choosing: the true frames are the exact pendulum's, the
    // HNN's latent energy is conserved by the rollout, and the frame errors are those of the
    // decoded frames.
    let ckpt = load_checkpoint(&dir.path().join("straight.safetensors"), &cpu, None).unwrap();
    // Rollouts integrate a frozen copy of the latent field (no autograd graph): the same field.
    let z = Tensor::randn(0f32, 1.0, (8, 2), &cpu).unwrap();
    let frozen = hnn_core::VectorField::time_derivatives(&ckpt.run.frozen_dynamics().unwrap(), &z).unwrap();
    let live = hnn_core::VectorField::time_derivatives(&ckpt.run.model.dynamics, &z).unwrap();
    let gap = (&frozen - &live).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
    let size = live.abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
    assert!(gap <= 1e-5 * size, "frozen field differs by {gap} (size {size})");
    let times: Vec<f64> = (0..=12).map(|k| k as f64).collect();
    let rk4 = hnn_core::Solver::Fixed { integrator: hnn_core::IntegratorKind::Rk4.build(), dt: 0.25 };
    let r = hnn_pixels::rollout::rollout_from_state(&ckpt, [0.3, -0.2], &times, &rk4).unwrap();
    assert_eq!((r.latent.len(), r.decoded.len(), r.truth.len(), r.frame_mse.len()), (13, 13, 13, 13));
    assert_eq!(r.states[0], [0.3, -0.2]);
    let task = &ckpt.experiment.data;
    let mut frame0 = vec![0f32; task.renderer.pixels()];
    task.renderer.render_into(0.3, &mut frame0);
    assert_eq!(r.truth[0], frame0);
    let h = |s: &[f64; 2]| hnn_systems::AnalyticHamiltonian::energy_at(&task.pendulum, s);
    assert!(r.states.iter().all(|s| (h(s) - h(&r.states[0])).abs() < 1e-8 * h(&r.states[0])));
    let e = r.energy.as_ref().expect("an HNN has an energy");
    let spread = e.iter().fold(0f64, |m, v| m.max((v - e[0]).abs()));
    assert!(spread < 1e-4 * e[0].abs().max(1e-3), "latent energy moved by {spread} from {}", e[0]);
    let mse: f64 = r.decoded[7].iter().zip(&r.truth[7]).map(|(a, b)| ((a - b) as f64).powi(2)).sum::<f64>()
        / r.truth[7].len() as f64;
    assert!((mse - r.frame_mse[7]).abs() <= 1e-12);
    let err = hnn_pixels::rollout::rollout_from_state(&ckpt, [0.3, -0.2], &[1.0, 2.0], &rk4).unwrap_err();
    assert!(err.to_string().contains("times from 0"), "{err}");
    // Resuming a checkpoint of the other model kind, or one at a later step, is refused.
    let wrong = TrainJob { kind: ModelKind::BASELINE, resume: Some(&split), ..job("other.safetensors") };
    let err = train_model(&cfg, &wrong, &cpu, DType::F32).map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("expected `baseline`"), "{err}");
    let err = train_model(&half, &resumed, &cpu, DType::F32).map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("beyond train.steps"), "{err}");
    // Same shapes, another activation: refused rather than trained on with the wrong field.
    let mut softplus = cfg.clone();
    softplus.model.activation = hnn_core::Activation::Softplus;
    let err = train_model(&softplus, &resumed, &cpu, DType::F32).map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("softplus") && err.contains("not this config"), "{err}");
    // Corrupt files name themselves and the problem; nothing is overwritten by a failed load.
    let bytes = std::fs::read(&split).unwrap();
    let cut = dir.path().join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = load_checkpoint(&cut, &cpu, None).map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("cut.safetensors"), "{err}");
    // Edited in place, the file no longer matches its checksum.
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let sealed = header.metadata().clone().unwrap();
    let bad = dir.path().join("bad.safetensors");
    let mut tensors = candle_core::safetensors::load(&split, &cpu).unwrap();
    let newer = HashMap::from([("hnn".to_string(), sealed["hnn"].replace("\"version\":1", "\"version\":2"))]);
    std::fs::write(&bad, safetensors::serialize(&tensors, Some(newer)).unwrap()).unwrap();
    let err = load_checkpoint(&bad, &cpu, None).map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("checksum mismatch"), "{err}");
    // Written with a valid checksum (another program's mistake, not corruption), what is wrong
    // is named.
    let (meta, _) = hnn_train::checkpoint::read_raw(&split).unwrap();
    let write = |tensors: &HashMap<String, Tensor>, meta: String| {
        hnn_train::checkpoint::save_tensors(&bad, tensors.clone().into_iter().collect(), meta).unwrap()
    };
    write(&tensors, meta.to_string().replace("\"version\":1", "\"version\":2"));
    let err = load_checkpoint(&bad, &cpu, None).map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("version 2"), "{err}");
    tensors.insert("hnn.layers.0.weight".into(), Tensor::zeros((3, 2), DType::F32, &cpu).unwrap());
    write(&tensors, meta.to_string());
    let err = load_checkpoint(&bad, &cpu, None).map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("hnn.layers.0.weight") && err.contains("shape"), "{err}");
    tensors.remove("hnn.layers.0.weight");
    write(&tensors, meta.to_string());
    let err = load_checkpoint(&bad, &cpu, None).map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("`hnn.layers.0.weight` is missing"), "{err}");
    assert_eq!(std::fs::read(&split).unwrap(), bytes);
}
