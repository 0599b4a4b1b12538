//! Experiment configs: every shipped config is valid; bad ones give errors naming the field.

mod common;

use common::*;
use hnn_train::ExperimentConfig;

#[test]
fn every_shipped_experiment_parses_and_validates() {
    let mut names = vec![];
    for entry in std::fs::read_dir(experiments_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            if std::fs::read_to_string(&path).unwrap().contains("kind = \"pixels\"") {
                continue; // pixel experiments are validated by hnn-pixels' tests
            }
            let cfg = ExperimentConfig::from_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(path.file_stem().unwrap().to_str().unwrap(), cfg.name, "file name matches `name`");
            names.push(cfg.name);
        }
    }
    names.sort();
    for required in ["pendulum", "real_pendulum", "spring", "three_body", "two_body"] {
        assert!(names.iter().any(|n| n == required), "experiments/{required}.toml missing");
    }
}

fn base() -> String {
    std::fs::read_to_string(experiments_dir().join("spring.toml")).unwrap()
}

fn error_of(text: &str) -> String {
    ExperimentConfig::from_toml(text, "test.toml").unwrap_err().to_string()
}

#[test]
fn bad_configs_name_the_problem() {
    let b = base();
    let e = error_of(&b.replace("steps = 2000", "steps = 2000\nstepz = 3"));
    assert!(e.contains("stepz"), "unknown key: {e}");
    let e = error_of(&b.replace("steps = 2000", "steps = \"many\""));
    assert!(e.contains("steps") || e.contains("invalid type"), "wrong type: {e}");
    let e = error_of(&b.replace("steps = 2000", "steps = 0"));
    assert!(e.contains("train.steps"), "{e}");
    let e = error_of(&b.replace("learning_rate = 1e-3", "learning_rate = -1.0"));
    assert!(e.contains("train.learning_rate"), "{e}");
    let e = error_of(&b.replace("hidden = [200, 200]", "hidden = [200, 0]"));
    assert!(e.contains("hidden"), "{e}");
    let e = error_of(&b.replace("activation = \"tanh\"", "activation = \"relu\""));
    assert!(e.contains("relu"), "ReLU refused for the HNN: {e}");
    let e = error_of(&b.replace("points = 30", "points = 1"));
    assert!(e.contains("points"), "{e}");
    let e = error_of(&b.replace("t_end = 20.0", "t_end = -1.0"));
    assert!(e.contains("eval.t_end"), "{e}");
    let e = error_of(&b.replace("m = 0.5", "m = -0.5"));
    assert!(e.contains("`m`"), "{e}");
    let e = error_of(&b.replace("kind = \"phase_circle\"", "kind = \"phase_square\""));
    assert!(e.contains("phase_square"), "{e}");
    let e =
        error_of(&format!("{b}\n[train.objective]\nmode = \"trajectory\"\nintegrator = \"leapfrog\"\nsubsteps = 0\n"));
    assert!(e.contains("substeps"), "{e}");
    let e =
        error_of(&format!("{b}\n[train.objective]\nmode = \"trajectory\"\nintegrator = \"verlet9\"\nsubsteps = 5\n"));
    assert!(e.contains("integrator"), "{e}");
    let e = error_of(&b.replace("[eval]\n", "[eval]\nmethod = \"leapfrog\"\n"));
    assert!(e.contains("eval.dt"), "fixed-step evaluation needs dt: {e}");
}

#[test]
fn sizes_that_would_exhaust_memory_are_refused_by_name() {
    let b = base();
    for (from, to, named) in [
        ("hidden = [200, 200]", "hidden = [9223372036854775807]", "model.hidden"),
        ("hidden = [200, 200]", "hidden = [100000, 100000]", "model.hidden"),
        ("hidden = [200, 200]", "hidden = [1000000000]", "model.hidden"),
        ("trajectories = 50", "trajectories = 1000000000", "trajectories × points"),
        ("points = 100", "points = 1000000000", "eval.points"),
        ("starts = 15", "starts = 10000000", "eval.starts"),
    ] {
        assert!(b.contains(from), "{from}");
        let e = error_of(&b.replace(from, to));
        assert!(e.contains(named), "{to}: {e}");
    }
    // Beyond TOML's integers: an error, not a panic.
    assert!(
        ExperimentConfig::from_toml(&b.replace("hidden = [200, 200]", "hidden = [18446744073709551615]"), "t").is_err()
    );
    // The same limits hold for what a checkpoint's metadata claims (it is validated as a spec
    // before any variable is made).
    let spec = |dof: usize, hidden: Vec<usize>| hnn_train::ModelSpec {
        kind: hnn_train::ModelKind::HNN,
        dof,
        hidden,
        activation: hnn_core::Activation::Tanh,
    };
    assert!(spec(1 << 62, vec![8]).validate().unwrap_err().to_string().contains("model.dof"));
    assert!(spec(1, vec![1 << 62]).validate().unwrap_err().to_string().contains("model.hidden"));
    assert!(spec(3, vec![200, 200]).validate().is_ok());
}

