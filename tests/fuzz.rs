//! Hostile input, seeded: at least 500 random corruptions of each kind of file hnn reads (a
//! checkpoint, a `.safetensors` dataset, an `.npz` dataset, a real-pendulum recording and an
//! experiment config), run through the entry points the commands use. Every case must end in a
//! clear error or a correct result, never a panic:
//! - corrupted bytes of a checkpoint or dataset file (bit flips, truncations, overwritten runs,
//!   edited numbers) are refused, or, where they change nothing a reader uses, give exactly the
//!   original (checksums and zip CRCs make any other outcome a silent acceptance);
//! - checkpoint metadata edited and re-sealed with a valid checksum (as a tool or an attacker
//!   would) is validated: huge widths, dofs, dtypes, eval sizes are refused before allocating;
//! - an edited recording or config that still parses gives a valid dataset, or a config whose
//!   every size is within hnn's caps.
//!
//! Memory stays bounded because every size is checked before anything of that size is made; the
//! accepted configs' sizes are asserted against the caps here.

use candle_core::{DType, Device, Tensor};
use hnn::systems::derivatives::DerivativeSettings;
use hnn::systems::{io, real, Dataset};
use hnn::train::checkpoint;
use hnn::train::experiment::ExperimentConfig;
use hnn::train::model::{ModelKind, ModelState};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

/// Cases of each kind.
const CASES: usize = 500;

/// Numbers an edit writes over a number of the file: huge, negative, zero, not a number.
const HOSTILE: [&str; 10] =
    ["18446744073709551615", "4611686018427387904", "1e308", "-1", "0", "nan", "99999999999", "1e-300", "-0", "2.5"];

/// One random corruption of `bytes`; edits of numbers only where `text_end` bytes are text.
fn corrupt(bytes: &[u8], text_end: usize, rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut b = bytes.to_vec();
    let len = b.len();
    match rng.random_range(0..5) {
        0 => {
            let at = rng.random_range(0..len);
            b[at] ^= 1 << rng.random_range(0..8);
        }
        1 => {
            for _ in 0..rng.random_range(2..9) {
                let at = rng.random_range(0..len);
                b[at] ^= 1 << rng.random_range(0..8);
            }
        }
        2 => b.truncate(rng.random_range(0..len)),
        3 => {
            let at = rng.random_range(0..len);
            for x in b.iter_mut().skip(at).take(rng.random_range(1..9)) {
                *x = rng.random();
            }
        }
        _ => {
            // Replace a run of digits inside the text part with a hostile number.
            let digits: Vec<usize> = (0..text_end.min(len)).filter(|&i| b[i].is_ascii_digit()).collect();
            if digits.is_empty() {
                b[0] ^= 1;
            } else {
                let mut start = digits[rng.random_range(0..digits.len())];
                while start > 0 && b[start - 1].is_ascii_digit() {
                    start -= 1;
                }
                let mut end = start;
                while end < len && b[end].is_ascii_digit() {
                    end += 1;
                }
                let with = HOSTILE[rng.random_range(0..HOSTILE.len())].as_bytes();
                b.splice(start..end, with.iter().copied());
            }
        }
    }
    b
}

/// Bytes of a safetensors file's header (its JSON), where numbers are text.
fn header_end(bytes: &[u8]) -> usize {
    8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize
}

/// Runs `case` for every index, counting errors and accepted results; a panic fails the test
/// naming the kind and case.
fn campaign(kind: &str, mut case: impl FnMut(usize, &mut ChaCha8Rng) -> Result<(), String>) -> (usize, usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed ^ kind.len() as u64);
    let (mut refused, mut accepted) = (0, 0);
    for i in 0..CASES {
        match catch_unwind(AssertUnwindSafe(|| case(i, &mut rng))) {
            Ok(Err(_)) => refused += 1,
            Ok(Ok(())) => accepted += 1,
            Err(p) => {
                let msg =
                    p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
                panic!("{kind}, case {i}: a panic reached the caller: {msg:?}");
            }
        }
    }
    eprintln!("{kind}: {CASES} cases, {refused} refused with an error, {accepted} accepted as correct");
    (refused, accepted)
}

fn same_tensors(a: &std::collections::HashMap<String, Tensor>, b: &[(String, candle_core::Var)]) -> bool {
    b.iter().all(|(name, v)| {
        a.get(name).is_some_and(|t| {
            t.to_dtype(DType::F64).unwrap().flatten_all().unwrap().to_vec1::<f64>().unwrap()
                == v.as_tensor().to_dtype(DType::F64).unwrap().flatten_all().unwrap().to_vec1::<f64>().unwrap()
        })
    })
}

