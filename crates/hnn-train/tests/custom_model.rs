//! A model that exists nowhere else, added in this file alone: a learnable quadratic
//! Hamiltonian H(z) = ½ zᵀAz with A = (S + Sᵀ)/2 from one variable S. Written only as physics
//! (energy and ∇H = Az in tensor ops), it trains by gradient and trajectory matching, rolls out
//! with every integrator, round-trips through a checkpoint and is evaluated, through the same
//! code as the built-in models.
//!
//! On the spring (H = q² + p², so A = 2I) the trained A must come out as 2I.

mod common;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use common::*;
use hnn_core::integrators::IntegratorKind;
use hnn_core::{Error as CoreError, Hamiltonian, Integrator, VectorField};
use hnn_train::checkpoint::{self, TrainingInfo};
use hnn_train::eval::{evaluate, EvalSet};
use hnn_train::model::{LearnedModel, ModelFamily};
use hnn_train::training::{train, Objective, RunContext, TrainData};
use hnn_train::{ModelKind, ModelSpec, ModelState, Result};

/// H(z) = ½ zᵀAz, A = (S + Sᵀ)/2.
#[derive(Debug, Clone)]
struct Quadratic {
    s: Tensor,
    dof: usize,
}

impl Quadratic {
    fn a(&self) -> hnn_core::Result<Tensor> {
        Ok(((&self.s + self.s.t()?)? * 0.5)?)
    }
}

impl Hamiltonian for Quadratic {
    fn degrees_of_freedom(&self) -> usize {
        self.dof
    }
    fn energy(&self, z: &Tensor) -> hnn_core::Result<Tensor> {
        Ok(((z.matmul(&self.a()?)? * z)?.sum(1)? * 0.5)?)
    }
    fn grad(&self, z: &Tensor) -> hnn_core::Result<Tensor> {
        // A is symmetric: (Az)ᵀ = zᵀA, a row per state.
        Ok(z.matmul(&self.a()?)?)
    }
}

impl LearnedModel for Quadratic {}

struct QuadraticFamily;

impl ModelFamily for QuadraticFamily {
    fn name(&self) -> &'static str {
        "quadratic"
    }
    fn summary(&self) -> &'static str {
        "H = ½ zᵀAz with a learnable symmetric A"
    }
    fn needs_curvature(&self) -> bool {
        false
    }
    fn parameter_bound(&self, spec: &ModelSpec) -> f64 {
        // S is 2n × 2n, whatever `hidden` says: it is not an MLP.
        (2.0 * spec.dof as f64).powi(2)
    }
    fn build(&self, spec: &ModelSpec, vb: VarBuilder) -> Result<Box<dyn LearnedModel>> {
        let n = 2 * spec.dof;
        let s = vb.get_with_hints((n, n), "s", candle_nn::Init::Const(0.0))?;
        Ok(Box::new(Quadratic { s, dof: spec.dof }))
    }
}

const QUADRATIC: ModelKind = ModelKind::new(&QuadraticFamily);

fn spec() -> ModelSpec {
    QUADRATIC.register().unwrap();
    ModelSpec { kind: QUADRATIC, dof: 1, hidden: vec![1], activation: hnn_core::Activation::Tanh }
}

fn ctx() -> RunContext {
    RunContext {
        seed: 1,
        checkpoint: None,
        info: TrainingInfo::default(),
        progress: false,
        label: "q".into(),
        stop: None,
    }
}

/// The learned A as a row-major 2 × 2.
fn learned_a(state: &ModelState) -> Vec<f64> {
    let q = state.model.downcast_ref::<Quadratic>().expect("the quadratic model");
    q.a().unwrap().to_dtype(DType::F64).unwrap().flatten_all().unwrap().to_vec1().unwrap()
}

/// Asserts A = c·I within `tol`.
fn assert_near(a: &[f64], c: f64, tol: f64, what: &str) {
    let want = [c, 0.0, 0.0, c];
    for (x, w) in a.iter().zip(want) {
        assert!((x - w).abs() < tol, "{what}: A = {a:?}, expected {c}·I within {tol}");
    }
}

