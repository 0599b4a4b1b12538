//! The model API for a user's data: fit by gradient and trajectory matching (with no test
//! split too), predictions in any float dtype, errors that name what is wrong, energy
//! conservation of a fitted HNN's rollout, and save/load giving the same predictions.

use candle_core::{DType, Device, Tensor};
use hnn_core::integrators::Rk4;
use hnn_core::{Integrator, IntegratorKind, Solver};
use hnn_systems::import::{self, TrajectoryOptions};
use hnn_train::{FitOptions, HnnModel, ModelConfig, ModelKind, TrainConfig};

/// Oscillator trajectories (H = (q² + p²)/2) on a grid of 0.1, as [T, B, 2].
fn oscillator_data(test_fraction: f64) -> hnn_systems::Dataset {
    let times: Vec<f64> = (0..20).map(|k| 0.1 * k as f64).collect();
    let b = 12;
    let mut v = vec![];
    for &t in &times {
        for k in 0..b {
            let (a, phi) = (0.4 + 0.08 * k as f64, 0.5 * k as f64);
            v.extend([a * (t + phi).cos(), -a * (t + phi).sin()]);
        }
    }
    let z = Tensor::from_vec(v, (times.len(), b, 2), &Device::Cpu).unwrap();
    import::trajectories_on_grid(&times, &z, &TrajectoryOptions { test_fraction, ..Default::default() }).unwrap()
}

fn small(kind: ModelKind) -> ModelConfig {
    ModelConfig { kind, hidden: vec![32, 32], ..ModelConfig::of(kind) }
}

#[test]
fn gradient_matching_learns_an_energy_that_its_rollouts_keep() {
    let data = oscillator_data(0.25);
    let mut model = HnnModel::new(&small(ModelKind::HNN), 1).unwrap();
    let report = model.fit(&data, TrainConfig { steps: 600, learning_rate: 3e-3, ..TrainConfig::default() }).unwrap();
    assert_eq!(model.steps_trained(), 600);
    let first = report.train_curve[0];
    let last = *report.train_curve.last().unwrap();
    assert!(last < first / 20.0, "loss {first} → {last}");
    let eval = model.evaluate(&data).unwrap();
    assert!(eval.test_loss.mean < 1e-2, "{eval:?}");
    // The rollouts from the 3 held-out trajectories follow them and keep the learned energy.
    let traj = eval.trajectory_mse.unwrap();
    assert_eq!(traj.n, 3);
    assert!(traj.mean < 1e-2, "{eval:?}");
    assert!(eval.energy_drift.unwrap().mean < 1e-3, "{eval:?}");
    let truth = hnn_systems::System::from(hnn_systems::analytic::HarmonicOscillator::new(1.0, 1.0, 0.0));
    assert!(model.evaluate_against(&data, &truth).unwrap().energy_mse.unwrap().mean < 1e-3);
}

#[test]
fn trajectory_matching_works_without_a_test_split() {
    // Once a panic inside candle ("range start index 202 out of range").
    let data = oscillator_data(0.0);
    assert_eq!(data.test.len(), 0);
    let mut model = HnnModel::new(&small(ModelKind::BASELINE), 1).unwrap();
    let options = TrainConfig { steps: 20, ..TrainConfig::trajectory(IntegratorKind::Rk4, 4) };
    let report = model.fit(&data, &options).unwrap();
    assert_eq!(report.train_curve.len(), 20);
    assert!(report.train_curve.iter().all(|l| l.is_finite()));
    assert!(report.test_curve.iter().all(|(_, l)| l.is_nan()), "no test data: NaN, not a number made up");
    // Pairs without a grid cannot be trajectory-matched: a clear error, not a panic.
    let pairs = import::pairs(&data.train.z, &data.train.dz, 0.2).unwrap();
    let e = model.fit(&pairs, &options).unwrap_err().to_string();
    assert!(e.contains("trajectory matching needs whole trajectories"), "{e}");
}

#[test]
fn inputs_in_any_float_dtype_and_clear_errors() {
    let model = HnnModel::new(&small(ModelKind::HNN), 1).unwrap(); // f32
    let z64 = Tensor::new(&[[0.3f64, -0.2], [1.0, 0.5]], &Device::Cpu).unwrap();
    let dz64 = model.predict_derivatives(&z64).unwrap();
    assert_eq!(dz64.dtype(), DType::F64);
    let dz32 = model.predict_derivatives(&z64.to_dtype(DType::F32).unwrap()).unwrap();
    assert_eq!(dz32.dtype(), DType::F32);
    let single = model.energy(&Tensor::new(&[0.3f64, -0.2], &Device::Cpu).unwrap()).unwrap();
    assert_eq!(single.rank(), 0);

    let ints = Tensor::new(&[[1i64, 2]], &Device::Cpu).unwrap();
    let e = model.predict_derivatives(&ints).unwrap_err().to_string();
    assert!(e.contains("I64") && e.contains("F32"), "{e}");
    let wide = Tensor::zeros((2, 3), DType::F64, &Device::Cpu).unwrap();
    let e = model.predict_derivatives(&wide).unwrap_err().to_string();
    assert!(e.contains("[2, 3]") && e.contains("[N, 2]"), "{e}");
    let baseline = HnnModel::new(&small(ModelKind::BASELINE), 1).unwrap();
    let e = baseline.energy(&z64).unwrap_err().to_string();
    assert!(e.contains("baseline") && e.contains("no energy"), "{e}");
    // A step that is not a number is refused by every integrator.
    let e = Rk4.propagate(&model.state().model, &z64, f64::NAN, 3).unwrap_err().to_string();
    assert!(e.contains("dt must be finite"), "{e}");
}

