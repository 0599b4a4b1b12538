//! An experiment's PNG plots: loss curves, energy along a rollout and a recording, orbits or
//! the phase portrait, and the thermostat's position histograms.

use super::config::ExperimentConfig;
use crate::error::Result;
use crate::eval::{EvalSet, Rollouts};
use crate::model::ModelKind;
use crate::plots::{line_chart, Chart, Series};
use crate::thermostat::{ExactMarginal, Samples, ThermostatResult};
use crate::training::TrainReport;
use hnn_systems::System;
use std::path::Path;

/// The plot colour of a model kind (the same in every plot).
pub fn color(kind: ModelKind) -> usize {
    kind.color()
}

/// A model's training curve (thin) and test curve (thick), for loss plots.
pub fn loss_series(kind: ModelKind, report: &TrainReport) -> [Series; 2] {
    let train: Vec<(f64, f64)> = report.train_curve.iter().enumerate().map(|(i, l)| ((i + 1) as f64, *l)).collect();
    let test: Vec<(f64, f64)> = report.test_curve.iter().map(|(s, l)| (*s as f64, *l)).collect();
    [
        Series { label: format!("{} train", kind.name()), points: train, color: color(kind), thin: true },
        Series::new(format!("{} test", kind.name()), test, color(kind)),
    ]
}

/// Per temperature, `thermostat_kT.png`: the exact Boltzmann position density of the true H and
/// the histograms of the walkers on the true and on each learned H.
pub(super) fn draw_thermostat(
    dir: &Path,
    cfg: &ExperimentConfig,
    set: &EvalSet,
    runs: &[(ModelKind, Vec<(ThermostatResult, Samples)>)],
) -> Result<()> {
    let Some(tc) = &cfg.thermostat else { return Ok(()) };
    let Some((_, first)) = runs.first() else { return Ok(()) };
    let truth = set.system.hamiltonian();
    for (i, (result, samples)) in first.iter().enumerate() {
        let exact = ExactMarginal::new(truth.as_ref(), result.kt)?;
        let lo = samples.truth.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = samples.truth.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let histogram = |xs: &[f64]| density_histogram(xs, lo, hi, tc.bins);
        let mut series = vec![
            Series { label: "exact exp(−V/kT)".into(), points: exact.density_on(lo, hi, 400), color: 0, thin: true },
            Series::new("true H", histogram(&samples.truth), 0),
        ];
        for (kind, runs) in runs {
            series.push(Series::new(kind.name(), histogram(&runs[i].1.learned), kind.color()));
        }
        line_chart(
            &dir.join(format!("thermostat_kT{}.png", result.kt)),
            &Chart {
                title: &format!("{}: positions under the thermostat, kT = {}", cfg.name, result.kt),
                x: "q",
                y: "density",
                log_y: false,
                equal_axes: false,
            },
            &series,
        )?;
    }
    Ok(())
}

/// The histogram of `xs` over `bins` equal bins of [lo, hi] as a density (bin centre, count /
/// (n · bin width)); values outside are left out.
fn density_histogram(xs: &[f64], lo: f64, hi: f64, bins: usize) -> Vec<(f64, f64)> {
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0usize; bins];
    for x in xs {
        let b = ((x - lo) / width).floor();
        if b >= 0.0 && (b as usize) < bins {
            counts[b as usize] += 1;
        }
    }
    let n = xs.len().max(1) as f64;
    counts.iter().enumerate().map(|(b, c)| (lo + (b as f64 + 0.5) * width, *c as f64 / (n * width))).collect()
}

/// The plots of one seed's run: `loss.png`, `energy.png`, `energy_recording.png` (recordings),
/// and `orbits.png` (N-body) or `phase.png`.
pub(super) fn draw_plots(
    dir: &Path,
    cfg: &ExperimentConfig,
    set: &EvalSet,
    reports: &[(ModelKind, TrainReport, Rollouts)],
    recording: &[(ModelKind, crate::paper::RecordingEnergy)],
) -> Result<()> {
    let title = |what: &str| format!("{}: {what}", cfg.name);
    let mut series = vec![];
    for (kind, report, _) in reports {
        series.extend(loss_series(*kind, report));
    }
    line_chart(
        &dir.join("loss.png"),
        &Chart { title: &title("loss"), x: "step", y: "MSE", log_y: true, equal_axes: false },
        &series,
    )?;
    draw_energy(dir, &title("true energy along a rollout"), set, reports)?;
    if let Some((_, first)) = recording.first() {
        draw_recording(dir, &title("energy along the held-out recording"), first, recording)?;
    }
    if let System::NBody(nbody) = &set.system {
        draw_orbits(dir, &title("orbits"), nbody.masses.len(), set, reports)
    } else {
        draw_phase(dir, &title("phase portrait"), set, reports)
    }
}

