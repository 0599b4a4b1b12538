//! `hnn fit`: models fitted to a user's data file, written as a run directory like `hnn exp`'s:
//! `MODEL.safetensors` per model, `metrics.json`, `loss.png`, and for trajectory data
//! `phase.png` (held-out trajectories against the models' rollouts from their first states).

use hnn_core::Solver;
use hnn_systems::import::{self, TrajectoryOptions};
use hnn_train::device::{DeviceChoice, Precision};
use hnn_train::experiment::{color, loss_series};
use hnn_train::plots::{line_chart, Chart, Series};
use hnn_train::{Error, Evaluation, FitOptions, HnnModel, ModelConfig, ModelKind, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What `hnn fit` was asked to do.
pub struct FitRun {
    /// The data file.
    pub data: PathBuf,
    /// The models.
    pub kinds: Vec<ModelKind>,
    /// Hidden widths.
    pub hidden: Vec<usize>,
    /// Held-out fraction.
    pub test_fraction: f64,
    /// Seed.
    pub seed: u64,
    /// Device and precision.
    pub compute: (DeviceChoice, Precision),
    /// Training settings.
    pub options: FitOptions,
    /// Output directory.
    pub out: PathBuf,
}

/// One model's entry in `metrics.json`.
#[derive(Serialize)]
struct Fitted {
    evaluation: Evaluation,
    /// The wall time of the ensemble all the models trained in.
    train_seconds: f64,
    steps_per_second: f64,
    final_train_loss: f64,
}

/// `metrics.json` of `hnn fit`.
#[derive(Serialize)]
struct FitMetrics {
    /// Always "fit" (`hnn table` skips these runs).
    run: &'static str,
    data: String,
    dof: usize,
    train_samples: usize,
    test_samples: usize,
    objective: hnn_train::training::Objective,
    steps: usize,
    seed: u64,
    dtype: &'static str,
    models: BTreeMap<String, Fitted>,
}

impl FitRun {
    /// A fresh model of `kind` with this run's widths, precision, device and seed.
    fn new_model(&self, kind: ModelKind, dof: usize) -> Result<HnnModel> {
        let (device, precision) = self.compute;
        let config = ModelConfig {
            kind,
            hidden: self.hidden.clone(),
            precision,
            device,
            seed: self.seed,
            ..ModelConfig::default()
        };
        HnnModel::new(&config, dof)
    }

    /// Fits every model, evaluates it, writes the run directory and prints a summary.
    pub fn run(self) -> Result<()> {
        if self.kinds.is_empty() {
            return Err(Error::Config("--model must name at least one model".into()));
        }
        let options = TrajectoryOptions { test_fraction: self.test_fraction, ..TrajectoryOptions::default() };
        let data = import::load(&self.data, &options)?;
        if data.test.is_empty() && self.test_fraction > 0.0 {
            return Err(Error::Data(format!(
                "{}: --test-fraction {} leaves no held-out data ({} training samples: the split keeps whole \
                 trajectories, and these data have too few), so there would be no test loss; give more \
                 trajectories, or pass --test-fraction 0 to train on everything without one",
                self.data.display(),
                self.test_fraction,
                data.train.len()
            )));
        }
        std::fs::create_dir_all(&self.out).map_err(|e| Error::io(&self.out, e))?;
        let mut metrics = FitMetrics {
            run: "fit",
            data: self.data.display().to_string(),
            dof: data.meta.dof,
            train_samples: data.train.len(),
            test_samples: data.test.len(),
            objective: self.options.train.objective.clone(),
            steps: self.options.train.steps,
            seed: self.seed,
            dtype: self.compute.1.name(),
            models: BTreeMap::new(),
        };
        let mut curves = vec![];
        let mut fitted = vec![];
        let mut models =
            self.kinds.iter().map(|&kind| self.new_model(kind, data.meta.dof)).collect::<Result<Vec<_>>>()?;
        let names: Vec<&str> = self.kinds.iter().map(|k| k.name()).collect();
        tracing::info!(models = ?names, steps = self.options.train.steps, data = %self.data.display(), "fitting");
        // All models in one ensemble: each ends as its own fit would.
        let sets = vec![&data; models.len()];
        let reports = HnnModel::fit_ensemble(&mut models, &sets, &self.options)?;
        let mut failed = None;
        // Printed once metrics.json is written: a failing standard output loses no result.
        let mut summary = vec![];
        for ((kind, model), report) in self.kinds.iter().copied().zip(models).zip(reports) {
            let report = match report {
                Ok(report) => report,
                Err(e) => {
                    tracing::error!(model = kind.name(), "{e}");
                    failed.get_or_insert(e.context(format!("fitting the `{}` model", kind.name())));
                    continue;
                }
            };
            model.save(self.out.join(format!("{}.safetensors", kind.name())))?;
            let evaluation = model.evaluate(&data)?;
            summary.push(format!(
                "{:<14} train {:.3e}  test {:.3e}  trajectory MSE {}  ({:.1} s)",
                kind.name(),
                evaluation.train_loss.mean,
                evaluation.test_loss.mean,
                evaluation.trajectory_mse.map(|m| format!("{:.3e}", m.mean)).unwrap_or_else(|| "—".into()),
                report.seconds
            ));
            curves.extend(loss_series(kind, &report));
            metrics.models.insert(
                kind.name().to_string(),
                Fitted {
                    evaluation,
                    train_seconds: report.seconds,
                    steps_per_second: report.steps_per_second(),
                    final_train_loss: report.train_curve.last().copied().unwrap_or(f64::NAN),
                },
            );
            fitted.push(model);
        }
        let json = serde_json::to_string_pretty(&metrics).map_err(|e| Error::Config(format!("metrics: {e}")))?;
        hnn_systems::io::atomic_write(&self.out.join("metrics.json"), json.as_bytes())?;
        let title = |what: &str| format!("{}: {what}", self.data.display());
        let chart = Chart { title: &title("loss"), x: "step", y: "MSE", log_y: true, equal_axes: false };
        if let Err(e) = line_chart(&self.out.join("loss.png"), &chart, &curves) {
            tracing::warn!("plots not drawn: {e}");
        }
        if let Err(e) = phase_plot(&self, &data, &fitted) {
            tracing::warn!("phase plot not drawn: {e}");
        }
        for line in summary {
            say!("{line}");
        }
        say!("outputs: {}", self.out.display());
        // The models that trained are written; the first that did not fails the command.
        failed.map_or(Ok(()), Err)
    }
}

/// The (q₁, p₁) phase portrait of up to three held-out trajectories and each model's rollout
/// from their first states (trajectory data only).
fn phase_plot(run: &FitRun, data: &hnn_systems::Dataset, models: &[HnnModel]) -> Result<()> {
    let (Some(len), Some(dt)) = (data.meta.trajectory_length, data.meta.dt) else { return Ok(()) };
    let n = data.test.len();
    if n == 0 || !n.is_multiple_of(len) {
        return Ok(());
    }
    let width = 2 * data.meta.dof;
    let count = (n / len).min(3);
    let observed = data.test.z.reshape((n / len, len, width))?.narrow(0, 0, count)?;
    let z0 = observed.narrow(1, 0, 1)?.squeeze(1)?.contiguous()?;
    let times: Vec<f64> = (0..len).map(|k| k as f64 * dt).collect();
    let dof = data.meta.dof;
    let portrait = |traj: Vec<Vec<f64>>| -> Vec<(f64, f64)> { traj.iter().map(|z| (z[0], z[dof])).collect() };
    let mut series = vec![];
    let observed = observed.to_vec3::<f64>()?;
    for (i, traj) in observed.into_iter().enumerate() {
        let label = if i == 0 { "data".to_string() } else { String::new() };
        series.push(Series { label, points: portrait(traj), color: 0, thin: true });
    }
    for model in models {
        let rolled = model.rollout(&z0, &times, &Solver::dopri5(1e-9, 1e-9))?.transpose(0, 1)?.to_vec3::<f64>()?;
        for (i, traj) in rolled.into_iter().enumerate() {
            let label = if i == 0 { model.kind().name().to_string() } else { String::new() };
            series.push(Series { label, points: portrait(traj), color: color(model.kind()), thin: false });
        }
    }
    let title = format!("{}: held-out trajectories", run.data.display());
    line_chart(
        &run.out.join("phase.png"),
        &Chart { title: &title, x: "q₁", y: "p₁", log_y: false, equal_axes: true },
        &series,
    )
}