#[test]
fn a_saved_model_loads_and_predicts_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let data = oscillator_data(0.25);
    let config = ModelConfig { precision: hnn_train::device::Precision::F64, ..small(ModelKind::SEPARABLE_HNN) };
    let mut model = HnnModel::new(&config, 1).unwrap();
    model.fit(&data, TrainConfig { steps: 30, ..TrainConfig::default() }).unwrap();
    let path = dir.path().join("model.safetensors");
    model.save(&path).unwrap();
    let loaded = HnnModel::load(&path).unwrap();
    assert_eq!((loaded.kind(), loaded.dof(), loaded.steps_trained()), (ModelKind::SEPARABLE_HNN, 1, 30));
    let z = data.test.z.narrow(0, 0, 7).unwrap();
    assert_eq!(
        model.predict_derivatives(&z).unwrap().to_vec2::<f64>().unwrap(),
        loaded.predict_derivatives(&z).unwrap().to_vec2::<f64>().unwrap()
    );
    let times = [0.0, 0.5, 1.0];
    let a = model.rollout(&z, &times, &Solver::fixed(hnn_core::integrators::Leapfrog, 0.01)).unwrap();
    let b = loaded.rollout(&z, &times, &Solver::fixed(hnn_core::integrators::Leapfrog, 0.01)).unwrap();
    assert_eq!(a.to_vec3::<f64>().unwrap(), b.to_vec3::<f64>().unwrap());
}

#[test]
fn reversible_backpropagation_trains_as_the_stored_graph_does() {
    // A separable HNN (leapfrog needs H = T(p) + V(q)) in f64: the two ways of backpropagating
    // give the same gradients to round-off, so the same loss curve.
    let data = oscillator_data(0.25);
    let config = ModelConfig { precision: hnn_train::device::Precision::F64, ..small(ModelKind::SEPARABLE_HNN) };
    let curve = |options: TrainConfig| {
        let mut model = HnnModel::new(&config, 1).unwrap();
        model.fit(&data, TrainConfig { steps: 15, ..options }).unwrap().train_curve
    };
    let stored = curve(TrainConfig::trajectory(IntegratorKind::Leapfrog, 10));
    let reversible = curve(TrainConfig::reversible(IntegratorKind::Leapfrog, 10));
    for (s, r) in stored.iter().zip(&reversible) {
        assert!((s - r).abs() <= 1e-9 * s.abs(), "stored {s} against reversible {r}");
    }
    assert!(reversible.last().unwrap() < &reversible[0]);
    // A non-reversible integrator is refused by name.
    let mut model = HnnModel::new(&config, 1).unwrap();
    let e = model.fit(&data, TrainConfig::reversible(IntegratorKind::Rk4, 10)).unwrap_err().to_string();
    assert!(e.contains("time-reversible") && e.contains("rk4"), "{e}");
}

#[test]
fn a_dissipative_model_fitted_to_damped_data_reads_out_its_friction() {
    // H = (q² + p²)/2 with friction −γp, γ = 0.2: states on a grid of the plane, exact ż.
    let gamma = 0.2;
    let mut z = vec![];
    let mut dz = vec![];
    for i in 0..24 {
        for j in 0..24 {
            let (q, p) = (-1.2 + 0.1 * i as f64, -1.2 + 0.1 * j as f64);
            z.extend([q, p]);
            dz.extend([p, -q - gamma * p]);
        }
    }
    let n = z.len() / 2;
    let z = Tensor::from_vec(z, (n, 2), &Device::Cpu).unwrap();
    let dz = Tensor::from_vec(dz, (n, 2), &Device::Cpu).unwrap();
    let data = import::pairs(&z, &dz, 0.2).unwrap();
    let config = ModelConfig { precision: hnn_train::device::Precision::F64, ..small(ModelKind::DISSIPATIVE_HNN) };
    let mut model = HnnModel::new(&config, 1).unwrap();
    model.fit(&data, TrainConfig { steps: 1500, learning_rate: 3e-3, ..TrainConfig::default() }).unwrap();
    let rate = model.evaluate(&data).unwrap().damping_rate.expect("a dissipative model's rate");
    assert!((rate.mean - gamma).abs() < 0.1 * gamma, "learned γ = {} (true {gamma})", rate.mean);
    // One state: one rate per momentum; the energy is there too.
    let r = model.damping_rates(&Tensor::new(&[0.3f64, -0.2], &Device::Cpu).unwrap()).unwrap();
    assert_eq!(r.dims(), &[1]);
    assert!(model.energy(&Tensor::new(&[0.3f64, -0.2], &Device::Cpu).unwrap()).is_ok());
    // An HNN has no friction to read.
    let hnn = HnnModel::new(&small(ModelKind::HNN), 1).unwrap();
    let e = hnn.damping_rates(&Tensor::new(&[0.3f64, -0.2], &Device::Cpu).unwrap()).unwrap_err().to_string();
    assert!(e.contains("dissipative_hnn"), "{e}");
    assert!(hnn.evaluate(&data).unwrap().damping_rate.is_none());
}

