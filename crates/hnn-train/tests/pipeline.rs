//! The whole pipeline at smoke size: data → train HNN and baseline → evaluate → files.

mod common;

use common::*;
use hnn_train::experiment::{self, RunMetrics};
use hnn_train::table;

#[test]
fn spring_smoke_run_writes_checkpoints_metrics_and_plots() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = smoke("spring", 30);
    let runs = experiment::run(&cfg, &options(dir.path())).unwrap();
    assert_eq!(runs.len(), 1);
    let run_dir = dir.path().join("spring/0");
    for f in [
        "hnn.safetensors",
        "hnn.optim.safetensors",
        "baseline.safetensors",
        "baseline.optim.safetensors",
        "metrics.json",
        "config.toml",
        "loss.png",
        "energy.png",
        "phase.png",
    ] {
        let p = run_dir.join(f);
        if f.ends_with(".png") && !cfg!(feature = "plots") {
            continue; // built without plots (`cargo test -p hnn-train`); the workspace has them
        }
        assert!(p.is_file() && std::fs::metadata(&p).unwrap().len() > 0, "{f} missing");
    }
    let m: RunMetrics = serde_json::from_str(&std::fs::read_to_string(run_dir.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(m, runs[0]);
    assert_eq!((m.train_samples, m.test_samples), (375, 375), "25 trajectories × 30 points, half test");
    for (name, model) in &m.models {
        let metrics = &model.metrics;
        assert!(metrics.train_loss.mean.is_finite() && metrics.train_loss.mean > 0.0, "{name}");
        assert!(metrics.energy_mse.mean.is_finite(), "{name}");
        assert_eq!(metrics.energy_mse.n, 3);
        assert!(model.steps_per_second > 0.0);
    }
    // The saved config reproduces the run's config.
    let saved = hnn_train::ExperimentConfig::from_file(&run_dir.join("config.toml")).unwrap();
    assert_eq!(saved, cfg);
    // hnn table finds it.
    let md = table::markdown(&table::collect(dir.path()).unwrap());
    assert!(md.contains("| spring | 1 |"), "{md}");
    assert!(md.contains("1.71e-1 → 3.84e-4"), "paper column: {md}");
}

#[test]
fn two_body_and_trajectory_matching_smoke_runs() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = smoke("two_body", 20);
    experiment::run(&cfg, &options(dir.path())).unwrap();
    assert!(dir.path().join("two_body/0/orbits.png").is_file() || !cfg!(feature = "plots"));
    let cfg = smoke("oscillator_trajectory", 10);
    let runs = experiment::run(&cfg, &options(dir.path())).unwrap();
    let hnn = &runs[0].models["hnn"];
    assert!(hnn.metrics.trajectory_mse.mean.is_finite());
    let meta = hnn_train::checkpoint::read_meta(&dir.path().join("oscillator_trajectory/0/hnn.safetensors")).unwrap();
    assert_eq!(meta.training.mode, hnn_train::checkpoint::TrainingMode::Trajectory);
    assert_eq!(meta.training.integrator, Some(hnn_core::IntegratorKind::Rk4));
    assert!((meta.training.dt.unwrap() - 0.01).abs() < 1e-12, "0.5 s intervals / 50 substeps");
}

#[test]
fn same_seed_gives_identical_results() {
    let cfg = smoke("pendulum", 25);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut opts = options(a.path());
    opts.plots = false;
    let ra = experiment::run(&cfg, &opts).unwrap().remove(0);
    opts.out = b.path().to_path_buf();
    let rb = experiment::run(&cfg, &opts).unwrap().remove(0);
    // Results, not timings: the rollouts' wall time is the one field allowed to differ.
    let results =
        |m: &hnn_train::eval::ModelMetrics| hnn_train::eval::ModelMetrics { rollout_seconds: 0.0, ..m.clone() };
    for (name, ma) in &ra.models {
        let mb = &rb.models[name];
        assert_eq!(results(&ma.metrics), results(&mb.metrics), "{name}");
        assert_eq!(ma.final_train_loss.to_bits(), mb.final_train_loss.to_bits(), "{name}");
        let wa = std::fs::read(a.path().join(format!("pendulum/0/{name}.safetensors"))).unwrap();
        let wb = std::fs::read(b.path().join(format!("pendulum/0/{name}.safetensors"))).unwrap();
        assert!(wa == wb, "{name}: checkpoints identical byte for byte");
    }
    // A different seed gives different data and weights.
    opts.seeds = vec![1];
    let rc = experiment::run(&cfg, &opts).unwrap().remove(0);
    assert_ne!(rc.models["hnn"].metrics, ra.models["hnn"].metrics);
}

