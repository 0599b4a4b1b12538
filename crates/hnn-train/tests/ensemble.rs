//! Ensembles: several models trained in lockstep as one computation (`train_ensemble`) end
//! bit for bit where each would on its own (`train`), diverge alone, and resume per member.

mod common;

use candle_core::{DType, Device};
use common::*;
use hnn_core::IntegratorKind;
use hnn_train::checkpoint::{self, TrainingInfo};
use hnn_train::training::{train, train_ensemble, Backprop, Objective, RunContext, TrainConfig, TrainData};
use hnn_train::{Error, ModelKind, ModelSpec, ModelState};
use std::path::Path;

/// One member: its kind, the seed of its data, model and sampler.
#[derive(Clone, Copy)]
struct Member {
    kind: ModelKind,
    seed: u64,
}

fn spec(kind: ModelKind) -> ModelSpec {
    // Wide enough that a full batch of the smoke data is split into blocks across threads.
    ModelSpec { kind, dof: 1, hidden: vec![64, 64], activation: hnn_core::Activation::Tanh }
}

fn ctx(dir: &Path, m: Member, tag: &str) -> RunContext {
    RunContext {
        seed: m.seed * 1000 + 7,
        checkpoint: Some(dir.join(format!("{tag}-{}-{}.safetensors", m.kind.name(), m.seed))),
        info: TrainingInfo::default(),
        progress: false,
        label: format!("{} {}", m.kind.name(), m.seed),
        stop: None,
    }
}

fn bits(state: &ModelState) -> Vec<u64> {
    state
        .named_vars()
        .iter()
        .flat_map(|(_, v)| v.as_tensor().flatten_all().unwrap().to_dtype(DType::F64).unwrap().to_vec1::<f64>().unwrap())
        .map(f64::to_bits)
        .collect()
}

/// The data of the smoke-sized experiment that `train_cfg` came from, drawn with `seed`.
fn data(train_cfg: &TrainConfig, seed: u64, dtype: DType) -> TrainData {
    let name = if train_cfg.objective == (Objective::Gradient {}) { "spring" } else { "oscillator_trajectory" };
    let ds = smoke(name, 1).data.load(seed, None).unwrap();
    TrainData::new(&ds, &train_cfg.objective, dtype, &Device::Cpu).unwrap()
}

fn state(m: Member, dtype: DType) -> ModelState {
    ModelState::new(spec(m.kind), dtype, &Device::Cpu, m.seed + 100).unwrap()
}

/// Trains `members` one by one and as an ensemble, and checks that each ends with the same
/// weights, curves and checkpoint bytes.
fn ensemble_equals_sequential(cfg: &TrainConfig, members: &[Member], dtype: DType) {
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<TrainData> = members.iter().map(|m| data(cfg, m.seed, dtype)).collect();
    let alone: Vec<(ModelState, _)> = members
        .iter()
        .zip(&data)
        .map(|(m, d)| {
            let s = state(*m, dtype);
            let r = train(&s, d, cfg, &ctx(dir.path(), *m, "alone"), None).unwrap();
            (s, r)
        })
        .collect();
    let together: Vec<ModelState> = members.iter().map(|m| state(*m, dtype)).collect();
    let ctxs: Vec<RunContext> = members.iter().map(|m| ctx(dir.path(), *m, "together")).collect();
    let reports = train_ensemble(
        &together.iter().collect::<Vec<_>>(),
        &data.iter().collect::<Vec<_>>(),
        cfg,
        &ctxs,
        &vec![None; members.len()],
    )
    .unwrap();
    for (((m, (s, r)), t), report) in members.iter().zip(&alone).zip(&together).zip(reports) {
        let report = report.unwrap();
        let name = format!("{} seed {} in {dtype:?}", m.kind.name(), m.seed);
        assert_eq!(bits(t), bits(s), "{name}: weights bit for bit");
        assert_eq!(report.train_curve, r.train_curve, "{name}: training curve");
        assert_eq!(report.test_curve, r.test_curve, "{name}: test curve");
        assert_eq!(report.steps_run, cfg.steps);
        let read = |tag: &str| std::fs::read(ctx(dir.path(), *m, tag).checkpoint.unwrap()).unwrap();
        assert_eq!(read("together"), read("alone"), "{name}: checkpoint bytes");
    }
}

fn gradient_config() -> TrainConfig {
    let mut cfg = smoke("spring", 30).train;
    cfg.batch_size = 0; // the full set: several row blocks per member
    cfg.input_noise = 0.01;
    cfg.eval_every = 10;
    cfg.checkpoint_every = 10;
    cfg
}

#[test]
fn gradient_matching_members_equal_their_own_runs_bit_for_bit() {
    let cfg = gradient_config();
    // HNNs and baselines (one kernel call for all six) with dissipative HNNs (autograd, side by side).
    let mut members = vec![];
    for seed in 0..2 {
        for kind in [ModelKind::HNN, ModelKind::BASELINE, ModelKind::DISSIPATIVE_HNN] {
            members.push(Member { kind, seed });
        }
    }
    ensemble_equals_sequential(&cfg, &members, DType::F64);
    let mut minibatch = cfg.clone();
    minibatch.batch_size = 64;
    ensemble_equals_sequential(&minibatch, &members[..4], DType::F32);
}