/// `energy.png`: the true energy along the first rollout of the truth and of each model.
fn draw_energy(dir: &Path, title: &str, set: &EvalSet, reports: &[(ModelKind, TrainReport, Rollouts)]) -> Result<()> {
    let h = set.system.hamiltonian();
    let width = set.starts[0].len();
    let energy = |traj: &[f64]| -> Vec<(f64, f64)> {
        set.times.iter().zip(traj.chunks(width)).map(|(t, z)| (*t, h.energy_at(z))).collect()
    };
    let mut series = vec![Series::new("truth", energy(&set.truth[0]), 0)];
    for (kind, _, rollouts) in reports {
        series.push(Series::new(kind.name(), energy(&rollouts[0]), color(*kind)));
    }
    line_chart(&dir.join("energy.png"), &Chart { title, x: "t", y: "H", log_y: false, equal_axes: false }, &series)
}

/// `energy_recording.png`: the energy of the measured states and of each model's rollout from
/// the first.
fn draw_recording(
    dir: &Path,
    title: &str,
    first: &crate::paper::RecordingEnergy,
    recording: &[(ModelKind, crate::paper::RecordingEnergy)],
) -> Result<()> {
    let points = |e: &[f64]| -> Vec<(f64, f64)> { first.times.iter().copied().zip(e.iter().copied()).collect() };
    let mut series = vec![Series::new("measured", points(&first.measured), 0)];
    for (kind, curve) in recording {
        series.push(Series::new(kind.name(), points(&curve.model), color(*kind)));
    }
    line_chart(
        &dir.join("energy_recording.png"),
        &Chart { title, x: "t (s from the first held-out sample)", y: "E", log_y: false, equal_axes: false },
        &series,
    )
}

/// `orbits.png`: the bodies' paths along the first rollout of the truth and of each model.
fn draw_orbits(
    dir: &Path,
    title: &str,
    bodies: usize,
    set: &EvalSet,
    reports: &[(ModelKind, TrainReport, Rollouts)],
) -> Result<()> {
    let width = set.starts[0].len();
    let mut series = vec![];
    let mut add = |label: &str, traj: &[f64], color: usize, thin: bool| {
        for b in 0..bodies {
            let pts = traj.chunks(width).map(|z| (z[2 * b], z[2 * b + 1])).collect();
            let label = if b == 0 { label.to_string() } else { String::new() };
            series.push(Series { label, points: pts, color, thin });
        }
    };
    add("truth", &set.truth[0], 0, true);
    for (kind, _, rollouts) in reports {
        add(kind.name(), &rollouts[0], color(*kind), false);
    }
    line_chart(&dir.join("orbits.png"), &Chart { title, x: "x", y: "y", log_y: false, equal_axes: true }, &series)
}

/// `phase.png`: (q₁, p₁) along the first three rollouts of the truth and of each model.
fn draw_phase(dir: &Path, title: &str, set: &EvalSet, reports: &[(ModelKind, TrainReport, Rollouts)]) -> Result<()> {
    let width = set.starts[0].len();
    let n = width / 2;
    let mut series = vec![];
    for (i, truth) in set.truth.iter().take(3).enumerate() {
        let pts = truth.chunks(width).map(|z| (z[0], z[n])).collect();
        series.push(Series {
            label: if i == 0 { "truth".into() } else { String::new() },
            points: pts,
            color: 0,
            thin: true,
        });
        for (kind, _, rollouts) in reports {
            let pts = rollouts[i].chunks(width).map(|z| (z[0], z[n])).collect();
            series.push(Series {
                label: if i == 0 { kind.name().into() } else { String::new() },
                points: pts,
                color: color(*kind),
                thin: false,
            });
        }
    }
    line_chart(&dir.join("phase.png"), &Chart { title, x: "q", y: "p", log_y: false, equal_axes: true }, &series)
}
