//! `hnn table`: aggregates `metrics.json` files into a Markdown table shaped like the paper's
//! Table 1 (baseline → HNN), mean ± std over seeds, with the paper's figures beside them; then
//! one row per task and model (every kind trained, with damping and energy-decay rates), and
//! the thermostat runs where an experiment has them.

use crate::error::{Error, Result};
use crate::experiment::RunMetrics;
use crate::model::ModelKind;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The paper's Table 1 (baseline, HNN) for train loss, test loss, energy MSE.
pub const PAPER: [(&str, [(f64, f64); 3]); 6] = [
    ("spring", [(3.71e-2, 3.69e-2), (3.67e-2, 3.59e-2), (1.71e-1, 3.84e-4)]),
    ("pendulum", [(3.26e-2, 3.28e-2), (3.53e-2, 3.56e-2), (4.15e-2, 2.49e-2)]),
    ("real_pendulum", [(2.75e-3, 9.24e-3), (2.19e-3, 5.96e-3), (3.86e-1, 1.45e-2)]),
    ("two_body", [(3.27e-5, 3.00e-6), (2.96e-5, 2.82e-6), (6.33e-2, 3.88e-5)]),
    ("three_body", [(9.56e-2, 8.03e-2), (3.80e-1, 4.88e-1), (1.09e2, 4.19e-2)]),
    ("pixels", [(1.77e-4, 1.87e-4), (1.73e-4, 1.85e-4), (9.27e-3, 1.53e-4)]),
];

/// Every experiment's `metrics.json` under `dir`, recursively (those of `hnn fit` are skipped).
pub fn collect(dir: &Path) -> Result<Vec<RunMetrics>> {
    let mut out = vec![];
    let mut stack: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| Error::io(&d, e))?;
        for entry in entries {
            let path = entry.map_err(|e| Error::io(&d, e))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "metrics.json") {
                let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
                let value: serde_json::Value =
                    serde_json::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
                if value.get("run").and_then(|r| r.as_str()) == Some("fit") {
                    // `hnn fit` on a user's data: no task of the paper's table.
                    continue;
                }
                let m: RunMetrics =
                    serde_json::from_value(value).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
                out.push(m);
            }
        }
    }
    out.sort_by(|a, b| (&a.experiment, a.seed).cmp(&(&b.experiment, b.seed)));
    Ok(out)
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 { v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    (mean, var.sqrt())
}

fn fmt(v: &[f64]) -> String {
    if v.is_empty() {
        return "—".into();
    }
    let (m, s) = mean_std(v);
    if v.len() > 1 {
        format!("{m:.2e} ± {s:.1e}")
    } else {
        format!("{m:.2e}")
    }
}