#[test]
fn trajectory_matching_members_equal_their_own_runs_bit_for_bit() {
    let mut cfg = smoke("oscillator_trajectory", 6).train;
    cfg.batch_size = 32;
    cfg.eval_every = 3;
    let members: Vec<Member> = (0..3).map(|seed| Member { kind: ModelKind::SEPARABLE_HNN, seed }).collect();
    for backprop in [Backprop::Stored, Backprop::Reversible] {
        cfg.objective = Objective::Trajectory { integrator: IntegratorKind::Leapfrog, substeps: 5, backprop };
        ensemble_equals_sequential(&cfg, &members, DType::F64);
    }
}

#[test]
fn a_diverging_member_stops_alone() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = gradient_config();
    let members: Vec<Member> = (0..3).map(|seed| Member { kind: ModelKind::HNN, seed }).collect();
    let mut datasets: Vec<TrainData> = members.iter().map(|m| data(&cfg, m.seed, DType::F64)).collect();
    // Member 1's targets overflow the squared error: its loss is +inf at the first step.
    let overflowing = &mut datasets[1].train;
    overflowing.target = (&overflowing.target * 1e200).unwrap();
    let states: Vec<ModelState> = members.iter().map(|m| state(*m, DType::F64)).collect();
    let ctxs: Vec<RunContext> = members.iter().map(|m| ctx(dir.path(), *m, "e")).collect();
    let reports = train_ensemble(
        &states.iter().collect::<Vec<_>>(),
        &datasets.iter().collect::<Vec<_>>(),
        &cfg,
        &ctxs,
        &[None, None, None],
    )
    .unwrap();
    let Err(Error::Diverged { step, what, .. }) = &reports[1] else { panic!("member 1 must diverge") };
    assert_eq!((*step, what.as_str()), (1, "the training loss"));
    assert!(!ctxs[1].checkpoint.as_ref().unwrap().exists(), "no checkpoint of the diverged member");
    for i in [0, 2] {
        let report = reports[i].as_ref().unwrap();
        assert_eq!(report.steps_run, cfg.steps, "member {i} trains to the end");
        let alone = state(members[i], DType::F64);
        let r = train(&alone, &datasets[i], &cfg, &ctx(dir.path(), members[i], "alone"), None).unwrap();
        assert_eq!(bits(&alone), bits(&states[i]), "member {i} is untouched by the divergence");
        assert_eq!(r.train_curve, report.train_curve);
    }
}

#[test]
fn members_resume_from_their_own_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = gradient_config();
    cfg.batch_size = 64;
    let members = [Member { kind: ModelKind::HNN, seed: 0 }, Member { kind: ModelKind::BASELINE, seed: 1 }];
    let datasets: Vec<TrainData> = members.iter().map(|m| data(&cfg, m.seed, DType::F64)).collect();
    let straight: Vec<ModelState> = members.iter().map(|m| state(*m, DType::F64)).collect();
    let full: Vec<_> = straight
        .iter()
        .zip(&datasets)
        .zip(&members)
        .map(|((s, d), m)| train(s, d, &cfg, &ctx(dir.path(), *m, "straight"), None).unwrap())
        .collect();

    // Member 0 stopped after 12 steps; member 1 starts afresh; the ensemble takes both to 30.
    let mut short = cfg.clone();
    short.steps = 12;
    let part = ctx(dir.path(), members[0], "part");
    let path = part.checkpoint.clone().unwrap();
    train(&state(members[0], DType::F64), &datasets[0], &short, &part, None).unwrap();
    let (resumed, _) = checkpoint::load(&path, &Device::Cpu, None, Some(ModelKind::HNN)).unwrap();
    let fresh = state(members[1], DType::F64);
    let ctxs = [part, ctx(dir.path(), members[1], "fresh")];
    let reports = train_ensemble(
        &[&resumed, &fresh],
        &datasets.iter().collect::<Vec<_>>(),
        &cfg,
        &ctxs,
        &[Some(path.as_path()), None],
    )
    .unwrap();
    let reports: Vec<_> = reports.into_iter().map(Result::unwrap).collect();
    assert_eq!(reports[0].steps_run, 18);
    assert_eq!(reports[1].steps_run, 30);
    assert_eq!(bits(&resumed), bits(&straight[0]));
    assert_eq!(bits(&fresh), bits(&straight[1]));
    assert_eq!(reports[0].train_curve, full[0].train_curve);
    assert_eq!(reports[1].train_curve, full[1].train_curve);

    // Mismatched lengths are a settings error, before any step.
    let err = train_ensemble(&[&fresh], &datasets.iter().collect::<Vec<_>>(), &cfg, &ctxs[..1], &[None])
        .unwrap_err()
        .to_string();
    assert!(err.contains("1 models") && err.contains("2, 1 and 1"), "{err}");
}
