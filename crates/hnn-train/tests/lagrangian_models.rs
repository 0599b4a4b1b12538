//! The Lagrangian kinds (`lnn`, `delan`) as hnn-train models: they train by gradient and by
//! trajectory matching on the double pendulum, round-trip checkpoints bit for bit, keep their
//! energy when frozen, and run through an experiment with the baseline.

mod common;

use candle_core::{DType, Device, Tensor};
use common::*;
use hnn_core::VectorField;
use hnn_train::checkpoint::{self, TrainingInfo};
use hnn_train::training::{train, Objective, RunContext, TrainData};
use hnn_train::{experiment, ModelKind, ModelSpec, ModelState};

const LAGRANGIANS: [ModelKind; 2] = [ModelKind::LNN, ModelKind::DELAN];

fn spec(kind: ModelKind) -> ModelSpec {
    ModelSpec { kind, dof: 2, hidden: vec![32, 32], activation: hnn_core::Activation::Softplus }
}

fn ctx() -> RunContext {
    RunContext {
        seed: 3,
        checkpoint: None,
        info: TrainingInfo::default(),
        progress: false,
        label: "t".into(),
        stop: None,
    }
}

fn states() -> Tensor {
    let v: Vec<f64> = (0..8 * 4).map(|i| (i as f64 * 0.77).sin()).collect();
    Tensor::from_vec(v, (8, 4), &Device::Cpu).unwrap()
}

#[test]
fn both_train_by_gradient_and_by_trajectory_matching() {
    let mut cfg = smoke("double_pendulum", 1000);
    cfg.train.learning_rate = 3e-3;
    cfg.train.batch_size = 64;
    let ds = cfg.data.load(0, None).unwrap();
    for objective in [
        Objective::Gradient {},
        Objective::Trajectory { integrator: hnn_core::IntegratorKind::Rk4, substeps: 2, backprop: Default::default() },
    ] {
        cfg.train.objective = objective.clone();
        let data = TrainData::new(&ds, &cfg.train.objective, DType::F64, &Device::Cpu).unwrap();
        for kind in LAGRANGIANS {
            let state = ModelState::new(spec(kind), DType::F64, &Device::Cpu, 1).unwrap();
            let report =
                train(&state, &data, &cfg.train, &ctx(), None).unwrap_or_else(|e| panic!("{kind} {objective:?}: {e}"));
            let (first, last) = (report.train_curve[0], *report.train_curve.last().unwrap());
            assert!(last.is_finite() && last < 0.5 * first, "{kind} by {objective:?}: loss {first} → {last}");
        }
    }
}

#[test]
fn checkpoints_round_trip_bit_for_bit_and_keep_the_energy() {
    let dir = tempfile::tempdir().unwrap();
    for kind in LAGRANGIANS {
        let state = ModelState::new(spec(kind), DType::F32, &Device::Cpu, 5).unwrap();
        let path = dir.path().join(format!("{kind}.safetensors"));
        checkpoint::save(&state, &TrainingInfo::default(), &path).unwrap();
        let (loaded, _) = checkpoint::load(&path, &Device::Cpu, None, Some(kind)).unwrap();
        assert_eq!(loaded.spec, state.spec);
        let z = states().to_dtype(DType::F32).unwrap();
        let bits = |s: &ModelState| -> Vec<u32> {
            let f = s.frozen(DType::F32, &Device::Cpu).unwrap();
            let dz = f.time_derivatives(&z).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let e = f.energy(&z).unwrap().expect("a Lagrangian model has an energy");
            dz.into_iter().chain(e.to_vec1::<f32>().unwrap()).map(f32::to_bits).collect()
        };
        assert_eq!(bits(&loaded), bits(&state), "{kind}");
        // Its energy is E = q̇·∂L/∂q̇ − L, not a Hamiltonian: symplectic integrators refuse it.
        let frozen = loaded.frozen(DType::F64, &Device::Cpu).unwrap();
        assert!(frozen.hamiltonian().is_none(), "{kind}");
        let err = hnn_core::integrators::Leapfrog.propagate(&frozen, &states(), 0.1, 1).unwrap_err().to_string();
        assert!(err.contains("rk4"), "{kind}: {err}");
    }
}

use hnn_core::Integrator;

#[test]
fn the_double_pendulum_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = smoke("double_pendulum", 30);
    assert_eq!(cfg.model.kinds, [ModelKind::BASELINE, ModelKind::LNN, ModelKind::DELAN]);
    let runs = experiment::run(&cfg, &options(dir.path())).unwrap();
    for kind in ["baseline", "lnn", "delan"] {
        let m = &runs[0].models[kind].metrics;
        assert!(m.energy_mse.mean.is_finite() && m.train_loss.mean.is_finite(), "{kind}");
        assert!(dir.path().join(format!("double_pendulum/0/{kind}.safetensors")).is_file());
    }
}