fn same_dataset(a: &Dataset, b: &Dataset) -> bool {
    let v = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f64>().unwrap();
    a.meta == b.meta
        && v(&a.train.z) == v(&b.train.z)
        && v(&a.train.dz) == v(&b.train.dz)
        && v(&a.test.z) == v(&b.test.z)
        && v(&a.test.dz) == v(&b.test.dz)
}

/// A small spring config, as `hnn exp spring` would store in its checkpoints.
fn spring() -> ExperimentConfig {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    ExperimentConfig::from_file(&repo.join("experiments/spring.toml")).unwrap().smoke(2).unwrap()
}

/// What `hnn eval` does with a checkpoint before any rollout: load it, validate its stored
/// config, and evaluate the model once.
fn eval_entry(path: &Path) -> Result<(ModelState, checkpoint::CheckpointMeta), String> {
    let (state, meta) = checkpoint::load(path, &Device::Cpu, Some(DType::F64), None).map_err(|e| e.to_string())?;
    if let Some(json) = meta.training.experiment.clone() {
        let cfg: ExperimentConfig = serde_json::from_value(json).map_err(|e| e.to_string())?;
        cfg.validate().map_err(|e| e.to_string())?;
    }
    let z = Tensor::zeros((3, 2 * state.spec.dof), DType::F64, &Device::Cpu).unwrap();
    let frozen = state.frozen(DType::F64, &Device::Cpu).map_err(|e| e.to_string())?;
    hnn::core::VectorField::time_derivatives(&frozen, &z).map_err(|e| e.to_string())?;
    Ok((state, meta))
}

/// A spring HNN (seed 3, f32) saved to `hnn.safetensors` in a new temporary directory.
fn saved_spring_checkpoint() -> (tempfile::TempDir, ModelState, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = spring();
    let ds = cfg.data.load(0, None).unwrap();
    let state = ModelState::new(cfg.model_spec(ModelKind::HNN, 1), DType::F32, &Device::Cpu, 3).unwrap();
    let good = dir.path().join("hnn.safetensors");
    checkpoint::save(&state, &cfg.training_info(&ds, 3), &good).unwrap();
    (dir, state, good)
}

#[test]
fn corrupted_checkpoints_are_refused_or_read_exactly() {
    let (dir, state, good) = saved_spring_checkpoint();
    let bytes = std::fs::read(&good).unwrap();
    let original = checkpoint::read_meta(&good).unwrap();
    let text = header_end(&bytes);
    let path = dir.path().join("case.safetensors");
    let (refused, _) = campaign("checkpoint bytes", |_, rng| {
        std::fs::write(&path, corrupt(&bytes, text, rng)).unwrap();
        let (loaded, meta) = eval_entry(&path)?;
        let (_, tensors) = checkpoint::read_raw(&path).map_err(|e| e.to_string())?;
        assert!(meta == original && same_tensors(&tensors, &state.named_vars()), "a corrupted checkpoint was accepted");
        assert_eq!(loaded.spec, state.spec);
        Ok(())
    });
    assert!(refused > CASES * 9 / 10, "only {refused} of {CASES} corrupted checkpoints were refused");
}