#[test]
fn a_model_defined_here_trains_rolls_out_checkpoints_and_evaluates() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = smoke("spring", 400);
    cfg.train.learning_rate = 2e-2;
    cfg.train.weight_decay = 0.0;
    // Noiseless states: with the spring's σ = 0.1 on the states, least squares shrinks A by
    // E[q²]/(E[q²] + σ²) ≈ 0.95 (errors in variables), which is the data's doing, not the model's.
    let hnn_train::experiment::DataConfig::Generate { task } = &mut cfg.data else { panic!("generated data") };
    task.noise_std = 0.0;
    let ds = cfg.data.load(0, None).unwrap();

    // Gradient matching: A → 2I.
    let state = ModelState::new(spec(), DType::F64, &Device::Cpu, 3).unwrap();
    let data = TrainData::new(&ds, &cfg.train.objective, DType::F64, &Device::Cpu).unwrap();
    let report = train(&state, &data, &cfg.train, &ctx(), None).unwrap();
    assert_eq!(report.steps_run, 400);
    assert_near(&learned_a(&state), 2.0, 0.02, "gradient matching");

    // Trajectory matching through RK4 steps learns A from states alone: on the notebook's
    // oscillator (m = k = 1, so A = I), observed every 0.5 time units.
    let mut tcfg = smoke("oscillator_trajectory", 400);
    tcfg.train.objective = Objective::Trajectory {
        integrator: hnn_core::IntegratorKind::Rk4,
        substeps: 10,
        backprop: hnn_train::training::Backprop::Stored,
    };
    tcfg.train.schedule = Default::default();
    tcfg.train.learning_rate = 2e-2;
    let tds = tcfg.data.load(0, None).unwrap();
    let tstate = ModelState::new(spec(), DType::F64, &Device::Cpu, 3).unwrap();
    let tdata = TrainData::new(&tds, &tcfg.train.objective, DType::F64, &Device::Cpu).unwrap();
    train(&tstate, &tdata, &tcfg.train, &ctx(), None).unwrap();
    assert_near(&learned_a(&tstate), 1.0, 0.02, "trajectory matching");

    // Rollouts with every integrator: the ones for any Hamiltonian conserve this quadratic H
    // (implicit midpoint exactly, up to its solver's tolerance); the explicit symplectic ones
    // need a separable H and say so.
    let model = state.frozen(DType::F64, &Device::Cpu).unwrap();
    let h = model.hamiltonian().expect("a Hamiltonian model");
    let z0 = Tensor::new(&[[0.6f64, -0.3]], &Device::Cpu).unwrap();
    let e0 = h.energy(&z0).unwrap().to_vec1::<f64>().unwrap()[0];
    for (kind, name) in IntegratorKind::ALL {
        let integrator: Box<dyn Integrator> = kind.build();
        match integrator.propagate(&model, &z0, 0.01, 300) {
            Ok(z) => {
                let e = h.energy(&z).unwrap().to_vec1::<f64>().unwrap()[0];
                let tol = if kind == IntegratorKind::Euler { 0.2 } else { 1e-3 };
                assert!((e - e0).abs() < tol * e0, "{name}: energy {e0} → {e}");
                if kind == IntegratorKind::ImplicitMidpoint {
                    assert!((e - e0).abs() < 1e-8 * e0, "implicit midpoint conserves a quadratic H: {e0} → {e}");
                }
            }
            Err(CoreError::NotSeparable { .. }) => {
                assert!(matches!(
                    kind,
                    IntegratorKind::Leapfrog
                        | IntegratorKind::SymplecticEuler
                        | IntegratorKind::Yoshida4
                        | IntegratorKind::Yoshida6
                        | IntegratorKind::Yoshida8
                ))
            }
            Err(e) => panic!("{name}: {e}"),
        }
    }

    // Checkpoint round trip: the kind is stored by name and rebuilt through the registry.
    let path = dir.path().join("quadratic.safetensors");
    checkpoint::save(&state, &TrainingInfo::default(), &path).unwrap();
    let (back, meta) = checkpoint::load(&path, &Device::Cpu, None, Some(QUADRATIC)).unwrap();
    assert_eq!(meta.model.kind, QUADRATIC);
    assert_eq!(learned_a(&back), learned_a(&state), "the same weights bit for bit");
    let wrong = checkpoint::load(&path, &Device::Cpu, None, Some(ModelKind::HNN)).unwrap_err().to_string();
    assert!(wrong.contains("quadratic"), "{wrong}");

    // Evaluation: losses and adaptive rollouts against the exact spring.
    let set = EvalSet::new(&cfg.eval, cfg.data.truth().unwrap(), cfg.data.sampler(), &ds, 0).unwrap();
    let (metrics, _) = evaluate(&back, &cfg.train.objective, &data, &set, &cfg.eval).unwrap();
    assert!(metrics.energy_mse.mean < 1e-3, "energy MSE {}", metrics.energy_mse.mean);
    assert!(metrics.test_loss.mean < 0.05, "test loss {}", metrics.test_loss.mean);
}

