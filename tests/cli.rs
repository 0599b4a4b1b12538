//! The `hnn` binary on a small pixel experiment: the commands a user runs after `hnn exp`
//! (data files, training one model and resuming it, re-evaluating and rolling out a checkpoint),
//! and their refusals of bad input.

use std::path::Path;
use std::process::{Command, Output};

fn hnn(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hnn")).args(args).current_dir(dir).output().expect("hnn runs")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = hnn(dir, args);
    assert!(out.status.success(), "hnn {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn refused(dir: &Path, args: &[&str], why: &str) {
    let out = hnn(dir, args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains(why), "hnn {args:?} should fail naming `{why}`:\n{err}");
}

#[test]
fn pixel_checkpoints_train_resume_evaluate_and_roll_out() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(repo.join("experiments/pixels.toml")).unwrap();
    let cfg = hnn::pixels::experiment::PixelExperiment::from_toml(&text, "pixels.toml").unwrap().smoke(4).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("small.toml"), toml::to_string(&cfg).unwrap()).unwrap();

    // Frames as numpy's format (the extension decides), and anything else refused.
    let said = ok(d, &["data", "small.toml", "--out", "frames.npz"]);
    assert!(said.contains("[10, 22, 784]"), "{said}");
    assert_eq!(&std::fs::read(d.join("frames.npz")).unwrap()[..2], b"PK", "an .npz is a zip archive");
    refused(d, &["data", "small.toml", "--out", "frames.csv"], ".npz");

    // Two steps, then resumed to four.
    ok(d, &["train", "--config", "small.toml", "--model", "hnn", "--steps", "2", "--out", "m/hnn.safetensors"]);
    let said = ok(d, &["train", "--config", "small.toml", "--model", "hnn", "--resume", "m/hnn.safetensors"]);
    assert!(said.contains("for 2 steps"), "{said}");
    refused(d, &["train", "--config", "small.toml", "--model", "separable-hnn"], "model.kinds");
    refused(d, &["train", "--config", "small.toml", "--data", "frames.npz"], "--data");

    // Re-evaluated on its own data seed: metrics and one frame error per rolled-out frame.
    let eval: serde_json::Value = serde_json::from_str(&ok(d, &["eval", "runs/pixels/0/hnn.safetensors"])).unwrap();
    assert_eq!(eval["frame_mse"].as_array().unwrap().len(), cfg.eval.rollout_steps + 1);
    assert!(eval["metrics"]["energy_mse"]["mean"].as_f64().unwrap().is_finite());
    refused(d, &["eval", "runs/pixels/0/hnn.safetensors", "--field-precision", "f64"], "--field-precision");

    // Rolled out from a pendulum state, with the frames drawn.
    let csv = ok(d, &["rollout", "runs/pixels/0/hnn.safetensors", "--z0", "0.3,0", "--t-end", "8", "--points", "9"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "t,z_q,z_p,H,theta,p,frame_mse");
    assert_eq!(lines.len(), 10);
    assert!(lines[1].starts_with("0,") && lines[1].contains(",0.3,0,"), "{}", lines[1]);
    for name in ["roll.gif", "roll.png"] {
        ok(d, &["rollout", "runs/pixels/0/hnn.safetensors", "--z0", "0.3,0", "--t-end", "8", "--frames", name]);
        assert!(std::fs::metadata(d.join(name)).unwrap().len() > 0, "{name}");
    }
    refused(d, &["rollout", "runs/pixels/0/hnn.safetensors", "--z0", "0.3", "--t-end", "8"], "--z0 has 1");
    refused(d, &["rollout", "runs/pixels/0/hnn.safetensors", "--z0", "0.3,0", "--frames", "roll.txt"], ".gif");

    // A truncated checkpoint is named, and the good one next to it is untouched.
    let good = std::fs::read(d.join("runs/pixels/0/hnn.safetensors")).unwrap();
    std::fs::write(d.join("cut.safetensors"), &good[..good.len() / 2]).unwrap();
    refused(d, &["eval", "cut.safetensors"], "cut.safetensors");
    assert_eq!(std::fs::read(d.join("runs/pixels/0/hnn.safetensors")).unwrap(), good);
}