#[test]
fn resealed_checkpoint_metadata_is_validated_before_allocating() {
    // Metadata edited and sealed again with a matching checksum: the checksum cannot help, so
    // the validation must (sizes, kinds, dtypes, the stored config).
    let (dir, _state, good) = saved_spring_checkpoint();
    let (meta, tensors) = checkpoint::read_raw(&good).unwrap();
    let tensors: Vec<(String, Tensor)> = tensors.into_iter().collect();
    let path = dir.path().join("case.safetensors");
    let edits: [(&str, &[serde_json::Value]); 10] = [
        (
            "/model/hidden/0",
            &[
                serde_json::json!(18446744073709551615u64),
                serde_json::json!(1u64 << 40),
                serde_json::json!(0),
                serde_json::json!(17),
            ],
        ),
        (
            "/model/dof",
            &[serde_json::json!(1u64 << 62), serde_json::json!(0), serde_json::json!(2), serde_json::json!(65537)],
        ),
        (
            "/model/hidden",
            &[serde_json::json!([1_000_000_000u64, 1_000_000_000u64]), serde_json::json!([]), serde_json::json!([16])],
        ),
        (
            "/model/activation",
            &[
                serde_json::json!("relu"),
                serde_json::json!("softplus"),
                serde_json::json!("nope"),
                serde_json::json!(3),
            ],
        ),
        ("/model/kind", &[serde_json::json!("baseline"), serde_json::json!("separable_hnn"), serde_json::json!("x")]),
        (
            "/dtype",
            &[serde_json::json!("f16"), serde_json::json!("f64"), serde_json::json!("i64"), serde_json::json!("")],
        ),
        (
            "/training/experiment/eval/points",
            &[serde_json::json!(100_000_000u64), serde_json::json!(0), serde_json::json!(1)],
        ),
        ("/training/experiment/eval/starts", &[serde_json::json!(10_000_000u64), serde_json::json!(0)]),
        ("/training/experiment/eval/dt", &[serde_json::json!(1e-300), serde_json::json!(-1.0)]),
        ("/training/experiment/data/task/trajectories", &[serde_json::json!(1_000_000_000u64), serde_json::json!(0)]),
    ];
    let (_, accepted) = campaign("re-sealed checkpoint metadata", |_, rng| {
        let mut value = meta.clone();
        for _ in 0..rng.random_range(1..3) {
            let (pointer, choices) = edits[rng.random_range(0..edits.len())];
            if let Some(slot) = value.pointer_mut(pointer) {
                *slot = choices[rng.random_range(0..choices.len())].clone();
            }
        }
        let bytes = hnn::systems::sealed::serialize(tensors.clone(), "hnn", &value.to_string()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        let (loaded, stored) = eval_entry(&path)?;
        // Accepted: the model is what the (edited) metadata says and fits the tensors it holds.
        assert_eq!(loaded.spec, stored.model);
        assert!(loaded.spec.parameter_bound() <= hnn::train::model::state::MAX_PARAMETERS);
        Ok(())
    });
    assert!(accepted < CASES, "every edit was accepted");
}

#[test]
fn corrupted_dataset_files_are_refused_or_read_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let ds = spring().data.load(0, None).unwrap();
    for ext in ["safetensors", "npz"] {
        let good = dir.path().join(format!("data.{ext}"));
        io::save(&ds, &good).unwrap();
        let bytes = std::fs::read(&good).unwrap();
        let text = if ext == "safetensors" { header_end(&bytes) } else { 0 };
        let path = dir.path().join(format!("case.{ext}"));
        let (refused, _) = campaign(&format!("dataset .{ext}"), |_, rng| {
            std::fs::write(&path, corrupt(&bytes, text, rng)).unwrap();
            let loaded = io::load(&path).map_err(|e| e.to_string())?;
            assert!(same_dataset(&loaded, &ds), "a corrupted .{ext} dataset was accepted with other contents");
            Ok(())
        });
        assert!(refused > CASES * 9 / 10, ".{ext}: only {refused} of {CASES} refused");
    }
}

#[test]
fn edited_recordings_give_a_valid_dataset_or_a_clear_error() {
    // A recording in the Schmidt & Lipson text format: trial, t, q, p per line.
    let mut text = String::from("%o v\n");
    for trial in 0..3 {
        for k in 0..60 {
            let t = 5.0 + k as f64 / 60.0;
            let a = 1.0 + 0.1 * trial as f64;
            text += &format!(
                "  {trial:.16e}  {t:.16e}  {:.16e}  {:.16e}\n",
                a * (3.0 * t).cos(),
                -3.0 * a * (3.0 * t).sin()
            );
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("real_pend_h_1.txt");
    let bytes = text.into_bytes();
    campaign("real-pendulum recording", |_, rng| {
        std::fs::write(&path, corrupt(&bytes, bytes.len(), rng)).unwrap();
        let ds = real::real_pendulum(&path, &DerivativeSettings::default()).map_err(|e| e.to_string())?;
        // Accepted: a recording that still parses, as a valid dataset of finite samples.
        ds.validate("fuzz").expect("an accepted recording validates");
        assert!(ds.train.len() + ds.test.len() <= 3 * 60);
        Ok(())
    });
}

#[test]
fn edited_configs_parse_within_the_caps_or_are_refused() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let texts: Vec<Vec<u8>> = ["spring", "two_body", "oscillator_trajectory", "real_pendulum"]
        .iter()
        .map(|n| std::fs::read(repo.join(format!("experiments/{n}.toml"))).unwrap())
        .collect();
    campaign("experiment config", |i, rng| {
        let original = &texts[i % texts.len()];
        let bytes = corrupt(original, original.len(), rng);
        let text = String::from_utf8(bytes).map_err(|e| e.to_string())?;
        let cfg = ExperimentConfig::from_toml(&text, "fuzz.toml").map_err(|e| e.to_string())?;
        // Accepted: every size that sets memory or time is within the caps.
        let spec = cfg.model_spec(ModelKind::HNN, 2);
        assert!(spec.parameter_bound() <= hnn::train::model::state::MAX_PARAMETERS);
        assert!(
            cfg.eval.starts <= hnn::train::eval::MAX_EVAL_STARTS
                && cfg.eval.points <= hnn::train::eval::MAX_EVAL_POINTS
        );
        if let hnn::train::experiment::DataConfig::Generate { task } = &cfg.data {
            assert!((task.trajectories as f64) * (task.points as f64) <= hnn::systems::generate::MAX_SAMPLES);
        }
        Ok(())
    });
}
