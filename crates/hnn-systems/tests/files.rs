//! Dataset files (safetensors, npz), measured data, finite differences, and bad input.

use hnn_systems::derivatives::{differentiate, DerivativeSettings, FiniteDifference};
use hnn_systems::import::{self, Trajectory, TrajectoryOptions};
use hnn_systems::real::{self, DOUBLE_PENDULUM_ENV, DOUBLE_PENDULUM_FILE, PENDULUM_ENV, PENDULUM_FILE};
use hnn_systems::*;
use std::path::{Path, PathBuf};

fn bits(t: &candle_core::Tensor) -> Vec<u64> {
    t.flatten_all().unwrap().to_vec1::<f64>().unwrap().iter().map(|x| x.to_bits()).collect()
}

fn same(a: &Dataset, b: &Dataset) {
    assert_eq!(bits(&a.train.z), bits(&b.train.z));
    assert_eq!(bits(&a.train.dz), bits(&b.train.dz));
    assert_eq!(bits(&a.test.z), bits(&b.test.z));
    assert_eq!(bits(&a.test.dz), bits(&b.test.dz));
    assert_eq!(a.meta, b.meta);
}

#[test]
fn round_trips_are_exact() {
    let dir = tempfile::tempdir().unwrap();
    let ds = TrajectoryTask::pendulum().generate(4).unwrap();
    for name in ["d.safetensors", "d.npz"] {
        let path = dir.path().join(name);
        io::save(&ds, &path).unwrap();
        same(&ds, &io::load(&path).unwrap());
    }
    assert!(io::save(&ds, &dir.path().join("d.csv")).unwrap_err().to_string().contains(".safetensors"));
    // No temporary files left behind.
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left.len(), 2, "{left:?}");
}

use hnn_systems::io;

#[test]
fn writes_create_their_folder_and_clear_what_a_killed_writer_left() {
    let dir = tempfile::tempdir().unwrap();
    let ds = TrajectoryTask::pendulum().generate(4).unwrap();
    for name in ["d.safetensors", "d.npz"] {
        // A folder that does not exist yet is made.
        let path = dir.path().join("new/folder").join(name);
        // An orphan of a killed earlier writer of the same file, and an unrelated file.
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let orphan = path.with_file_name(format!(".{name}.4242424.tmp"));
        let unrelated = path.with_file_name(".other.4242424.tmp");
        std::fs::write(&orphan, b"half").unwrap();
        std::fs::write(&unrelated, b"keep").unwrap();
        io::save(&ds, &path).unwrap();
        same(&ds, &io::load(&path).unwrap());
        assert!(!orphan.exists(), "{name}: the orphan is removed");
        assert!(unrelated.exists(), "{name}: other files are kept");
        std::fs::remove_dir_all(dir.path().join("new")).unwrap();
        io::save(&ds, &dir.path().join("fresh").join(name)).unwrap();
    }
    // A regular file where a folder must be is named.
    std::fs::write(dir.path().join("afile"), b"x").unwrap();
    let e = io::save(&ds, &dir.path().join("afile/d.npz")).unwrap_err().to_string();
    assert!(e.contains("is a file, not a folder"), "{e}");
}

#[test]
fn numpy_written_npz_loads() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for file in ["numpy_spring.npz", "numpy_spring_compressed.npz"] {
        let ds = io::load(&fixtures.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(ds.train.len(), 6);
        assert_eq!(ds.test.len(), 4);
        assert_eq!(ds.meta.dof, 1);
        let z = ds.train.z.to_vec2::<f64>().unwrap();
        let dz = ds.train.dz.to_vec2::<f64>().unwrap();
        // Written by numpy as (q, p) with ż = (2p, −2q).
        assert!((z[0][0] - 0.12573022).abs() < 1e-6 && (dz[0][0] - 2.0 * z[0][1]).abs() < 1e-6, "{file}");
    }
}

