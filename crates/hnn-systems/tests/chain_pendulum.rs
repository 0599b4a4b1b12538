//! The chain pendulum: one link is the pendulum, ∇H and ∇E match finite differences in both
//! coordinates, the velocity-coordinate flow is the canonical one mapped by p = M(q)q̇, and
//! energy is conserved along chaotic double- and five-link trajectories.

use hnn_core::integrators::DormandPrince;
use hnn_core::Coordinates;
use hnn_systems::{AnalyticHamiltonian, ChainPendulum, Pendulum, System};

fn chain(links: usize, coordinates: Coordinates) -> ChainPendulum {
    let m: Vec<f64> = (0..links).map(|i| 1.0 + 0.3 * i as f64).collect();
    let l: Vec<f64> = (0..links).map(|i| 1.2 - 0.15 * i as f64).collect();
    ChainPendulum { m, l, g: 9.81, coordinates }
}

fn state(links: usize, seed: f64) -> Vec<f64> {
    (0..2 * links).map(|i| (seed + 1.7 * i as f64).sin() * 1.3).collect()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

#[test]
fn one_link_is_the_pendulum() {
    let c = ChainPendulum { m: vec![0.7], l: vec![1.3], g: 6.0, coordinates: Coordinates::Canonical };
    let p = Pendulum::new(0.7, 6.0, 1.3);
    for z in [[0.3, -1.1], [2.9, 0.4], [-1.0, 2.0]] {
        assert!(close(c.energy_at(&z), p.energy_at(&z), 1e-14));
        let (mut a, mut b) = ([0.0; 2], [0.0; 2]);
        c.time_derivatives_at(&z, &mut a);
        p.time_derivatives_at(&z, &mut b);
        assert!(close(a[0], b[0], 1e-14) && close(a[1], b[1], 1e-14), "{a:?} vs {b:?}");
    }
}

#[test]
fn gradients_match_finite_differences_in_both_coordinates() {
    for coordinates in [Coordinates::Canonical, Coordinates::Velocity] {
        for links in [1, 2, 3, 5] {
            let c = chain(links, coordinates);
            let z = state(links, 0.4 + links as f64);
            let mut grad = vec![0.0; 2 * links];
            c.grad_at(&z, &mut grad);
            for i in 0..2 * links {
                let (mut a, mut b) = (z.clone(), z.clone());
                a[i] += 1e-6;
                b[i] -= 1e-6;
                let fd = (c.energy_at(&a) - c.energy_at(&b)) / 2e-6;
                assert!(close(grad[i], fd, 1e-7), "{coordinates:?}, {links} links: ∂/∂z{i} = {}, fd {fd}", grad[i]);
            }
        }
    }
}

#[test]
fn the_velocity_flow_is_the_canonical_flow_mapped_by_the_mass_matrix() {
    // With p = M(q)q̇: ṗ = Ṁq̇ + Mq̈, Ṁ by a central difference along q̇.
    for links in [2, 3, 5] {
        let (canonical, velocity) = (chain(links, Coordinates::Canonical), chain(links, Coordinates::Velocity));
        let zv = state(links, 2.0 * links as f64);
        let (q, v) = zv.split_at(links);
        let p = velocity.momenta(q, v);
        let zc: Vec<f64> = q.iter().chain(&p).copied().collect();
        assert!(close(canonical.energy_at(&zc), velocity.energy_at(&zv), 1e-13));
        let (mut dc, mut dv) = (vec![0.0; 2 * links], vec![0.0; 2 * links]);
        canonical.time_derivatives_at(&zc, &mut dc);
        velocity.time_derivatives_at(&zv, &mut dv);
        for i in 0..links {
            assert!(close(dc[i], v[i], 1e-12), "q̇ = ∂H/∂p");
            assert_eq!(dv[i], v[i]);
        }
        let h = 1e-6;
        let shifted = |s: f64| -> Vec<f64> {
            let qs: Vec<f64> = q.iter().zip(v).map(|(q, v)| q + s * v).collect();
            velocity.momenta(&qs, v)
        };
        let (plus, minus) = (shifted(h), shifted(-h));
        let m_qdd = velocity.momenta(q, &dv[links..]);
        for i in 0..links {
            let pdot = (plus[i] - minus[i]) / (2.0 * h) + m_qdd[i];
            assert!(close(pdot, dc[links + i], 1e-7), "{links} links: ṗ{i} = {pdot}, canonical {}", dc[links + i]);
        }
    }
}

#[test]
fn energy_is_conserved_along_chaotic_trajectories() {
    let solver = DormandPrince::truth();
    for (links, coordinates) in [(2, Coordinates::Velocity), (2, Coordinates::Canonical), (5, Coordinates::Velocity)] {
        let c = chain(links, coordinates);
        let z0 = state(links, 0.9);
        let times: Vec<f64> = (0..=50).map(|i| i as f64 * 0.2).collect();
        let traj = solver.solve_slice(|y, dy| c.time_derivatives_at(y, dy), &z0, &times).unwrap();
        let e0 = c.energy_at(&z0);
        for z in traj.chunks(2 * links) {
            let e = c.energy_at(z);
            assert!((e - e0).abs() < 1e-7 * (1.0 + e0.abs()), "{links} links {coordinates:?}: E {e} vs {e0}");
        }
    }
}

#[test]
fn a_chain_is_configured_by_its_masses_and_lengths_and_validated() {
    let s: System = serde_json::from_str(
        r#"{"kind":"chain_pendulum","m":[1.0,1.0],"l":[1.0,1.0],"g":9.81,"coordinates":"velocity"}"#,
    )
    .unwrap();
    s.validate().unwrap();
    assert_eq!((s.dof(), s.coordinates()), (2, Coordinates::Velocity));
    for (bad, names) in [
        (r#""m":[1.0,1.0],"l":[1.0],"g":9.81"#, "2 masses and 1 lengths"),
        (r#""m":[1.0,-1.0],"l":[1.0,1.0],"g":9.81"#, "m[1]"),
        (r#""m":[],"l":[],"g":9.81"#, "1 to 16 links"),
        (r#""m":[1.0],"l":[0.0],"g":9.81"#, "l[0]"),
    ] {
        let s: System = serde_json::from_str(&format!(r#"{{"kind":"chain_pendulum",{bad}}}"#)).unwrap();
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains(names), "{bad}: {err}");
    }
    let err = serde_json::from_str::<System>(
        r#"{"kind":"chain_pendulum","m":[1.0],"l":[1.0],"g":1.0,"coordinates":"polar"}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("canonical") && err.contains("velocity"), "{err}");
}