#[test]
fn a_closed_stdout_ends_quietly_and_runaway_sizes_are_refused() {
    use std::io::BufRead;
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let spring = repo.join("experiments/spring.toml");
    let spring = spring.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["train", "--config", spring, "--model", "hnn", "--steps", "2", "--out", "hnn.safetensors"]);

    // `hnn rollout … | head -1`: the reader leaves after one line.
    let mut child = Command::new(env!("CARGO_BIN_EXE_hnn"))
        .args(["rollout", "hnn.safetensors", "--z0", "0.5,0", "--t-end", "1", "--points", "200000"])
        .current_dir(d)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.starts_with("t,q0,p0,H"), "{first}");
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert!(out.status.success() || out.status.signal() == Some(13), "ended by {:?}", out.status);
    }

    // Resuming under a config whose model is not the checkpoint's is refused, naming both.
    let text = std::fs::read_to_string(spring).unwrap().replace("hidden = [200, 200]", "hidden = [32, 32]");
    std::fs::write(d.join("narrow.toml"), text).unwrap();
    refused(
        d,
        &["train", "--config", "narrow.toml", "--model", "hnn", "--resume", "hnn.safetensors"],
        "not this config's",
    );
    // Resuming a checkpoint that is already at train.steps trains nothing: said, exit non-zero.
    refused(
        d,
        &["train", "--config", spring, "--model", "hnn", "--steps", "2", "--resume", "hnn.safetensors"],
        "nothing is left to train",
    );
    refused(d, &["train", "--config", spring, "--model", "hnn", "--data", "x.npz"], "generates its data");

    // Messages that say what is wrong.
    refused(d, &["eval", "."], "is a directory");
    refused(d, &["rollout", "hnn.safetensors", "--z0", "0.5,0", "--t-end", "-1"], "--t-end positive");
    std::fs::write(d.join("afile"), b"x").unwrap();
    let under_file = ["train", "--config", spring, "--model", "hnn", "--steps", "1", "--out", "afile/m.safetensors"];
    refused(d, &under_file, "afile is a file");

    let rollout = ["rollout", "hnn.safetensors", "--z0", "0.5,0", "--t-end", "1"];
    refused(d, &[&rollout[..], &["--points", "100000000000"]].concat(), "--points");
    refused(d, &[&rollout[..], &["--method", "rk4", "--dt", "1e-300"]].concat(), "dt = 1e-300");
}

#[test]
fn the_command_runs_its_built_in_experiments_from_any_directory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let listed = ok(d, &["list"]);
    for needle in ["two_body", "spring", "pixels", "separable_hnn", "double_well", "leapfrog"] {
        assert!(listed.contains(needle), "`hnn list` lacks {needle}:\n{listed}");
    }
    // No experiments/ here: the embedded spring runs.
    let said = ok(d, &["exp", "spring", "--steps", "3", "--no-plots"]);
    assert!(said.contains("| spring | 1 |"), "{said}");
    assert!(d.join("runs/spring/0/hnn.safetensors").is_file());
    // A local file of the same name overrides the embedded one.
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(repo.join("experiments/spring.toml")).unwrap();
    std::fs::create_dir(d.join("experiments")).unwrap();
    std::fs::write(d.join("experiments/spring.toml"), text.replace("name = \"spring\"", "name = \"my_spring\""))
        .unwrap();
    let said = ok(d, &["exp", "spring", "--steps", "3", "--no-plots"]);
    assert!(said.contains("| my_spring | 1 |"), "{said}");
    assert!(ok(d, &["list"]).contains("[local:"));
    // `train --out` an existing folder: the checkpoint goes inside it, nothing stray beside it.
    std::fs::create_dir(d.join("out")).unwrap();
    ok(d, &["train", "--config", "experiments/spring.toml", "--steps", "2", "--out", "out"]);
    assert!(d.join("out/hnn.safetensors").is_file() && d.join("out/hnn.optim.safetensors").is_file());
    assert!(!d.join("out.optim.safetensors").exists());
    refused(d, &["exp", "no_such"], "built in: ");
    // Absurd seed counts are refused before anything is allocated.
    refused(d, &["exp", "spring", "--seeds", "18446744073709551615"], "--seeds must be between 1 and 100000");
    refused(d, &["exp", "spring", "--seed", "18446744073709551615", "--seeds", "2"], "run past 2^64");
}

#[test]
fn seeds_trained_as_one_ensemble_leave_the_files_of_seed_after_seed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |out: &str, extra: &[&str]| {
        let mut args = vec!["exp", "spring", "--seeds", "2", "--steps", "6", "--no-plots", "--out", out];
        args.extend(extra);
        ok(d, &args)
    };
    run("together", &[]);
    run("apart", &["--sequential"]);
    for seed in ["0", "1"] {
        for file in ["hnn.safetensors", "hnn.optim.safetensors", "baseline.safetensors", "baseline.optim.safetensors"] {
            let read = |out: &str| std::fs::read(d.join(out).join("spring").join(seed).join(file)).unwrap();
            assert!(read("together") == read("apart"), "seed {seed}: {file} differs");
        }
        // metrics.json says how many models shared the training time.
        let metrics =
            |out: &str| std::fs::read_to_string(d.join(out).join("spring").join(seed).join("metrics.json")).unwrap();
        assert!(metrics("together").contains("\"ensemble_models\": 4"), "{}", metrics("together"));
        assert!(metrics("apart").contains("\"ensemble_models\": 1"), "{}", metrics("apart"));
    }
    // Every seed diverging: each is named, and the command fails.
    let cfg = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/spring.toml")).unwrap();
    std::fs::write(
        d.join("wild.toml"),
        cfg.replace("name = \"spring\"", "name = \"wild\"").replace("learning_rate = 1e-3", "learning_rate = 1e300"),
    )
    .unwrap();
    refused(
        d,
        &["exp", "wild.toml", "--seeds", "2", "--steps", "3", "--no-plots"],
        "2 of 2 seeds failed (seed 0: training diverged",
    );
}