#[test]
fn kinds_are_found_by_name_and_names_are_unique() {
    QUADRATIC.register().unwrap();
    QUADRATIC.register().unwrap(); // the same kind twice: nothing happens
    assert_eq!("quadratic".parse::<ModelKind>().unwrap(), QUADRATIC);
    assert_eq!("separable-hnn".parse::<ModelKind>().unwrap(), ModelKind::SEPARABLE_HNN);
    let err = "cubic".parse::<ModelKind>().unwrap_err().to_string();
    assert!(err.contains("hnn, baseline, separable_hnn") && err.contains("quadratic"), "{err}");
    struct Impostor;
    impl ModelFamily for Impostor {
        fn name(&self) -> &'static str {
            "hnn"
        }
        fn summary(&self) -> &'static str {
            "not the HNN"
        }
        fn needs_curvature(&self) -> bool {
            false
        }
        fn parameter_bound(&self, _: &ModelSpec) -> f64 {
            0.0
        }
        fn build(&self, _: &ModelSpec, _: VarBuilder) -> Result<Box<dyn LearnedModel>> {
            unreachable!()
        }
    }
    let err = ModelKind::new(&Impostor).register().unwrap_err().to_string();
    assert!(err.contains("already registered"), "{err}");
    // Serialized as its name, as checkpoints and configs hold it.
    assert_eq!(serde_json::to_string(&QUADRATIC).unwrap(), "\"quadratic\"");
}

/// A model without a fused kernel frozen in f32 evaluates host rows (what adaptive rollouts use)
/// in its own dtype, equal to its tensor path; the dissipative HNN keeps its energy and rates.
#[test]
fn tensor_models_frozen_in_f32_evaluate_host_rows_in_f32() {
    for kind in [ModelKind::DISSIPATIVE_HNN, ModelKind::SEPARABLE_HNN] {
        let spec = ModelSpec { kind, dof: 1, hidden: vec![8, 8], activation: hnn_core::Activation::Tanh };
        let state = ModelState::new(spec, DType::F32, &Device::Cpu, 3).unwrap();
        let frozen = state.frozen(DType::F32, &Device::Cpu).unwrap();
        let z = [0.3, -0.2, 1.1, 0.4];
        let mut dz = [0.0; 4];
        hnn_core::exec::host::time_derivatives_rows(&frozen, &z, &mut dz, 2).unwrap();
        let t = Tensor::from_slice(&z, (2, 2), &Device::Cpu).unwrap().to_dtype(DType::F32).unwrap();
        let want = frozen.time_derivatives(&t).unwrap().to_dtype(DType::F64).unwrap().flatten_all().unwrap();
        assert_eq!(dz.to_vec(), want.to_vec1::<f64>().unwrap(), "{kind}");
        assert!(frozen.energy(&t).unwrap().is_some(), "{kind} has an energy");
        let rates = frozen.damping_rates(&t).unwrap();
        assert_eq!(rates.is_some(), kind == ModelKind::DISSIPATIVE_HNN, "{kind}");
    }
}