#[test]
fn degenerate_settings_are_refused_by_name() {
    let b = base();
    let e = error_of(&b.replace("[model]", "[model]\nkinds = [\"hnn\", \"baseline\", \"hnn\"]"));
    assert!(e.contains("model.kinds names `hnn` twice"), "{e}");
    for bad in ["0.0", "-1.0", "nan"] {
        let e = error_of(&b.replace("[eval]", &format!("[eval]\nvalid_threshold = {bad}")));
        assert!(e.contains("eval.valid_threshold"), "{bad}: {e}");
    }
    // An empty training set is named as such (it used to read as a divergence).
    let mut ds = ExperimentConfig::from_toml(&b, "spring.toml").unwrap().data.load(0, None).unwrap();
    ds.train = hnn_systems::Split::from_rows(vec![], vec![], 2).unwrap();
    let e = hnn_train::TrainData::new(&ds, &Default::default(), candle_core::DType::F32, &candle_core::Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(e.contains("training set is empty"), "{e}");
    // Generated data ignore no --data silently.
    let cfg = ExperimentConfig::from_toml(&b, "spring.toml").unwrap();
    let e = cfg.data.load(0, Some(std::path::Path::new("two_body.npz"))).unwrap_err().to_string();
    assert!(e.contains("--data two_body.npz") && e.contains("generates its data"), "{e}");
}

#[test]
fn models_and_data_must_agree_on_coordinates() {
    let dp = std::fs::read_to_string(experiments_dir().join("double_pendulum.toml")).unwrap();
    // An HNN on (q, q̇) data would learn a J∇H that is not the physics: refused, naming the
    // models that fit and the system's other choice.
    let e = error_of(&dp.replace(r#"kinds = ["baseline", "lnn", "delan"]"#, r#"kinds = ["baseline", "hnn"]"#));
    assert!(e.contains("`hnn` takes canonical (q, p)") && e.contains("baseline, lnn, delan"), "{e}");
    assert!(e.contains(r#"coordinates = "canonical""#), "{e}");
    // And a Lagrangian model on canonical data.
    let e = error_of(&base().replace("[model]", "[model]\nkinds = [\"lnn\"]"));
    assert!(e.contains("`lnn` takes velocity (q, q̇)") && e.contains("hnn"), "{e}");
    // The same chain in canonical coordinates serves the HNN.
    let canonical = dp
        .replace(r#"coordinates = "velocity""#, r#"coordinates = "canonical""#)
        .replace(r#"kinds = ["baseline", "lnn", "delan"]"#, r#"kinds = ["baseline", "hnn"]"#);
    ExperimentConfig::from_toml(&canonical, "test.toml").unwrap();
}

#[test]
fn unknown_keys_inside_tagged_tables_are_refused_too() {
    // Variants without fields of their own (`constant`, `gradient`, `recording`) took any key.
    let b = base();
    let e = error_of(&b.replace("[train]", "[train]\nschedule = { kind = \"constant\", warmup = 100 }"));
    assert!(e.contains("warmup"), "{e}");
    let e = error_of(&b.replace("[train]", "[train]\nobjective = { mode = \"gradient\", substeps = 10 }"));
    assert!(e.contains("substeps"), "{e}");
    let real = std::fs::read_to_string(experiments_dir().join("real_pendulum.toml")).unwrap();
    assert!(real.contains("kind = \"recording\""), "the real pendulum scores a recording");
    let e = error_of(&real.replace("kind = \"recording\"", "kind = \"recording\", count = 3"));
    assert!(e.contains("count"), "{e}");
    // The forms without extra keys still parse.
    ExperimentConfig::from_toml(&b.replace("[train]", "[train]\nschedule = { kind = \"constant\" }"), "t").unwrap();
}

#[test]
fn a_name_that_is_not_one_plain_folder_is_refused() {
    let b = base();
    for bad in ["..", ".", "", " spring", "a/b", "a\\b", "tab\there"] {
        let e = error_of(&b.replace("name = \"spring\"", &format!("name = \"{bad}\"")));
        assert!(e.contains("not a plain folder name"), "{bad:?}: {e}");
    }
    ExperimentConfig::from_toml(&b.replace("name = \"spring\"", "name = \"spring.v2-a_b\""), "t").unwrap();
}

#[test]
fn a_thermostat_section_without_a_separable_model_is_refused() {
    let dw = std::fs::read_to_string(experiments_dir().join("double_well.toml")).unwrap();
    ExperimentConfig::from_toml(&dw, "double_well.toml").unwrap();
    let kinds = dw.lines().find(|l| l.starts_with("kinds")).expect("double_well names its models").to_string();
    let e = error_of(&dw.replace(&kinds, "kinds = [\"hnn\", \"baseline\"]"));
    assert!(e.contains("[thermostat]") && e.contains("separable_hnn") && e.contains("hnn, baseline"), "{e}");
}

#[test]
fn every_system_that_scores_the_states_has_their_degrees_of_freedom() {
    let pendulum = std::fs::read_to_string(experiments_dir().join("pendulum.toml")).unwrap();
    let two_dof = "{ kind = \"henon_heiles\", lambda = 1.0 }";
    let e = error_of(&pendulum.replace(
        "energy = { kind = \"harmonic_oscillator\", m = 0.5, k = 2.0, q0 = 0.0 }",
        &format!("energy = {two_dof}"),
    ));
    assert!(e.contains("eval.paper.energy has 2 degrees of freedom") && e.contains("has 1"), "{e}");
    let e = error_of(&pendulum.replace(
        "[eval.analysis_energy]\nkind = \"harmonic_oscillator\"\nm = 0.5\nk = 2.0\nq0 = 0.0",
        "[eval.analysis_energy]\nkind = \"henon_heiles\"\nlambda = 1.0",
    ));
    assert!(e.contains("eval.analysis_energy has 2 degrees of freedom"), "{e}");
}

#[test]
fn thermostat_budgets_are_checked_without_overflow() {
    let dw = std::fs::read_to_string(experiments_dir().join("double_well.toml")).unwrap();
    let e = error_of(&dw.replace("burn_in = 400", "burn_in = 9223372036854775807"));
    assert!(e.contains("walker steps"), "{e}");
    let many: Vec<String> = (1..=65).map(|i| format!("{}.0", i)).collect();
    let e = error_of(&dw.replace("temperatures = [0.25, 1.0]", &format!("temperatures = [{}]", many.join(", "))));
    assert!(e.contains("65 temperatures"), "{e}");
}

#[test]
fn trajectory_settings_are_bounded_and_their_hints_complete() {
    let osc = std::fs::read_to_string(experiments_dir().join("oscillator_trajectory.toml")).unwrap();
    let e = error_of(&osc.replace("substeps = 50", "substeps = 9223372036854775807"));
    assert!(e.contains("1..=10000") && e.contains("9223372036854775807"), "{e}");
    let e = error_of(&osc.replace("substeps = 50", "substeps = 10001"));
    assert!(e.contains("1..=10000") && e.contains("10001"), "{e}");
    let e = error_of(&osc.replace("substeps = 50", "substeps = 50\nbackprop = \"reversible\""));
    assert!(e.contains("leapfrog, yoshida4, yoshida6, yoshida8") && e.contains("not rk4"), "{e}");
}

#[test]
fn evaluation_budgets_bound_the_product_of_their_counts() {
    let b = base();
    let e = error_of(&b.replace("starts = 15", "starts = 100000").replace("points = 100\n", "points = 1000\n"));
    assert!(e.contains("eval.starts × eval.points"), "{e}");
    let osc = std::fs::read_to_string(experiments_dir().join("oscillator_trajectory.toml")).unwrap();
    let e = error_of(&osc.replace("dt = 0.01", "dt = 1e-12"));
    assert!(e.contains("integrator steps") && e.contains("eval.dt"), "{e}");
}