#[test]
fn fit_trains_on_a_users_file_and_writes_a_run_directory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Trajectories as CSV: two degrees of freedom, five trajectories of 30 points.
    let mut csv = String::from("trajectory,t,q1,q2,p1,p2\n");
    for id in 0..5 {
        let a = 0.5 + 0.1 * id as f64;
        for k in 0..30 {
            let t = 0.1 * k as f64;
            csv += &format!(
                "{id},{t},{},{},{},{}\n",
                a * t.cos(),
                a * (2.0 * t).sin(),
                -a * t.sin(),
                2.0 * a * (2.0 * t).cos()
            );
        }
    }
    std::fs::write(d.join("mine.csv"), csv).unwrap();
    let said = ok(d, &["fit", "--data", "mine.csv", "--model", "hnn,baseline", "--steps", "20", "--hidden", "16,16"]);
    assert!(said.contains("hnn") && said.contains("baseline") && said.contains("trajectory MSE"), "{said}");
    let run = d.join("runs/fit/mine");
    for file in ["hnn.safetensors", "baseline.safetensors", "metrics.json", "loss.png", "phase.png"] {
        assert!(run.join(file).is_file(), "{file} missing");
    }
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["train_samples"], 4 * 30);
    assert!(metrics["models"]["hnn"]["evaluation"]["trajectory_mse"]["mean"].as_f64().unwrap().is_finite());
    // The checkpoint is an ordinary one: `hnn rollout` reads it.
    let csv =
        ok(d, &["rollout", "runs/fit/mine/hnn.safetensors", "--z0", "0.5,0,0,1", "--t-end", "1", "--points", "3"]);
    assert_eq!(csv.lines().count(), 4, "{csv}");
    // Trajectory matching through leapfrog on the same file (the separable HNN).
    ok(
        d,
        &[
            "fit",
            "--data",
            "mine.csv",
            "--model",
            "separable_hnn",
            "--objective",
            "trajectory",
            "--integrator",
            "leapfrog",
            "--steps",
            "5",
            "--hidden",
            "8",
            "--out",
            "tm",
        ],
    );
    assert!(d.join("tm/separable_hnn.safetensors").is_file());
    refused(d, &["fit", "--data", "missing.npz"], "missing.npz");
    // One trajectory cannot be split: said, not a NaN test loss with exit 0.
    let one: String =
        std::fs::read_to_string(d.join("mine.csv")).unwrap().lines().take(31).map(|l| format!("{l}\n")).collect();
    std::fs::write(d.join("one.csv"), one).unwrap();
    refused(d, &["fit", "--data", "one.csv", "--steps", "2", "--hidden", "8"], "leaves no held-out data");
    ok(d, &["fit", "--data", "one.csv", "--steps", "2", "--hidden", "8", "--test-fraction", "0", "--out", "all"]);
    // A flag that would be ignored is an error.
    refused(d, &["fit", "--data", "mine.csv", "--integrator", "leapfrog"], "--objective trajectory");
    refused(d, &["rollout", "runs/fit/mine/hnn.safetensors", "--z0", "0.5,0,0,1", "--dt", "0.1"], "--dt");
    // A standard output on a full device: an error naming it (no panic), and the results
    // already computed are written first.
    if Path::new("/dev/full").exists() {
        let full = || std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let run = |args: &[&str]| {
            Command::new(env!("CARGO_BIN_EXE_hnn")).args(args).current_dir(d).stdout(full()).output().unwrap()
        };
        let out = run(&["fit", "--data", "mine.csv", "--steps", "3", "--hidden", "8", "--out", "full"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("standard output") && !err.contains("panicked"), "{err}");
        assert!(d.join("full/metrics.json").is_file() && d.join("full/hnn.safetensors").is_file());
        let out = run(&["list"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.code() == Some(1) && err.contains("standard output") && !err.contains("panicked"), "{err}");
    }
    // `hnn table` over runs/ holding a fit run and an experiment: the fit run is not a table row.
    ok(d, &["exp", "spring", "--steps", "2", "--no-plots"]);
    let table = ok(d, &["table", "runs"]);
    assert!(table.contains("| spring |") && !table.contains("mine"), "{table}");
}
