//! Analytic systems: gradients against finite differences, tensor and slice forms agreeing,
//! the reference formulas, conservation along Dormand–Prince trajectories.

use candle_core::{DType, Device, Tensor};
use hnn_core::Hamiltonian;
use hnn_systems::*;

fn fd_grad(h: &dyn AnalyticHamiltonian, z: &[f64]) -> Vec<f64> {
    let eps = 1e-6;
    (0..z.len())
        .map(|i| {
            let (mut a, mut b) = (z.to_vec(), z.to_vec());
            a[i] += eps;
            b[i] -= eps;
            (h.energy_at(&a) - h.energy_at(&b)) / (2.0 * eps)
        })
        .collect()
}

fn systems() -> Vec<(&'static str, Box<dyn AnalyticHamiltonian>, Vec<f64>)> {
    vec![
        ("oscillator", Box::new(HarmonicOscillator::new(2.0, 3.0, 0.5)), vec![0.3, -0.7]),
        ("pendulum", Box::new(Pendulum::new(1.3, 9.8, 0.7)), vec![1.1, 0.4]),
        ("two_body", Box::new(NBody::unit(2)), vec![0.5, 0.2, -0.4, -0.1, 0.1, 0.3, -0.2, 0.05]),
        (
            "three_body",
            Box::new(NBody::new(vec![1.0, 2.0, 0.5], 1.5)),
            vec![1.0, 0.0, -0.5, 0.8, -0.4, -0.9, 0.1, 0.2, 0.3, -0.1, 0.0, 0.4],
        ),
        ("double_well", Box::new(DoubleWell::new(1.0, 0.7, 1.2)), vec![0.9, -0.3]),
        ("henon_heiles", Box::new(HenonHeiles::default()), vec![0.1, -0.2, 0.3, 0.15]),
        (
            "chain_pendulum",
            Box::new(ChainPendulum {
                m: vec![1.0, 2.0, 0.5],
                l: vec![1.0, 0.5, 1.5],
                g: 9.81,
                coordinates: Default::default(),
            }),
            vec![0.4, -1.2, 2.5, 0.3, -0.8, 1.1],
        ),
        ("chain", Box::new(OscillatorChain::new(5, 1.0, 2.0)), (0..10).map(|i| (i as f64 * 0.37).sin()).collect()),
    ]
}

#[test]
fn analytic_gradients_match_finite_differences() {
    for (name, h, z) in systems() {
        let mut g = vec![0.0; z.len()];
        h.grad_at(&z, &mut g);
        let fd = fd_grad(h.as_ref(), &z);
        for (a, b) in g.iter().zip(&fd) {
            assert!((a - b).abs() < 1e-7 * (1.0 + b.abs()), "{name}: {g:?} vs {fd:?}");
        }
        // Hamilton's equations: ż = (∂H/∂p, −∂H/∂q).
        let mut dz = vec![0.0; z.len()];
        h.time_derivatives_at(&z, &mut dz);
        let n = z.len() / 2;
        for i in 0..n {
            assert_eq!(dz[i], g[n + i]);
            assert_eq!(dz[n + i], -g[i]);
        }
    }
}

#[test]
fn reference_formulas() {
    let spring = HarmonicOscillator::reference_spring();
    let pend = Pendulum::reference();
    for (q, p) in [(0.3, -0.7), (2.0, 1.5), (-1.2, 0.1)] {
        assert!((spring.energy_at(&[q, p]) - (q * q + p * p)).abs() < 1e-15);
        assert!((pend.energy_at(&[q, p]) - (3.0 * (1.0 - f64::cos(q)) + p * p)).abs() < 1e-14);
    }
    let kepler = NBody::unit(2);
    // Two unit masses at distance 2 at rest: H = −1/2.
    assert!((kepler.energy_at(&[1.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0]) + 0.5).abs() < 1e-15);
}

