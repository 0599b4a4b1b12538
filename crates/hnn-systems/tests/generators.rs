//! The reference data generators: counts, splits, sampling ranges, noise, determinism.

use candle_core::Tensor;
use hnn_systems::*;

fn rows(t: &Tensor) -> Vec<Vec<f64>> {
    t.to_vec2::<f64>().unwrap()
}

#[test]
fn spring_matches_the_reference_definition() {
    let ds = TrajectoryTask::spring().generate(0).unwrap();
    assert_eq!(ds.train.len(), 750);
    assert_eq!(ds.test.len(), 750);
    assert_eq!(ds.meta.dof, 1);
    assert_eq!(ds.meta.layout, "q,p");
    assert_eq!(ds.meta.trajectory_length, Some(30));
    assert!((ds.meta.dt.unwrap() - 3.0 / 29.0).abs() < 1e-15);
    // Targets are exact derivatives at the clean states: for H = q² + p², ż = (2p, −2q), so the
    // clean state is (−ṗ/2, q̇/2) and the noise is what remains.
    let mut noise = vec![];
    let mut radii = vec![];
    for split in [&ds.train, &ds.test] {
        for (z, dz) in rows(&split.z).iter().zip(rows(&split.dz)) {
            let clean = [-dz[1] / 2.0, dz[0] / 2.0];
            noise.push(z[0] - clean[0]);
            noise.push(z[1] - clean[1]);
            radii.push(clean[0].hypot(clean[1]));
        }
    }
    let n = noise.len() as f64;
    let mean = noise.iter().sum::<f64>() / n;
    let std = (noise.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
    assert!((std - 0.1).abs() < 0.005, "noise std {std}");
    assert!(mean.abs() < 0.01);
    // Energy is conserved along the clean trajectories: every radius lies in [0.1, 1].
    assert!(radii.iter().all(|r| (0.1 - 1e-9..=1.0 + 1e-9).contains(r)), "radius out of range");
    let (lo, hi) = radii.iter().fold((f64::MAX, f64::MIN), |(a, b), r| (a.min(*r), b.max(*r)));
    assert!(lo < 0.3 && hi > 0.8, "radii cover the range: {lo} .. {hi}");
}

#[test]
fn pendulum_matches_the_reference_definition() {
    let ds = TrajectoryTask::pendulum().generate(1).unwrap();
    assert_eq!(ds.train.len() + ds.test.len(), 50 * 45);
    assert_eq!(ds.train.len(), 1125);
    // Exact targets: q̇ = 2p, ṗ = −3 sin q at clean states; energies from the radius range.
    let h = Pendulum::reference();
    for (z, dz) in rows(&ds.train.z).iter().zip(rows(&ds.train.dz)).take(200) {
        let clean_p = dz[0] / 2.0;
        // The clean q satisfies sin q = −ṗ/3 and lies within 0.5 of the noisy q (noise 0.1).
        let q = (-dz[1] / 3.0).asin();
        let q = if (q - z[0]).abs() < 0.5 { q } else { std::f64::consts::PI - q };
        let e = h.energy_at(&[q, clean_p]);
        // H on the initial circle: r² ∈ [1.69, 5.29] in (q, p) gives E between the extremes.
        assert!(e > 3.0 * (1.0 - 1.3f64.cos()) - 1e-6 && e < 2.3f64.powi(2) + 1e-6, "energy {e}");
    }
}

#[test]
fn two_body_matches_the_reference_definition() {
    let mut task = TrajectoryTask::two_body();
    task.trajectories = 100; // the full 1000 are exercised by the benchmark
    let ds = task.generate(0).unwrap();
    assert_eq!(ds.test.len(), 20 * 50, "first 20% test");
    assert_eq!(ds.train.len(), 80 * 50);
    assert_eq!(ds.meta.dof, 4);
    assert_eq!(ds.meta.trajectory_length, Some(50));
    // Each trajectory's first point: body 1 in [0.5, 1.5]², body 2 opposite, momenta opposite,
    // speed near the circular one.
    let z = rows(&ds.test.z);
    for traj in z.chunks(50) {
        let s = &traj[0];
        assert!((0.5..=1.5).contains(&s[0]) && (0.5..=1.5).contains(&s[1]), "{s:?}");
        assert_eq!((s[2], s[3]), (-s[0], -s[1]));
        assert_eq!((s[6], s[7]), (-s[4], -s[5]));
        let r = s[0].hypot(s[1]);
        let speed = s[4].hypot(s[5]);
        let circular = 1.0 / (2.0 * r.sqrt());
        assert!((speed / circular - 1.0).abs() < 0.25, "speed ratio {}", speed / circular);
    }
    // Targets are the exact field.
    let h = NBody::unit(2);
    for (zi, dzi) in z.iter().zip(rows(&ds.test.dz)).take(100) {
        let mut d = vec![0.0; 8];
        h.time_derivatives_at(zi, &mut d);
        assert_eq!(d, dzi);
    }
}

#[test]
fn three_body_matches_the_reference_definition() {
    let mut task = TrajectoryTask::three_body();
    task.trajectories = 50;
    let ds = task.generate(0).unwrap();
    assert_eq!(ds.meta.dof, 6);
    assert_eq!(ds.test.len(), 10 * 20);
    let z = rows(&ds.test.z);
    for traj in z.chunks(20) {
        let s = &traj[0];
        let radii: Vec<f64> = (0..3).map(|b| s[2 * b].hypot(s[2 * b + 1])).collect();
        assert!(radii.iter().all(|r| (0.9..=1.2 + 1e-12).contains(r)));
        assert!((radii[0] - radii[1]).abs() < 1e-12 && (radii[1] - radii[2]).abs() < 1e-12, "120° apart on one circle");
        // Centre of mass at the origin.
        assert!((s[0] + s[2] + s[4]).abs() < 1e-12 && (s[1] + s[3] + s[5]).abs() < 1e-12);
    }
}

#[test]
fn same_seed_same_data_different_seed_different_data() {
    let mut task = TrajectoryTask::two_body();
    task.trajectories = 40;
    let a = task.generate(7).unwrap();
    let b = task.generate(7).unwrap();
    let c = task.generate(8).unwrap();
    let bits =
        |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f64>().unwrap().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a.train.z), bits(&b.train.z));
    assert_eq!(bits(&a.test.dz), bits(&b.test.dz));
    assert_ne!(bits(&a.train.z), bits(&c.train.z));
    let s1 = TrajectoryTask::spring().generate(3).unwrap();
    let s2 = TrajectoryTask::spring().generate(3).unwrap();
    assert_eq!(bits(&s1.train.z), bits(&s2.train.z));
    // Independent of the thread count.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let single = pool.install(|| task.generate(7).unwrap());
    assert_eq!(bits(&a.train.z), bits(&single.train.z));
}

