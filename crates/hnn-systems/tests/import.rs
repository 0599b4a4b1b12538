//! Datasets from a user's data: pairs, trajectories on a grid and irregular, `.npz` and CSV
//! files, with the split by whole trajectories and errors that name the array or column.

use candle_core::{DType, Device, Tensor};
use hnn_systems::import::{self, Trajectory, TrajectoryOptions};

/// B oscillator trajectories q = a cos(t + φ), p = −a sin(t + φ) on `times`, as [T, B, 2].
fn oscillator(times: &[f64], b: usize) -> Tensor {
    let mut v = Vec::with_capacity(times.len() * b * 2);
    for &t in times {
        for k in 0..b {
            let (a, phi) = (0.5 + 0.1 * k as f64, 0.3 * k as f64);
            v.extend([a * (t + phi).cos(), -a * (t + phi).sin()]);
        }
    }
    Tensor::from_vec(v, (times.len(), b, 2), &Device::Cpu).unwrap()
}

#[test]
fn trajectories_on_a_grid_split_whole_and_record_the_grid() {
    let times: Vec<f64> = (0..50).map(|k| 0.05 * k as f64).collect();
    let ds = import::trajectories_on_grid(&times, &oscillator(&times, 10), &TrajectoryOptions::default()).unwrap();
    assert_eq!((ds.train.len(), ds.test.len()), (8 * 50, 2 * 50));
    assert_eq!(ds.meta.trajectory_length, Some(50));
    assert!((ds.meta.dt.unwrap() - 0.05).abs() < 1e-12);
    // Central differences inside: ż = (p, −q) to O(h²) (h = 0.05: error ≲ a·h²/6 ≈ 4e-4).
    let (z, dz) = (ds.train.z.to_vec2::<f64>().unwrap(), ds.train.dz.to_vec2::<f64>().unwrap());
    for i in (1..49).map(|k| k + 50) {
        assert!((dz[i][0] - z[i][1]).abs() < 5e-4 && (dz[i][1] + z[i][0]).abs() < 5e-4, "row {i}");
    }
    // No test split at all is allowed too.
    let none = TrajectoryOptions { test_fraction: 0.0, ..TrajectoryOptions::default() };
    let ds = import::trajectories_on_grid(&times, &oscillator(&times, 3).to_dtype(DType::F32).unwrap(), &none).unwrap();
    assert_eq!((ds.train.len(), ds.test.len()), (150, 0));
}

#[test]
fn irregular_trajectories_have_derivatives_but_no_grid() {
    let t1: Vec<f64> = (0..40).map(|k| 0.05 * k as f64 + 0.01 * ((k * 7 % 3) as f64)).collect();
    let t2: Vec<f64> = (0..30).map(|k| 0.07 * k as f64).collect();
    let list: Vec<Trajectory> = [t1, t2]
        .into_iter()
        .map(|t| {
            let states = oscillator(&t, 1).flatten_all().unwrap().to_vec1::<f64>().unwrap();
            Trajectory { times: t, states, derivatives: None }
        })
        .collect();
    let ds = import::trajectories(&list, &TrajectoryOptions { test_fraction: 0.5, ..Default::default() }).unwrap();
    assert_eq!((ds.train.len(), ds.test.len()), (40, 30));
    assert_eq!(ds.meta.trajectory_length, None);
    // Times that do not increase are named.
    let mut bad = list.clone();
    bad[1].times[5] = bad[1].times[4];
    let e = import::trajectories(&bad, &TrajectoryOptions::default()).unwrap_err().to_string();
    assert!(e.contains("trajectory 1") && e.contains("increase"), "{e}");
}