#[test]
fn an_ensemble_fit_ends_where_each_model_would_alone() {
    let data = oscillator_data(0.25);
    let shifted = oscillator_data(0.5);
    let configs = [
        ModelConfig { seed: 1, ..small(ModelKind::HNN) },
        ModelConfig { seed: 2, ..small(ModelKind::HNN) },
        ModelConfig { seed: 3, hidden: vec![16], ..small(ModelKind::BASELINE) },
    ];
    let sets = [&data, &shifted, &data];
    let options = FitOptions {
        train: TrainConfig { steps: 50, batch_size: 64, ..TrainConfig::default() },
        seed: Some(7),
        progress: false,
        stop: None,
    };
    let mut together: Vec<HnnModel> = configs.iter().map(|c| HnnModel::new(c, 1).unwrap()).collect();
    let reports = HnnModel::fit_ensemble(&mut together, &sets, &options).unwrap();
    let z = Tensor::from_vec(vec![0.3f64, -0.2, 0.9, 0.1], (2, 2), &Device::Cpu).unwrap();
    let bits = |m: &HnnModel| -> Vec<u64> {
        m.predict_derivatives(&z)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f64>()
            .unwrap()
            .iter()
            .map(|x| x.to_bits())
            .collect()
    };
    for (i, ((config, set), report)) in configs.iter().zip(sets).zip(reports).enumerate() {
        let mut alone = HnnModel::new(config, 1).unwrap();
        let own = alone.fit(set, &options).unwrap();
        assert_eq!(report.unwrap().train_curve, own.train_curve, "model {i}");
        assert_eq!(bits(&together[i]), bits(&alone), "model {i}: the same predictions bit for bit");
        assert_eq!(together[i].steps_trained(), 50);
    }
    // A dataset that does not fit its model is named by index.
    let two_dof = {
        let z = Tensor::zeros((3, 2, 4), DType::F64, &Device::Cpu).unwrap();
        import::trajectories_on_grid(&[0.0, 0.1, 0.2], &z, &TrajectoryOptions::default()).unwrap()
    };
    let err = HnnModel::fit_ensemble(&mut together, &[&data, &two_dof, &data], &options).unwrap_err().to_string();
    assert!(err.contains("model 1") && err.contains("2 degrees of freedom"), "{err}");
    let err = HnnModel::fit_ensemble(&mut together, &[&data], &options).unwrap_err().to_string();
    assert!(err.contains("3 models") && err.contains("got 1"), "{err}");
}

#[test]
fn a_stopped_fit_keeps_its_last_step_and_continues_from_it() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let data = oscillator_data(0.2);
    let train = TrainConfig { steps: 40, batch_size: 32, ..TrainConfig::default() };
    // Asked before every step: stop before step 16, i.e. after 15 whole steps.
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let stop = hnn_train::training::StopSignal::new(move || counter.fetch_add(1, Ordering::SeqCst) >= 15);
    let mut stopped = HnnModel::new(&small(ModelKind::HNN), 1).unwrap();
    let err =
        stopped.fit(&data, FitOptions { train: train.clone(), stop: Some(stop), ..FitOptions::default() }).unwrap_err();
    assert!(
        matches!(err, hnn_train::Error::Interrupted { step: 15, steps_run: 15, of: 40 }),
        "unexpected error: {err}"
    );
    assert_eq!(stopped.steps_trained(), 15);
    // Usable: it predicts, and what it predicts is a model 15 steps into the same run.
    let mut fifteen = HnnModel::new(&small(ModelKind::HNN), 1).unwrap();
    fifteen.fit(&data, TrainConfig { steps: 15, ..train.clone() }).unwrap();
    let z = Tensor::from_vec(vec![0.3f64, -0.2], (1, 2), &Device::Cpu).unwrap();
    let a = stopped.predict_derivatives(&z).unwrap().to_vec2::<f64>().unwrap();
    let b = fifteen.predict_derivatives(&z).unwrap().to_vec2::<f64>().unwrap();
    assert_eq!(a, b, "the stopped model holds the weights of its 15th step");
}
