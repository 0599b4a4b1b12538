//! The paper's notebook protocol (`hnn_train::paper`): the bootstrap error bar is the
//! notebooks' formula, starts follow the notebook's distribution, the exact field scores zero
//! and a wrong one does not, and a recording is scored from its first held-out state.

use candle_core::{Device, Tensor};
use hnn_systems::import::{self, TrajectoryOptions};
use hnn_systems::{HarmonicOscillator, System};
use hnn_train::paper::{PaperProtocol, PaperScore, PaperSet, PaperStarts};

#[test]
fn the_bootstrap_is_the_notebooks() {
    // numpy: np.std([np.mean(g) for g in np.split(np.arange(1., 16.), 5)]) / np.sqrt(5)
    //      = np.std([2, 5, 8, 11, 14]) / √5 = √18 / √5.
    let values: Vec<f64> = (1..=15).map(f64::from).collect();
    let s = PaperScore::of(&values, 5);
    assert_eq!((s.mean, s.n), (8.0, 15));
    assert!((s.bootstrap - (18.0f64 / 5.0).sqrt()).abs() < 1e-12, "{s:?}");
}

fn protocol(stretch: Option<f64>) -> PaperProtocol {
    PaperProtocol {
        starts: PaperStarts::Square { count: 15, low: 0.2, high: 1.0 },
        t_end: 5.0,
        points: 50,
        rtol: 1e-12,
        atol: 1e-12,
        energy: None,
        time_stretch: stretch,
        splits: 5,
    }
}

fn oscillator_data() -> hnn_systems::Dataset {
    let times: Vec<f64> = (0..40).map(|k| 0.1 * k as f64).collect();
    let z0 = Tensor::new(&[[1.0f64, 0.0], [0.5, 0.5], [-0.3, 0.8], [0.9, -0.2], [0.1, 0.4]], &Device::Cpu).unwrap();
    let exact = HarmonicOscillator::new(0.5, 2.0, 0.0);
    let z = hnn_core::rollout(&exact, &z0, &times, &hnn_core::Solver::dopri5(1e-12, 1e-12)).unwrap();
    import::trajectories_on_grid(&times, &z, &TrajectoryOptions::default()).unwrap()
}

#[test]
fn the_exact_field_scores_zero_and_a_wrong_one_does_not() {
    let data = oscillator_data();
    let truth = System::from(hnn_systems::analytic::HarmonicOscillator::new(0.5, 2.0, 0.0));
    let set = PaperSet::new(&protocol(None), &truth, None, &data, 7).unwrap();
    let exact = HarmonicOscillator::new(0.5, 2.0, 0.0);
    let score = set.score(&exact).unwrap();
    // The field is evaluated in f32, as the notebooks' models: zero to f32 round-off.
    assert!(score.mean < 1e-10 && score.n == 15, "{score:?}");
    let wrong = HarmonicOscillator::new(0.5, 2.5, 0.0);
    assert!(set.score(&wrong).unwrap().mean > 1e-3);
    // With the spring notebook's time stretch the model is compared at later times than the
    // truth: a conserved energy does not mind, a wrong field scores differently.
    let stretched = PaperSet::new(&protocol(Some(0.09)), &truth, None, &data, 7).unwrap();
    assert!(stretched.score(&exact).unwrap().mean < 1e-10);
    let (plain, longer) = (set.score(&wrong).unwrap().mean, stretched.score(&wrong).unwrap().mean);
    assert!(longer > 1e-3 && (longer - plain).abs() > 1e-6 * plain, "{plain} {longer}");
}

#[test]
fn a_recording_is_scored_from_its_first_held_out_state() {
    let data = oscillator_data();
    assert!(data.test.t.is_some(), "trajectories keep their sample times");
    let truth = System::from(hnn_systems::analytic::HarmonicOscillator::new(0.5, 2.0, 0.0));
    let p = PaperProtocol { starts: PaperStarts::Recording {}, rtol: 1e-10, atol: 1e-10, ..protocol(None) };
    let set = PaperSet::new(&p, &truth, None, &data, 0).unwrap();
    let score = set.score(&HarmonicOscillator::new(0.5, 2.0, 0.0)).unwrap();
    // One held-out trajectory of 40 samples, one value per point; the exact field conserves the
    // measured (here: exact) energy.
    assert_eq!(score.n, 40);
    assert!(score.mean < 1e-8, "{score:?}");
    // Beside the energy, the states themselves: the exact field follows the recording.
    assert!(score.state_mse.unwrap() < 1e-8, "{score:?}");
    // Data without sample times cannot be scored so: a clear error.
    let pairs = import::pairs(&data.train.z, &data.train.dz, 0.2).unwrap();
    let e = PaperSet::new(&p, &truth, None, &pairs, 0).unwrap_err().to_string();
    assert!(e.contains("times"), "{e}");
    // Starts outside the notebook's rules are refused by name.
    let bad = PaperProtocol { starts: PaperStarts::Square { count: 0, low: 0.2, high: 1.0 }, ..protocol(None) };
    assert!(bad.validate().unwrap_err().to_string().contains("eval.paper.starts.count"));
}