#[test]
fn damped_spring_smoke_run_reports_the_learned_friction_and_decay_rates() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = smoke("damped_spring", 20);
    let runs = experiment::run(&cfg, &options(dir.path())).unwrap();
    let models = &runs[0].models;
    assert_eq!(models.len(), 3, "hnn, dissipative_hnn, baseline");
    let dissipative = &models["dissipative_hnn"].metrics;
    let rate = dissipative.damping_rate.expect("a learned damping rate");
    assert!(rate.mean > 0.0 && rate.mean.is_finite() && rate.n > 0);
    assert_eq!(dissipative.damping_rate_true, Some(0.1));
    assert!(models["hnn"].metrics.damping_rate.is_none() && models["baseline"].metrics.damping_rate.is_none());
    for m in models.values() {
        let truth = m.metrics.energy_decay_rate_true.expect("the system is not conservative");
        assert!((truth.mean - 0.2).abs() < 0.02, "true H decays at ≈ γ/m = 0.2: {}", truth.mean);
        assert!(m.metrics.energy_decay_rate.is_some());
    }
    // The dissipative checkpoint loads back as the same kind, with both networks.
    let path = dir.path().join("damped_spring/0/dissipative_hnn.safetensors");
    let meta = hnn_train::checkpoint::read_meta(&path).unwrap();
    assert_eq!(meta.model.kind, hnn_train::ModelKind::DISSIPATIVE_HNN);
    let md = table::markdown(&table::collect(dir.path()).unwrap());
    assert!(md.contains("| damped_spring | dissipative_hnn | 1 |"), "{md}");
}

#[test]
fn double_well_smoke_run_scores_the_thermostat_on_learned_and_true_h() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = smoke("double_well", 10);
    let runs = experiment::run(&cfg, &options(dir.path())).unwrap();
    let results = runs[0].models["separable_hnn"].metrics.thermostat.clone().expect("thermostat results");
    assert_eq!(results.iter().map(|r| r.kt).collect::<Vec<_>>(), vec![0.25, 1.0]);
    for r in &results {
        for s in [r.learned, r.truth] {
            assert!(s.ks_distance >= 0.0 && s.ks_distance <= 1.0 && s.effective_samples > 0.0);
            assert!(s.crossing_rate >= 0.0 && s.mass > 0.0);
        }
        assert!((r.truth.mass - 1.0).abs() < 1e-9);
    }
    if cfg!(feature = "plots") {
        assert!(dir.path().join("double_well/0/thermostat_kT0.25.png").is_file());
    }
}

#[test]
fn many_seeds_train_in_ensembles_of_bounded_size() {
    // 17 seeds: one ensemble of ENSEMBLE_SEEDS (16) seeds' models, then one of the last seed's.
    let cfg = smoke("spring", 2);
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path());
    opts.plots = false;
    opts.seeds = (0..17).collect();
    let runs = experiment::run(&cfg, &opts).unwrap();
    assert_eq!(runs.len(), 17);
    assert_eq!(experiment::ENSEMBLE_SEEDS, 16);
    for run in &runs {
        let expected = if run.seed < 16 { 32 } else { 2 };
        for (name, model) in &run.models {
            assert_eq!(model.ensemble_models, expected, "seed {} {name}", run.seed);
        }
    }
}