#[test]
fn tensor_form_agrees_with_slice_form_in_f64_and_f32() {
    for (name, h, z) in systems() {
        let system = hnn_systems::system::SystemHamiltonian(h);
        let zt = Tensor::from_vec(z.clone(), (1, z.len()), &Device::Cpu).unwrap();
        let e = system.energy(&zt).unwrap().to_vec1::<f64>().unwrap()[0];
        assert_eq!(e, system.energy_at(&z), "{name}");
        let g = system.grad(&zt).unwrap().flatten_all().unwrap().to_vec1::<f64>().unwrap();
        let mut g_ref = vec![0.0; z.len()];
        system.grad_at(&z, &mut g_ref);
        assert_eq!(g, g_ref, "{name}");
        let z32 = zt.to_dtype(DType::F32).unwrap();
        let f = hnn_core::VectorField::time_derivatives(&system, &z32).unwrap();
        assert_eq!(f.dtype(), DType::F32);
        assert_eq!(f.dims(), &[1, z.len()]);
    }
    // Wrong widths are refused, not misread.
    let wrong = Tensor::zeros((3, 3), DType::F64, &Device::Cpu).unwrap();
    assert!(Pendulum::reference().energy(&wrong).is_err());
}

#[test]
fn large_batches_are_evaluated_in_parallel_identically() {
    let h = NBody::unit(3);
    let z = Tensor::randn(0f64, 1.0, (10_000, 12), &Device::Cpu).unwrap();
    let e = h.energy(&z).unwrap().to_vec1::<f64>().unwrap();
    let rows = z.to_vec2::<f64>().unwrap();
    for i in [0, 4095, 4096, 9999] {
        assert_eq!(e[i], h.energy_at(&rows[i]));
    }
}

#[test]
fn two_body_energy_is_conserved_at_rtol_1e9_over_the_reference_span() {
    let task = TrajectoryTask::two_body();
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(3);
    let starts = task.initial_states(20, &mut rng);
    let times = task.times();
    let trajectories = task.integrate(&starts, &times).unwrap();
    let h = NBody::unit(2);
    let mut worst: f64 = 0.0;
    for traj in &trajectories {
        let e0 = h.energy_at(&traj[..8]);
        for row in traj.chunks(8) {
            worst = worst.max(((h.energy_at(row) - e0) / e0).abs());
        }
    }
    assert!(worst < 1e-8, "relative energy drift {worst:.2e}");
}

#[test]
fn reference_layout_round_trip() {
    let h = NBody::new(vec![1.0, 2.0], 1.0);
    let z = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
    let r = h.to_reference_layout(&z);
    // [qx1, qx2, qy1, qy2, vx1, vx2, vy1, vy2], v = p/m
    assert_eq!(r, vec![1.0, 3.0, 2.0, 4.0, 5.0, 3.5, 6.0, 4.0]);
    assert_eq!(h.from_reference_layout(&r), z);
}