/// The Markdown table of a set of runs.
pub fn markdown(runs: &[RunMetrics]) -> String {
    let mut by_exp: BTreeMap<&str, Vec<&RunMetrics>> = BTreeMap::new();
    for r in runs {
        by_exp.entry(&r.experiment).or_default().push(r);
    }
    let mut s = String::from(
        "| task | seeds | train loss: baseline → HNN | test loss: baseline → HNN | energy MSE: baseline → HNN | trajectory MSE: baseline → HNN | energy MSE, reference analysis: baseline → HNN | energy MSE, the paper's notebook protocol: baseline → HNN | paper energy MSE |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    let [baseline, hnn] = PAPER_MODELS.map(|k| k.name());
    for (exp, rs) in &by_exp {
        let get = |model: &str, f: &dyn Fn(&crate::eval::ModelMetrics) -> f64| -> Vec<f64> {
            rs.iter().filter_map(|r| r.models.get(model)).map(|m| f(&m.metrics)).collect()
        };
        let cell = |f: &dyn Fn(&crate::eval::ModelMetrics) -> f64| {
            format!("{} → {}", fmt(&get(baseline, f)), fmt(&get(hnn, f)))
        };
        // The analysis figure (another energy, or the reference's time protocol) where configured.
        let analysis = |model: &str| -> Vec<f64> {
            rs.iter()
                .filter_map(|r| r.models.get(model)?.metrics.energy_mse_analysis.as_ref().map(|a| a.mean))
                .collect()
        };
        let analysis_cell = match (analysis(baseline), analysis(hnn)) {
            (b, h) if b.is_empty() && h.is_empty() => "—".to_string(),
            (b, h) => format!("{} → {}", fmt(&b), fmt(&h)),
        };
        // The paper's notebook protocol: over seeds, mean ± std; one seed, ± its bootstrap error.
        let protocol = |model: &str| -> String {
            let scores: Vec<crate::paper::PaperScore> =
                rs.iter().filter_map(|r| r.models.get(model)?.metrics.energy_mse_paper).collect();
            match scores.as_slice() {
                [] => "—".into(),
                [one] => format!("{:.2e} ± {:.1e}", one.mean, one.bootstrap),
                many => fmt(&many.iter().map(|s| s.mean).collect::<Vec<_>>()),
            }
        };
        let protocol_cell = match (protocol(baseline), protocol(hnn)) {
            (b, h) if b == "—" && h == "—" => "—".to_string(),
            (b, h) => format!("{b} → {h}"),
        };
        let paper = PAPER
            .iter()
            .find(|(n, _)| *n == *exp)
            .map(|(_, v)| format!("{:.2e} → {:.2e}", v[2].0, v[2].1))
            .unwrap_or("—".into());
        s.push_str(&format!(
            "| {exp} | {} | {} | {} | {} | {} | {analysis_cell} | {protocol_cell} | {paper} |\n",
            rs.len(),
            cell(&|m| m.train_loss.mean),
            cell(&|m| m.test_loss.mean),
            cell(&|m| m.energy_mse.mean),
            // Beside the energy error: a model whose rollouts do not move conserves energy
            // perfectly, and only the state error shows it.
            cell(&|m| m.trajectory_mse.mean),
        ));
    }
    s.push('\n');
    s.push_str(&per_model(&by_exp));
    let thermostat = thermostat(&by_exp);
    if !thermostat.is_empty() {
        s.push('\n');
        s.push_str(&thermostat);
    }
    s
}

/// The `[thermostat]` runs: per task, model and temperature, the KS distance to the exact
/// Boltzmann marginal (with the 95% critical distance at the effective sample size) and the
/// barrier-crossing rate, on the learned H and on the true H (means over seeds; one seed's
/// crossing rate with its Poisson error).
fn thermostat(by_exp: &BTreeMap<&str, Vec<&RunMetrics>>) -> String {
    let mut rows = String::new();
    for (exp, rs) in by_exp {
        let mut kinds: Vec<&str> = rs.iter().flat_map(|r| r.models.keys().map(|k| k.as_str())).collect();
        kinds.sort();
        kinds.dedup();
        for kind in kinds {
            let results: Vec<&Vec<crate::thermostat::ThermostatResult>> =
                rs.iter().filter_map(|r| r.models.get(kind)?.metrics.thermostat.as_ref()).collect();
            let Some(first) = results.first() else { continue };
            for (i, r) in first.iter().enumerate() {
                let at: Vec<&crate::thermostat::ThermostatResult> = results.iter().filter_map(|v| v.get(i)).collect();
                let mean = |f: &dyn Fn(&crate::thermostat::ThermostatResult) -> f64| -> f64 {
                    at.iter().map(|r| f(r)).sum::<f64>() / at.len() as f64
                };
                let rate = |f: &dyn Fn(&crate::thermostat::ThermostatResult) -> (f64, f64)| -> String {
                    match at.as_slice() {
                        [one] => format!("{:.3e} ± {:.1e}", f(one).0, f(one).1),
                        _ => fmt(&at.iter().map(|r| f(r).0).collect::<Vec<_>>()),
                    }
                };
                rows.push_str(&format!(
                    "| {exp} | {kind} | {} | {} | {:.4} ({:.4}) | {:.4} ({:.4}) | {} | {} |\n",
                    r.kt,
                    at.len(),
                    mean(&|r| r.learned.ks_distance),
                    mean(&|r| r.learned.ks_critical),
                    mean(&|r| r.truth.ks_distance),
                    mean(&|r| r.truth.ks_critical),
                    rate(&|r| (r.learned.crossing_rate, r.learned.crossing_rate_error)),
                    rate(&|r| (r.truth.crossing_rate, r.truth.crossing_rate_error)),
                ));
            }
        }
    }
    if rows.is_empty() {
        return rows;
    }
    format!(
        "| task | model | kT | seeds | KS distance, learned H (95% critical) | KS distance, true H (95% critical) | crossing rate, learned H | crossing rate, true H |\n|---|---|---|---|---|---|---|---|\n{rows}"
    )
}

/// One row per task and model (every kind a run trained, the dissipative HNN included): the
/// errors, and for systems or recordings that lose energy the learned damping rate and the decay
/// rate of the energy beside the true or measured ones.
fn per_model(by_exp: &BTreeMap<&str, Vec<&RunMetrics>>) -> String {
    let mut s = String::from(
        "| task | model | seeds | test loss | energy MSE | trajectory MSE | energy MSE, the paper's notebook protocol | damping rate (true) | energy decay rate (true or measured) |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for (exp, rs) in by_exp {
        let mut kinds: Vec<&str> = rs.iter().flat_map(|r| r.models.keys().map(|k| k.as_str())).collect();
        kinds.sort_by_key(|k| (row_order(k), *k));
        kinds.dedup();
        for kind in kinds {
            let ms: Vec<&crate::eval::ModelMetrics> =
                rs.iter().filter_map(|r| r.models.get(kind)).map(|m| &m.metrics).collect();
            let col = |f: &dyn Fn(&crate::eval::ModelMetrics) -> Option<f64>| -> Vec<f64> {
                ms.iter().filter_map(|m| f(m)).collect()
            };
            let pair = |a: Vec<f64>, b: Vec<f64>| -> String {
                match (a.is_empty(), b.is_empty()) {
                    (true, true) => "—".into(),
                    _ => format!("{} ({})", fmt(&a), fmt(&b)),
                }
            };
            let damping = pair(col(&|m| m.damping_rate.map(|d| d.mean)), col(&|m| m.damping_rate_true));
            let decay = pair(
                col(&|m| m.energy_decay_rate.map(|d| d.mean).or(m.energy_mse_paper.and_then(|p| p.decay_rate))),
                col(&|m| {
                    m.energy_decay_rate_true.map(|d| d.mean).or(m.energy_mse_paper.and_then(|p| p.decay_rate_measured))
                }),
            );
            s.push_str(&format!(
                "| {exp} | {kind} | {} | {} | {} | {} | {} | {damping} | {decay} |\n",
                ms.len(),
                fmt(&col(&|m| Some(m.test_loss.mean))),
                fmt(&col(&|m| Some(m.energy_mse.mean))),
                fmt(&col(&|m| Some(m.trajectory_mse.mean))),
                fmt(&col(&|m| m.energy_mse_paper.map(|p| p.mean))),
            ));
        }
    }
    s
}

/// The paper's two models, as its Table 1 compares them: baseline → HNN.
const PAPER_MODELS: [ModelKind; 2] = [ModelKind::BASELINE, ModelKind::HNN];

/// The place of a model's row: the paper's two models, then every other kind in registry
/// order, then names no registered kind has.
fn row_order(name: &str) -> usize {
    let others = ModelKind::all().into_iter().filter(|k| !PAPER_MODELS.contains(k));
    PAPER_MODELS.into_iter().chain(others).position(|k| k.name() == name).unwrap_or(usize::MAX)
}
