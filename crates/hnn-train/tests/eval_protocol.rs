//! The reference spring analysis's time protocol for `energy_mse_analysis`.

mod common;

use candle_core::{DType, Device, Tensor};
use common::*;
use hnn_core::integrators::DormandPrince;
use hnn_core::{rollout, InPrecision, Solver, VectorField};
use hnn_train::device::Precision;
use hnn_train::eval::{evaluate, EvalSet};
use hnn_train::training::TrainData;
use hnn_train::{ExperimentConfig, ModelKind, ModelSpec, ModelState};

fn setup(r: f64, starts: usize) -> (ExperimentConfig, ModelState, TrainData, EvalSet) {
    let mut cfg = smoke("spring", 1);
    cfg.eval.starts = starts;
    cfg.eval.analysis_time_rescale = Some(r);
    cfg.validate().unwrap();
    let ds = cfg.data.load(0, None).unwrap();
    let data = TrainData::new(&ds, &cfg.train.objective, DType::F64, &Device::Cpu).unwrap();
    let spec = ModelSpec { kind: ModelKind::HNN, dof: 1, hidden: vec![16, 16], activation: hnn_core::Activation::Tanh };
    let state = ModelState::new(spec, DType::F64, &Device::Cpu, 4).unwrap();
    let set = EvalSet::new(&cfg.eval, cfg.data.truth().unwrap(), cfg.data.sampler(), &ds, 0).unwrap();
    (cfg, state, data, set)
}

#[test]
fn without_rescaling_the_protocol_is_the_plain_energy_mse() {
    let (cfg, state, data, set) = setup(0.0, 4);
    let (m, _) = evaluate(&state, &cfg.train.objective, &data, &set, &cfg.eval).unwrap();
    let a = m.energy_mse_analysis.expect("the protocol's figure").mean;
    assert!((a - m.energy_mse.mean).abs() <= 1e-12 * m.energy_mse.mean, "{a} vs {}", m.energy_mse.mean);
}

#[test]
fn rescaling_compares_the_model_at_stretched_times() {
    // One start: the model at times·1.09 against the truth at the plain times.
    let (cfg, state, data, set) = setup(0.09, 1);
    let (m, _) = evaluate(&state, &cfg.train.objective, &data, &set, &cfg.eval).unwrap();
    let h = set.system.hamiltonian();
    let model = state.frozen(DType::F64, &Device::Cpu).unwrap();
    let stretched: Vec<f64> = set.times.iter().map(|t| t * 1.09).collect();
    let z0 = Tensor::from_vec(set.starts[0].clone(), (1, 2), &Device::Cpu).unwrap();
    let solver = Solver::Adaptive(DormandPrince::new(cfg.eval.rtol, cfg.eval.atol));
    let traj = rollout(&model, &z0, &stretched, &solver).unwrap().squeeze(1).unwrap().to_vec2::<f64>().unwrap();
    let expected =
        traj.iter().zip(set.truth[0].chunks(2)).map(|(m, t)| (h.energy_at(m) - h.energy_at(t)).powi(2)).sum::<f64>()
            / set.times.len() as f64;
    let got = m.energy_mse_analysis.expect("the protocol's figure").mean;
    assert!((got - expected).abs() <= 1e-9 * expected, "{got} vs {expected}");
    assert!((got - m.energy_mse.mean).abs() > 1e-6 * got, "the stretched times must change the figure");
    // Nonsense is refused, naming the field.
    let mut bad = cfg.eval.clone();
    bad.analysis_time_rescale = Some(-0.5);
    assert!(bad.validate().unwrap_err().to_string().contains("analysis_time_rescale"));
}

#[test]
fn an_f32_field_is_the_model_in_f32_under_f64_states() {
    let (mut cfg, state, data, set) = setup(0.0, 3);
    let (m64, _) = evaluate(&state, &cfg.train.objective, &data, &set, &cfg.eval).unwrap();
    cfg.eval.field_precision = Precision::F32;
    cfg.eval.validate().unwrap();
    let (m32, _) = evaluate(&state, &cfg.train.objective, &data, &set, &cfg.eval).unwrap();
    // The same model: the figures agree to f32 rounding, but are not bit-for-bit the f64 ones.
    let (a, b) = (m64.trajectory_mse.mean, m32.trajectory_mse.mean);
    assert!((a - b).abs() <= 1e-4 * a, "{a} vs {b}");
    assert_ne!(a, b, "the field must really run in f32");
    // By hand: the model cast to f32, its derivatives cast back, integrated in f64.
    let model = state.frozen(DType::F32, &Device::Cpu).unwrap();
    let field = InPrecision { field: &model, dtype: DType::F32 };
    let z = Tensor::from_vec(set.starts[0].clone(), (1, 2), &Device::Cpu).unwrap();
    let dz = field.time_derivatives(&z).unwrap();
    assert_eq!(dz.dtype(), DType::F64);
    let direct = model.time_derivatives(&z.to_dtype(DType::F32).unwrap()).unwrap().to_dtype(DType::F64).unwrap();
    assert_eq!(dz.to_vec2::<f64>().unwrap(), direct.to_vec2::<f64>().unwrap());
    // A symplectic method needs the Hamiltonian, which the cast field does not carry.
    cfg.eval.method = "leapfrog".parse().unwrap();
    cfg.eval.dt = Some(0.01);
    let err = cfg.eval.validate().unwrap_err().to_string();
    assert!(err.contains("field_precision") && err.contains("leapfrog"), "{err}");
    cfg.eval.method = "rk4".parse().unwrap();
    cfg.eval.validate().unwrap();
}

#[test]
fn dop853_rollouts_give_the_same_figures_as_dopri5() {
    // Both adaptive pairs at the config's tolerances (1e-9): the metrics agree far below their
    // own size; `dop853` needs no `eval.dt`, runs an f32 field, and unknown names are refused.
    let (mut cfg, state, data, set) = setup(0.0, 3);
    let (m5, _) = evaluate(&state, &cfg.train.objective, &data, &set, &cfg.eval).unwrap();
    cfg.eval.method = "dop853".parse().unwrap();
    cfg.eval.dt = None;
    cfg.eval.validate().unwrap();
    let (m8, _) = evaluate(&state, &cfg.train.objective, &data, &set, &cfg.eval).unwrap();
    for (a, b) in [(m5.trajectory_mse.mean, m8.trajectory_mse.mean), (m5.energy_mse.mean, m8.energy_mse.mean)] {
        assert!((a - b).abs() <= 1e-6 * a, "{a} vs {b}");
    }
    assert_ne!(m5.trajectory_mse.mean, m8.trajectory_mse.mean, "another method really ran");
    cfg.eval.field_precision = Precision::F32;
    cfg.eval.validate().unwrap();
    // An unknown name never becomes a config: the TOML error quotes the line and lists both kinds.
    let text = "starts = 1\nt_end = 1.0\npoints = 2\nmethod = \"dop54\"\n";
    let err = toml::from_str::<hnn_train::eval::EvalConfig>(text).unwrap_err().to_string();
    assert!(err.contains("method = \"dop54\"") && err.contains("dop853") && err.contains("rk4"), "{err}");
}