#[test]
fn systems_serialize_with_a_kind_tag_and_are_validated() {
    let s: System = serde_json::from_str(r#"{"kind":"pendulum","m":0.5,"g":6.0,"l":1.0}"#).unwrap();
    assert_eq!(s, System::from(Pendulum::new(0.5, 6.0, 1.0)));
    assert!(serde_json::from_str::<System>(r#"{"kind":"pendulum","m":0.5,"g":6.0,"l":1.0,"x":1}"#).is_err());
    assert!(System::from(Pendulum::new(-1.0, 6.0, 1.0)).validate().unwrap_err().to_string().contains("`m`"));
    assert!(System::from(NBody::new(vec![1.0], 1.0)).validate().is_err());
}

#[test]
fn every_system_keeps_its_config_form() {
    // What configs and checkpoint metadata hold, field for field and in this order: each kind
    // round-trips, and an unknown field is refused naming the known ones.
    let forms = [
        r#"{"kind":"harmonic_oscillator","m":0.5,"k":2.0,"q0":0.0}"#,
        r#"{"kind":"damped_oscillator","m":0.5,"k":2.0,"gamma":0.1}"#,
        r#"{"kind":"pendulum","m":0.5,"g":6.0,"l":1.0}"#,
        r#"{"kind":"n_body","masses":[1.0,1.0],"g":1.0}"#,
        r#"{"kind":"double_well","m":1.0,"a":1.0,"b":1.0}"#,
        r#"{"kind":"henon_heiles","lambda":1.0}"#,
        r#"{"kind":"chain_pendulum","m":[1.0,2.0],"l":[1.0,0.5],"g":9.81,"coordinates":"velocity"}"#,
        r#"{"kind":"oscillator_chain","n":3,"m":1.0,"k":1.0}"#,
    ];
    assert_eq!(forms.len(), System::KINDS.len(), "one form per kind");
    for (form, (name, _)) in forms.iter().zip(System::KINDS) {
        let s: System = serde_json::from_str(form).unwrap();
        s.validate().unwrap();
        assert_eq!(&serde_json::to_string(&s).unwrap(), form);
        assert!(form.contains(&format!("\"{name}\"")), "{form} is listed as {name}");
        let extra = form.replacen('}', r#","x":1}"#, 1);
        let err = serde_json::from_str::<System>(&extra).unwrap_err().to_string();
        assert!(err.contains("unknown field `x`"), "{err}");
    }
}

#[test]
fn the_damped_oscillator_follows_its_exact_solution_and_loses_energy_at_the_friction_rate() {
    let d = DampedOscillator::new(0.5, 2.0, 0.3);
    let system = System::from(DampedOscillator::new(0.5, 2.0, 0.3));
    system.validate().unwrap();
    assert!(System::from(DampedOscillator::new(0.5, 2.0, -0.1)).validate().is_err());
    let h = system.hamiltonian();
    assert!(!h.is_conservative());
    assert_eq!(h.damping_rate(), Some(0.3));
    let times: Vec<f64> = (0..=40).map(|i| i as f64 * 0.25).collect();
    let z0 = [0.8, -0.3];
    let solver = hnn_core::integrators::DormandPrince::new(1e-12, 1e-14);
    let numeric = solver.solve_slice(|y, dy| h.time_derivatives_at(y, dy), &z0, &times).unwrap();
    for (t, z) in times.iter().zip(numeric.chunks(2)) {
        let exact = d.exact(z0, *t).unwrap();
        assert!((z[0] - exact[0]).abs() < 1e-9 && (z[1] - exact[1]).abs() < 1e-9, "t = {t}: {z:?} vs {exact:?}");
    }
    // The friction removes energy at the rate γ(p/m)², and the field is J∇H plus −γp/m on ṗ.
    for z in numeric.chunks(2) {
        let (mut dz, mut hz) = ([0.0; 2], [0.0; 2]);
        h.time_derivatives_at(z, &mut dz);
        h.hamiltonian_field_at(z, &mut hz);
        assert_eq!(dz[0], hz[0]);
        assert!((dz[1] - (hz[1] - 0.3 * z[1] / 0.5)).abs() < 1e-15);
        let mut g = [0.0; 2];
        h.grad_at(z, &mut g);
        let power = g[0] * dz[0] + g[1] * dz[1];
        assert!((power + 0.3 * (z[1] / 0.5).powi(2)).abs() < 1e-12);
    }
    // Energy decays on average as e^(−γt/m): over many periods the ratio matches.
    let (e0, e1) = (d.energy_at(&z0), d.energy_at(&numeric[numeric.len() - 2..]));
    let rate = -(e1 / e0).ln() / 10.0;
    assert!((rate - 0.3 / 0.5).abs() < 0.05 * 0.6, "decay rate {rate} vs γ/m = 0.6");
    // Overdamped: no closed form offered.
    assert!(DampedOscillator::new(1.0, 1.0, 3.0).exact(z0, 1.0).is_none());
    // The tensor field has no Hamiltonian (symplectic integrators refuse it) but an energy.
    let zt = Tensor::from_vec(z0.to_vec(), (1, 2), &Device::Cpu).unwrap();
    assert!(hnn_core::VectorField::hamiltonian(&d).is_none());
    let e = hnn_core::VectorField::energy_function(&d).unwrap().energy(&zt).unwrap().to_vec1::<f64>().unwrap();
    assert_eq!(e[0], d.energy_at(&z0));
    assert!(hnn_core::Integrator::propagate(&hnn_core::integrators::Leapfrog, &d, &zt, 0.1, 1).is_err());
}
