//! The renderer and the pixel datasets.

use hnn_pixels::{PendulumRenderer, PixelDataset, PixelTask};

fn centroid(frame: &[f32], size: usize) -> (f64, f64) {
    let (mut sx, mut sy, mut s) = (0.0, 0.0, 0.0);
    for i in 0..size {
        for j in 0..size {
            let v = frame[i * size + j] as f64;
            sx += v * (j as f64 + 0.5);
            sy += v * (i as f64 + 0.5);
            s += v;
        }
    }
    (sx / s, sy / s)
}

#[test]
fn the_bob_lands_where_the_angle_says() {
    // Bob only: the grey-level centroid is the bob's centre.
    let r = PendulumRenderer { rod_width: 0.0, ..PendulumRenderer::default() };
    for k in -12..=12 {
        let theta = k as f64 * 0.2;
        let (ex, ey) = r.bob_center(theta);
        let (cx, cy) = centroid(&r.render(theta), r.size);
        assert!(
            (cx - ex).abs() < 0.05 && (cy - ey).abs() < 0.05,
            "θ = {theta}: centroid ({cx:.3}, {cy:.3}) vs ({ex:.3}, {ey:.3})"
        );
    }
    // With the rod: the pixel under the bob's centre is fully covered, and hanging straight down
    // the bob is below the pivot.
    let r = PendulumRenderer::default();
    for theta in [0.0, 0.3, -0.5, 1.2] {
        let (bx, by) = r.bob_center(theta);
        let frame = r.render(theta);
        assert_eq!(frame[by as usize * r.size + bx as usize], 1.0, "θ = {theta}");
    }
    let (bx, by) = r.bob_center(0.0);
    assert!((bx - 14.0).abs() < 1e-12 && by > 14.0 + 10.0);
    // Grey levels in [0, 1] with anti-aliased edges (values strictly between 0 and 1 exist).
    let frame = r.render(0.37);
    assert!(frame.iter().all(|v| (0.0..=1.0).contains(v)));
    assert!(frame.iter().filter(|v| **v > 0.0 && **v < 1.0).count() > 10);
}

#[test]
fn symmetric_angles_render_mirror_images() {
    let r = PendulumRenderer::default();
    let n = r.size;
    for theta in [0.1, 0.4, 0.52, 1.3, 2.9] {
        let a = r.render(theta);
        let b = r.render(-theta);
        for i in 0..n {
            for j in 0..n {
                let (x, y) = (a[i * n + j], b[i * n + (n - 1 - j)]);
                assert!((x - y).abs() < 1e-6, "θ = {theta}, pixel ({i}, {j}): {x} vs {y}");
            }
        }
    }
    // θ = 0 is its own mirror image.
    let a = r.render(0.0);
    for i in 0..n {
        for j in 0..n / 2 {
            assert!((a[i * n + j] - a[i * n + n - 1 - j]).abs() < 1e-6);
        }
    }
}

#[test]
fn datasets_match_the_reference_definition_and_are_deterministic() {
    let task = PixelTask { trajectories: 20, ..PixelTask::default() };
    let ds = task.generate(3).unwrap();
    assert_eq!(ds.frames.dims(), &[20, 102, 784]);
    assert_eq!(ds.states.dims(), &[20, 102, 2]);
    assert_eq!(ds.test_trajectories(), 4, "first 20% test");
    assert_eq!(ds.pairs(0, 4).unwrap().dims(), &[4, 101, 1568], "100 usable steps: 101 pairs");
    // Every trajectory stays within |θ| < π/6 and the frames show the states.
    let states = ds.states.to_vec3::<f64>().unwrap();
    for traj in &states {
        assert!(traj.iter().all(|z| z[0].abs() < std::f64::consts::FRAC_PI_6));
    }
    let frames = ds.frames.to_vec3::<f32>().unwrap();
    assert_eq!(frames[2][50], task.renderer.render(states[2][50][0]));
    // Same seed, same data; different seed, different data.
    let again = task.generate(3).unwrap();
    assert_eq!(again.states.to_vec3::<f64>().unwrap(), states);
    assert_ne!(task.generate(4).unwrap().states.to_vec3::<f64>().unwrap(), states);
    // The exact dynamics conserve energy along the whole trajectory.
    let h = &task.pendulum;
    let e0 = hnn_systems::AnalyticHamiltonian::energy_at(h, &states[0][0]);
    let e1 = hnn_systems::AnalyticHamiltonian::energy_at(h, &states[0][101]);
    assert!(((e1 - e0) / e0).abs() < 1e-8);
}

#[test]
fn pixel_files_round_trip_and_bad_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let task = PixelTask { trajectories: 5, steps: 10, ..PixelTask::default() };
    let ds = task.generate(0).unwrap();
    for name in ["pixels.npz", "pixels.safetensors"] {
        let path = dir.path().join(name);
        ds.save(&path).unwrap();
        let back = PixelDataset::load(&path).unwrap();
        assert_eq!((back.task.clone(), back.seed), (task.clone(), 0), "{name}");
        assert_eq!(back.frames.to_vec3::<f32>().unwrap(), ds.frames.to_vec3::<f32>().unwrap(), "{name}");
        assert_eq!(back.states.to_vec3::<f64>().unwrap(), ds.states.to_vec3::<f64>().unwrap(), "{name}");
    }
    // The extension names the format; any other is refused before anything is written.
    let csv = dir.path().join("pixels.csv");
    assert!(ds.save(&csv).unwrap_err().to_string().contains(".npz"));
    assert!(!csv.exists());
    let path = dir.path().join("pixels.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 3]).unwrap();
    let err = PixelDataset::load(&path).unwrap_err().to_string();
    assert!(err.contains("pixels.safetensors"), "{err}");
    // Settings are validated.
    let bad = PixelTask { max_angle: 4.0, ..PixelTask::default() };
    assert!(bad.generate(0).unwrap_err().to_string().contains("max_angle"));
}