#[test]
fn bad_dataset_files_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let ds = TrajectoryTask::spring().generate(0).unwrap();
    let good = dir.path().join("good.safetensors");
    io::save(&ds, &good).unwrap();
    let bytes = std::fs::read(&good).unwrap();

    // Truncated.
    let truncated = dir.path().join("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let err = io::load(&truncated).unwrap_err().to_string();
    assert!(err.contains("truncated.safetensors"), "{err}");
    // Garbage.
    let garbage = dir.path().join("garbage.npz");
    std::fs::write(&garbage, b"this is not a zip file").unwrap();
    let err = io::load(&garbage).unwrap_err().to_string();
    assert!(err.contains("garbage.npz") && err.contains("npz"), "{err}");
    // Missing.
    assert!(io::load(&dir.path().join("missing.safetensors")).unwrap_err().to_string().contains("missing.safetensors"));

    // NaN values, mismatched lengths, wrong widths, unknown layout.
    let mut nan = ds.clone();
    let mut v = nan.train.z.flatten_all().unwrap().to_vec1::<f64>().unwrap();
    v[5] = f64::NAN;
    nan.train.z = candle_core::Tensor::from_vec(v, (750, 2), &candle_core::Device::Cpu).unwrap();
    let p = dir.path().join("nan.npz");
    io::save(&nan, &p).unwrap();
    let err = io::load(&p).unwrap_err().to_string();
    assert!(err.contains("non-finite") && err.contains("train_z"), "{err}");

    let mut short = ds.clone();
    short.test.dz = short.test.dz.narrow(0, 0, 10).unwrap();
    let p = dir.path().join("short.safetensors");
    io::save(&short, &p).unwrap();
    assert!(io::load(&p).unwrap_err().to_string().contains("rows"));

    let mut wide = ds.clone();
    wide.meta.dof = 2;
    let p = dir.path().join("wide.safetensors");
    io::save(&wide, &p).unwrap();
    assert!(io::load(&p).unwrap_err().to_string().contains("expected [N, 4]"));

    let mut layout = ds.clone();
    layout.meta.layout = "p,q".into();
    let p = dir.path().join("layout.npz");
    io::save(&layout, &p).unwrap();
    assert!(io::load(&p).unwrap_err().to_string().contains("layout"));

    // A file of another format version is refused by name, not read as if current.
    for version in [0, 2, 999] {
        let mut other = ds.clone();
        other.meta.format_version = version;
        let p = dir.path().join(format!("v{version}.safetensors"));
        io::save(&other, &p).unwrap();
        let err = io::load(&p).unwrap_err().to_string();
        assert!(err.contains(&format!("v{version}.safetensors")) && err.contains("format_version"), "{err}");
    }

    // A failed write (here: under a regular file) leaves an existing file intact.
    let under_file = good.join("x.safetensors");
    assert!(io::save(&ds, &under_file).is_err());
    same(&ds, &io::load(&good).unwrap());
}

#[test]
fn finite_differences_are_accurate_and_respect_gaps() {
    // q = sin t sampled at 0.01 with a gap between 1.0 and 1.5.
    let mut times: Vec<f64> = (0..=100).map(|i| i as f64 * 0.01).collect();
    times.extend((150..=250).map(|i| i as f64 * 0.01));
    let states: Vec<f64> = times.iter().flat_map(|t| [t.sin(), t.cos()]).collect();
    let central = differentiate(&times, &states, 2, &DerivativeSettings::default()).unwrap();
    assert_eq!(central.indices.len(), times.len());
    let forward_settings = DerivativeSettings { scheme: FiniteDifference::Forward, ..Default::default() };
    let forward = differentiate(&times, &states, 2, &forward_settings).unwrap();
    assert_eq!(forward.indices.len(), times.len() - 2, "no difference across the gap or past the end");
    assert!(!forward.indices.contains(&100), "the point before the gap has no forward neighbour");
    // Interior central differences are second order: error ≈ h²/6 ≈ 1.7e-5.
    let mut worst_interior: f64 = 0.0;
    for (k, &i) in central.indices.iter().enumerate() {
        let t = times[i];
        let err = (central.dz[2 * k] - t.cos()).abs();
        if i != 0 && i != 100 && i != 101 && i != times.len() - 1 {
            worst_interior = worst_interior.max(err);
        } else {
            assert!(err < 0.01, "one-sided ends are first order");
        }
    }
    assert!(worst_interior < 2e-5, "{worst_interior}");
    // Smoothing keeps the count and validates its window.
    let smoothed = DerivativeSettings { smoothing_window: 5, ..Default::default() };
    assert_eq!(differentiate(&times, &states, 2, &smoothed).unwrap().indices.len(), times.len());
    let even = DerivativeSettings { smoothing_window: 4, ..Default::default() };
    assert!(differentiate(&times, &states, 2, &even).is_err());
}

fn real_file(name: &str, env: &str) -> Option<PathBuf> {
    match real::locate(None, name, env) {
        Ok(p) => Some(p),
        Err(e) => {
            // The measurements are not shipped with the repository; CI has them beside it.
            eprintln!("skipping: {e}");
            None
        }
    }
}

