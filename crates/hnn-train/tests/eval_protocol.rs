//! The reference spring analysis's time protocol for `energy_mse_analysis`.

mod common;

use candle_core::{DType, Device, Tensor};
use common::*;
use hnn_core::integrators::DormandPrince;
use hnn_core::{rollout, Solver};
use hnn_train::eval::{evaluate, EvalSet};
use hnn_train::train::TrainData;
use hnn_train::{ExperimentConfig, ModelKind, ModelSpec, ModelState};

fn setup(r: f64, starts: usize) -> (ExperimentConfig, ModelState, TrainData, EvalSet) {
    let mut cfg = smoke("spring", 1);
    cfg.eval.starts = starts;
    cfg.eval.analysis_time_rescale = Some(r);
    cfg.validate().unwrap();
    let ds = cfg.data.load(0, None).unwrap();
    let data = TrainData::new(&ds, &cfg.train.objective, DType::F64, &Device::Cpu).unwrap();
    let spec = ModelSpec { kind: ModelKind::Hnn, dof: 1, hidden: vec![16, 16], activation: "tanh".into() };
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