#[test]
fn npz_files_in_each_layout_and_integer_arrays_refused() {
    let dir = tempfile::tempdir().unwrap();
    let times: Vec<f64> = (0..20).map(|k| 0.1 * k as f64).collect();
    let t = Tensor::new(times.as_slice(), &Device::Cpu).unwrap();
    let z = oscillator(&times, 5);
    let traj = dir.path().join("traj.npz");
    Tensor::write_npz(&[("t", &t), ("z", &z)], &traj).unwrap();
    let ds = import::load(&traj, &TrajectoryOptions::default()).unwrap();
    assert_eq!((ds.train.len(), ds.test.len(), ds.meta.trajectory_length), (80, 20, Some(20)));

    let flat = z.reshape((100, 2)).unwrap();
    let pairs = dir.path().join("pairs.npz");
    Tensor::write_npz(&[("z", &flat), ("dz", &flat)], &pairs).unwrap();
    let ds = import::load(&pairs, &TrajectoryOptions::default()).unwrap();
    assert_eq!((ds.train.len(), ds.test.len()), (80, 20));

    let ints = dir.path().join("ints.npz");
    let dz = flat.to_dtype(DType::I64).unwrap();
    Tensor::write_npz(&[("z", &flat), ("dz", &dz)], &ints).unwrap();
    let e = import::load(&ints, &TrajectoryOptions::default()).unwrap_err().to_string();
    assert!(e.contains("ints.npz") && e.contains("`dz`") && e.contains("integers"), "{e}");

    let other = dir.path().join("other.npz");
    Tensor::write_npz(&[("x", &flat)], &other).unwrap();
    let e = import::load(&other, &TrajectoryOptions::default()).unwrap_err().to_string();
    assert!(e.contains("no array `z`") && e.contains("found: x"), "{e}");
}

#[test]
fn csv_pairs_and_trajectories() {
    let dir = tempfile::tempdir().unwrap();
    let pairs = dir.path().join("pairs.csv");
    let mut text = String::from("q,p,dq,dp\n");
    for k in 0..10 {
        let (q, p) = (0.1 * k as f64, 1.0 - 0.1 * k as f64);
        text += &format!("{q},{p},{p},{}\n", -q);
    }
    std::fs::write(&pairs, text).unwrap();
    let ds = import::load(&pairs, &TrajectoryOptions::default()).unwrap();
    assert_eq!((ds.train.len(), ds.test.len(), ds.meta.dof), (8, 2, 1));

    let traj = dir.path().join("traj.csv");
    let mut text = String::from("trajectory,t,q1,q2,p1,p2\n");
    for id in 0..4 {
        for k in 0..25 {
            let t = 0.1 * k as f64;
            text += &format!("{id},{t},{},{},{},{}\n", t.cos(), 2.0 * t.cos(), -t.sin(), -2.0 * t.sin());
        }
    }
    std::fs::write(&traj, &text).unwrap();
    let ds = import::load(&traj, &TrajectoryOptions { test_fraction: 0.25, ..Default::default() }).unwrap();
    assert_eq!((ds.train.len(), ds.test.len(), ds.meta.dof, ds.meta.trajectory_length), (75, 25, 2, Some(25)));
    // The same file with every field double-quoted (spreadsheet and pandas exports), CRLF lines.
    let quoted: String =
        text.lines().map(|l| l.split(',').map(|f| format!("\"{f}\"")).collect::<Vec<_>>().join(",") + "\r\n").collect();
    let quoted_path = dir.path().join("quoted.csv");
    std::fs::write(&quoted_path, quoted).unwrap();
    let again = import::load(&quoted_path, &TrajectoryOptions { test_fraction: 0.25, ..Default::default() }).unwrap();
    assert_eq!(again.train.z.to_vec2::<f64>().unwrap(), ds.train.z.to_vec2::<f64>().unwrap());

    for (body, needle) in [
        ("t,q,p\n0,1,2\n0.1,1,x\n", "line 3, column `p`: `x` is not a number"),
        ("t,q,p,r\n0,1,2,3\n", "unknown column `r`"),
        ("q,p\n1,2\n", "no derivative columns"),
        ("t,q,p\n0,1\n", "line 2: 2 values"),
        ("t,q,p\n0,1,inf\n", "not finite"),
    ] {
        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, body).unwrap();
        let e = import::load(&bad, &TrajectoryOptions::default()).unwrap_err().to_string();
        assert!(e.contains("bad.csv") && e.contains(needle), "{body:?}: {e}");
    }
}