#[test]
fn real_pendulum_dataset() {
    let Some(path) = real_file(PENDULUM_FILE, PENDULUM_ENV) else { return };
    // 556 samples at Δt = 1/6 s with 10 gaps. Central differences inside gap-free runs keep all
    // 556 (no run is a single sample); forward differences keep the 545 with a nominal next
    // interval (the reference code differenced across gaps and kept 555).
    let central = real::real_pendulum(&path, &DerivativeSettings::default()).unwrap();
    assert_eq!(central.train.len() + central.test.len(), 556);
    assert_eq!(central.test.len(), 111);
    assert_eq!(central.train.len(), 445);
    assert!((central.meta.dt.unwrap() - 1.0 / 6.0).abs() < 1e-9);
    let forward =
        real::real_pendulum(&path, &DerivativeSettings { scheme: FiniteDifference::Forward, ..Default::default() })
            .unwrap();
    assert_eq!(forward.train.len() + forward.test.len(), 545);
    // Chronological: the first training state is the file's first sample (θ, ω).
    let first = forward.train.z.to_vec2::<f64>().unwrap()[0].clone();
    assert!((first[0] - 1.1383885512243586).abs() < 1e-15 && (first[1] - 0.9197795905867725).abs() < 1e-15);
    // dθ/dt from the data agrees with the measured ω roughly (finite differences of a real signal).
    let z = central.train.z.to_vec2::<f64>().unwrap();
    let dz = central.train.dz.to_vec2::<f64>().unwrap();
    let corr: f64 = z.iter().zip(&dz).map(|(a, b)| a[1] * b[0]).sum::<f64>()
        / (z.iter().map(|a| a[1] * a[1]).sum::<f64>() * dz.iter().map(|b| b[0] * b[0]).sum::<f64>()).sqrt();
    assert!(corr > 0.95, "θ̇ vs ω correlation {corr}");

    // A corrupted copy gives an error naming the line, never a panic.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[40] = "  0.0  6.5  1.07  not_a_number".into();
    let bad = dir.path().join("corrupt.txt");
    std::fs::write(&bad, lines.join("\n")).unwrap();
    let err = real::real_pendulum(&bad, &DerivativeSettings::default()).unwrap_err().to_string();
    assert!(err.contains("line 41") && err.contains("corrupt.txt"), "{err}");
    lines[40] = "  0.0  6.5  1.07".into();
    std::fs::write(&bad, lines.join("\n")).unwrap();
    assert!(real::real_pendulum(&bad, &DerivativeSettings::default()).unwrap_err().to_string().contains("columns"));
    std::fs::write(&bad, "% only a header\n").unwrap();
    assert!(real::real_pendulum(&bad, &DerivativeSettings::default()).is_err());
}

#[test]
fn real_double_pendulum_dataset() {
    let Some(path) = real_file(DOUBLE_PENDULUM_FILE, DOUBLE_PENDULUM_ENV) else { return };
    let ds = real::real_double_pendulum(&path, &DerivativeSettings::default()).unwrap();
    assert_eq!(ds.meta.dof, 2);
    // 1520 samples in two trials, irregularly sampled (Δt = 0.01 s nominal, gaps up to 0.12 s):
    // 8 samples sit alone between two gaps and have no derivative; 1512 remain.
    assert_eq!(ds.train.len() + ds.test.len(), 1512);
    assert_eq!(ds.test.len(), 302);
}

#[test]
fn a_missing_measurement_file_says_where_to_put_it() {
    let err = real::locate(Some(Path::new("/nonexistent/real_pend_h_1.txt")), PENDULUM_FILE, PENDULUM_ENV).unwrap_err();
    assert!(err.to_string().contains("no such file"), "{err}");
    let err = real::locate(None, "no_such_recording.txt", "HNN_TEST_UNSET_VARIABLE").unwrap_err().to_string();
    assert!(err.contains("HNN_TEST_UNSET_VARIABLE") && err.contains("./data/no_such_recording.txt"), "{err}");
}

#[test]
fn pairs_make_a_dataset() {
    let z: Vec<f64> = (0..20).map(|i| i as f64).collect();
    let dz: Vec<f64> = z.iter().map(|x| -x).collect();
    let ds = Dataset::from_pairs(DatasetMeta::new("mine", 1), z.clone(), dz.clone(), 0.2).unwrap();
    assert_eq!((ds.train.len(), ds.test.len()), (8, 2));
    assert!(Dataset::from_pairs(DatasetMeta::new("mine", 1), z, dz[..10].to_vec(), 0.2).is_err());
}