#[test]
fn settings_are_validated_with_the_field_named() {
    let mut t = TrajectoryTask::spring();
    t.points = 1;
    assert!(t.generate(0).unwrap_err().to_string().contains("points"));
    let mut t = TrajectoryTask::spring();
    t.test_fraction = 1.5;
    assert!(t.generate(0).unwrap_err().to_string().contains("test_fraction"));
    let mut t = TrajectoryTask::spring();
    t.initial = InitialStates::TwoBodyOrbit { r_min: 0.5, r_max: 1.5, velocity_noise: 0.05 };
    assert!(t.generate(0).unwrap_err().to_string().contains("dof"));
    assert!(TrajectoryTask::preset("nope").is_err());
    // Settings travel as TOML/JSON with unknown keys refused.
    let json = serde_json::to_string(&TrajectoryTask::pendulum()).unwrap();
    let back: TrajectoryTask = serde_json::from_str(&json).unwrap();
    assert_eq!(back, TrajectoryTask::pendulum());
    let bad = json.replacen("\"points\"", "\"pionts\"", 1);
    assert!(serde_json::from_str::<TrajectoryTask>(&bad).is_err());
}

#[test]
fn batching_covers_every_sample_and_is_seeded() {
    use rand::SeedableRng;
    let ds = TrajectoryTask::spring().generate(0).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let batches = ds.train.epoch_batches(100, &mut rng).unwrap();
    assert_eq!(batches.len(), 8);
    assert_eq!(batches.iter().map(|b| b.len()).sum::<usize>(), 750);
    let mut all: Vec<u64> = batches
        .iter()
        .flat_map(|b| b.z.flatten_all().unwrap().to_vec1::<f64>().unwrap())
        .map(|x| x.to_bits())
        .collect();
    let mut orig: Vec<u64> =
        ds.train.z.flatten_all().unwrap().to_vec1::<f64>().unwrap().iter().map(|x| x.to_bits()).collect();
    all.sort();
    orig.sort();
    assert_eq!(all, orig, "each sample exactly once");
    let mut r1 = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let mut r2 = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let b1 = ds.train.random_batch(200, &mut r1).unwrap();
    let b2 = ds.train.random_batch(200, &mut r2).unwrap();
    assert_eq!(b1.len(), 200);
    assert_eq!(rows(&b1.z), rows(&b2.z));
}

#[test]
fn three_body_velocity_noise_spans_the_reference_range() {
    // The reference scales each circular-orbit velocity component by 1 + ν·U[−1, 1] (ν = 0.2).
    use hnn_systems::InitialStates;
    use rand::SeedableRng;
    let (nu, r_min, r_max) = (0.2, 0.9, 1.2);
    let init = InitialStates::ThreeBodyOrbit { r_min, r_max, velocity_noise: nu };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let circular = ((std::f64::consts::PI / 3.0).sin() / (2.0 * (std::f64::consts::PI / 6.0).cos().powi(2))).sqrt();
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for _ in 0..2000 {
        let s = init.sample(&mut rng);
        let r = s[0].hypot(s[1]);
        assert!((r_min..=r_max).contains(&r));
        // Body 1's unperturbed velocity is its position turned by 90°, of size circular / √r.
        let base = [-s[1] / r.powf(1.5) * circular, s[0] / r.powf(1.5) * circular];
        for (v, b) in [s[6], s[7]].iter().zip(base) {
            if b.abs() > 1e-3 {
                let f = v / b;
                lo = lo.min(f);
                hi = hi.max(f);
            }
        }
    }
    assert!(lo >= 1.0 - nu - 1e-12 && hi <= 1.0 + nu + 1e-12, "factors in [{lo}, {hi}]");
    assert!(lo < 1.0 - 0.95 * nu && hi > 1.0 + 0.95 * nu, "factors span only [{lo}, {hi}]");
}

#[test]
fn motion_that_cannot_be_integrated_names_the_task_the_system_and_the_start() {
    // m = 1e308 passes validation (positive, finite) but overflows the field at once.
    let mut t = TrajectoryTask::pendulum();
    t.system = System::Pendulum(Pendulum::new(1e308, 6.0, 1.0));
    let message = t.generate(0).unwrap_err().to_string();
    for part in ["task pendulum", "trajectory 0", "z0 = ", "data.task.system", "\"m\":1e+308", "Dormand"] {
        assert!(message.contains(part), "`{part}` missing from: {message}");
    }
}