#[test]
fn own_trajectories_make_a_dataset() {
    // Two recordings of q = cos t, p = −sin t (H = (q² + p²)/2), the second with a gap.
    let t1: Vec<f64> = (0..100).map(|i| i as f64 * 0.05).collect();
    let mut t2: Vec<f64> = (0..40).map(|i| i as f64 * 0.05).collect();
    t2.extend((60..100).map(|i| i as f64 * 0.05));
    let states = |t: &[f64]| t.iter().flat_map(|t| [t.cos(), -t.sin()]).collect::<Vec<_>>();
    let recording = |t: &[f64]| Trajectory { times: t.to_vec(), states: states(t), derivatives: None };
    let trajs = vec![recording(&t1), recording(&t2)];
    let options = TrajectoryOptions { test_fraction: 0.5, ..TrajectoryOptions::default() };
    let ds = import::trajectories(&trajs, &options).unwrap();
    // Split by whole recordings; the gap makes the grid uneven, so no trajectory windows.
    assert_eq!((ds.train.len(), ds.test.len()), (100, 80));
    assert_eq!(ds.meta.trajectory_length, None);
    // ż ≈ (p, −q) away from the run ends.
    let z = ds.train.z.to_vec2::<f64>().unwrap();
    let dz = ds.train.dz.to_vec2::<f64>().unwrap();
    for i in 1..99 {
        assert!((dz[i][0] - z[i][1]).abs() < 1e-3 && (dz[i][1] + z[i][0]).abs() < 1e-3, "row {i}");
    }
    let mut bad = vec![recording(&t1)];
    bad[0].states.truncate(10);
    assert!(import::trajectories(&bad, &options).is_err());
}

#[test]
fn a_flipped_bit_inside_an_npz_member_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ds = TrajectoryTask::pendulum().generate(4).unwrap();
    let path = dir.path().join("d.npz");
    io::save(&ds, &path).unwrap();
    let good = std::fs::read(&path).unwrap();
    // Flip one bit in the middle of each of many places of the archive: every one is refused
    // (by the zip CRC, the zip structure or the npy header), none loads changed data.
    let mut refused = 0;
    for k in 1..60 {
        let mut bad = good.clone();
        let at = k * good.len() / 61;
        bad[at] ^= 0x04;
        std::fs::write(&path, &bad).unwrap();
        match io::load(&path) {
            Err(_) => refused += 1,
            Ok(loaded) => same(&ds, &loaded), // a bit no reader uses (e.g. a zip timestamp)
        }
    }
    assert!(refused >= 50, "only {refused} of 59 flips were refused");
}

#[test]
fn an_integer_array_in_a_dataset_file_is_refused_not_truncated() {
    // An hnn dataset whose train_dz was rewritten as int32 (by a tool that "saved space").
    let dir = tempfile::tempdir().unwrap();
    let ds = TrajectoryTask::pendulum().generate(4).unwrap();
    let path = dir.path().join("ints.npz");
    let ints = ds.train.dz.to_dtype(candle_core::DType::I64).unwrap();
    let meta_bytes = serde_json::to_string(&ds.meta).unwrap().into_bytes();
    let meta_t =
        candle_core::Tensor::from_vec(meta_bytes.clone(), meta_bytes.len(), &candle_core::Device::Cpu).unwrap();
    candle_core::Tensor::write_npz(
        &[
            ("train_z", &ds.train.z),
            ("train_dz", &ints),
            ("test_z", &ds.test.z),
            ("test_dz", &ds.test.dz),
            ("meta_json", &meta_t),
        ],
        &path,
    )
    .unwrap();
    let e = io::load(&path).unwrap_err().to_string();
    assert!(e.contains("ints.npz") && e.contains("`train_dz`") && e.contains("integers"), "{e}");
}

#[test]
fn an_npy_header_claiming_a_huge_shape_is_refused_before_allocating() {
    // The hostile case: an .npz whose member's header claims shape (4e9, 8) over 16 bytes.
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.npz");
    let z = candle_core::Tensor::new(&[[1.0f64, 2.0]], &candle_core::Device::Cpu).unwrap();
    candle_core::Tensor::write_npz(&[("z", &z), ("dz", &z)], &good).unwrap();
    assert!(io::read_arrays(&good).is_ok());
    // Rewrite the member with a lying header, as a zip tool would (stored, correct CRC).
    let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (4000000000, 8), }";
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    let padded = format!("{header:<118}\n");
    npy.extend((padded.len() as u16).to_le_bytes());
    npy.extend(padded.as_bytes());
    npy.extend([0u8; 16]);
    let bad = dir.path().join("huge.npz");
    let mut w = zip::ZipWriter::new(std::fs::File::create(&bad).unwrap());
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    w.start_file("z.npy", opts).unwrap();
    std::io::Write::write_all(&mut w, &npy).unwrap();
    w.finish().unwrap();
    let e = io::read_arrays(&bad).unwrap_err().to_string();
    assert!(e.contains("huge.npz") && e.contains("`z.npy`") && e.contains("describing 256000000000 bytes"), "{e}");
}
