//! Measured data: the Schmidt & Lipson (2009) pendulum recordings.
//!
//! Text format: lines starting with `%` are headers; every other line holds whitespace-separated
//! numbers: trial, time, then the measured values. `real_pend_h_1.txt`: trial, t, angle θ,
//! angular velocity ω. `real_double_pend_h_1.txt` (header `% o1 o2 w1 w2`): trial, t, θ₁, θ₂,
//! ω₁, ω₂, then four columns the header does not name (a repeat of ω₁, ω₂, and what behave as
//! the angular accelerations); only θ₁, θ₂, ω₁, ω₂ are used.
//!
//! These files are not ours to ship. [`locate`] finds one from an explicit path, an environment
//! variable, or a `data/` or `shared/data/` folder in the working directory or any parent.

use crate::dataset::{Dataset, DatasetMeta, Split};
use crate::derivatives::{differentiate, nominal_step, DerivativeSettings};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// File name of the single-pendulum recording.
/// The largest magnitude a recorded number may have: beyond it, finite differences overflow
/// (1e308 − (−1e308) is infinite), and no recording of a pendulum holds such a value.
pub const MAX_MAGNITUDE: f64 = 1e100;

pub const PENDULUM_FILE: &str = "real_pend_h_1.txt";
/// Environment variable with the single-pendulum file's path.
pub const PENDULUM_ENV: &str = "HNN_REAL_PENDULUM";
/// File name of the double-pendulum recording.
pub const DOUBLE_PENDULUM_FILE: &str = "real_double_pend_h_1.txt";
/// Environment variable with the double-pendulum file's path.
pub const DOUBLE_PENDULUM_ENV: &str = "HNN_REAL_DOUBLE_PENDULUM";

/// A parsed recording: `rows × columns` numbers, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    /// Columns per row.
    pub columns: usize,
    /// The numbers.
    pub values: Vec<f64>,
}

impl Recording {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.values.len() / self.columns
    }

    /// Column `c` of every row.
    pub fn column(&self, c: usize) -> Vec<f64> {
        self.values.chunks(self.columns).map(|r| r[c]).collect()
    }
}

/// Parses the text format; `min_columns` is what the caller needs.
pub fn parse(path: &Path, text: &str, min_columns: usize) -> Result<Recording> {
    let mut columns = 0;
    let mut values = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('%') {
            continue;
        }
        let row: Vec<f64> = line
            .split_whitespace()
            .map(|w| w.parse::<f64>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| Error::bad_file(path, format!("line {}: not a number ({e}): `{line}`", i + 1)))?;
        if columns == 0 {
            columns = row.len();
            if columns < min_columns {
                return Err(Error::bad_file(
                    path,
                    format!("line {}: {columns} columns, need at least {min_columns}", i + 1),
                ));
            }
        } else if row.len() != columns {
            return Err(Error::bad_file(
                path,
                format!("line {}: {} columns where earlier lines have {columns}", i + 1, row.len()),
            ));
        }
        if let Some(v) = row.iter().find(|v| !v.is_finite()) {
            return Err(Error::bad_file(path, format!("line {}: non-finite value {v}", i + 1)));
        }
        if let Some(v) = row.iter().find(|v| v.abs() > MAX_MAGNITUDE) {
            return Err(Error::bad_file(
                path,
                format!(
                    "line {}: value {v:e} is beyond ±{MAX_MAGNITUDE:e}, no measured time, angle or momentum",
                    i + 1
                ),
            ));
        }
        values.extend(row);
    }
    if values.is_empty() {
        return Err(Error::bad_file(path, "no data rows"));
    }
    Ok(Recording { columns, values })
}

/// Reads and parses a recording file.
pub fn read(path: &Path, min_columns: usize) -> Result<Recording> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    let text = String::from_utf8(bytes).map_err(|_| Error::bad_file(path, "not a text file (invalid UTF-8)"))?;
    parse(path, &text, min_columns)
}

/// Finds a data file: `explicit` if given, else `$env`, else `data/NAME` or `shared/data/NAME`
/// in the working directory or any of its parents.
pub fn locate(explicit: Option<&Path>, file: &str, env: &str) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(Error::MissingData(format!("{}: no such file (expected the recording {file})", p.display())))
        };
    }
    if let Ok(p) = std::env::var(env) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(Error::MissingData(format!("${env} = {} is not a file", p.display())))
        };
    }
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            for sub in ["data", "shared/data"] {
                let candidate = dir.join(sub).join(file);
                if candidate.is_file() {
                    return Ok(candidate);
                }
            }
        }
    }
    Err(Error::MissingData(format!(
        "cannot find {file} (Schmidt & Lipson 2009 measurements, not shipped with hnn). Pass its path \
         (config `data`, or `--data`), set ${env}, or put it in ./data/{file}"
    )))
}

/// Differentiates each trial separately and stacks the results: states, derivatives, the
/// recording row and the time of each kept sample, and the nominal step.
#[allow(clippy::type_complexity)]
fn differentiate_trials(
    rec: &Recording,
    state_cols: &[usize],
    settings: &DerivativeSettings,
) -> Result<(Vec<f64>, Vec<f64>, Vec<usize>, Vec<f64>, f64)> {
    let trial = rec.column(0);
    let time = rec.column(1);
    let width = state_cols.len();
    let (mut z, mut dz, mut rows, mut t) = (vec![], vec![], vec![], vec![]);
    let mut start = 0;
    for i in 1..=rec.rows() {
        if i == rec.rows() || trial[i] != trial[start] {
            let states: Vec<f64> = (start..i)
                .flat_map(|r| state_cols.iter().map(move |&c| (r, c)))
                .map(|(r, c)| rec.values[r * rec.columns + c])
                .collect();
            let d = differentiate(&time[start..i], &states, width, settings)?;
            z.extend(d.z);
            dz.extend(d.dz);
            t.extend(d.indices.iter().map(|&k| time[start + k]));
            rows.extend(d.indices.iter().map(|&k| start + k));
            start = i;
        }
    }
    let dt = nominal_step(&time).unwrap_or(f64::NAN);
    Ok((z, dz, rows, t, dt))
}

fn measured_dataset(
    path: &Path,
    name: &str,
    dof: usize,
    state_cols: &[usize],
    settings: &DerivativeSettings,
    test_fraction: f64,
) -> Result<Dataset> {
    let rec = read(path, state_cols.iter().max().copied().unwrap_or(0) + 1)?;
    let (z, dz, rows, t, dt) = differentiate_trials(&rec, state_cols, settings)?;
    if z.is_empty() {
        return Err(Error::bad_file(path, "no two consecutive samples to differentiate"));
    }
    let all = Split::from_rows(z, dz, 2 * dof)?.with_times(t)?;
    // The reference's split (experiment-real/data.py), by recording row: of the first N = rows − 1
    // samples, rows [⌊N(1 − f)⌋, ⌊N(1 − f)⌋ + ⌊Nf⌋) are held out, the others train.
    let n = rec.rows().saturating_sub(1) as f64;
    let a = (n * (1.0 - test_fraction)).floor() as usize;
    let b = a + (n * test_fraction).floor() as usize;
    let held: Vec<bool> = rows.iter().map(|r| (a..b).contains(r)).collect();
    let pick = |want: bool| -> Vec<u32> { (0..held.len() as u32).filter(|&i| held[i as usize] == want).collect() };
    let (train, test) = (all.select(&pick(false))?, all.select(&pick(true))?);
    let mut meta = DatasetMeta::new(name, dof);
    meta.dt = Some(dt);
    meta.settings = serde_json::json!({
        "source": path.display().to_string(),
        "rows": rec.rows(),
        "derivatives": settings,
        "test_fraction": test_fraction,
    });
    let ds = Dataset { train, test, meta };
    ds.validate(&path.display().to_string())?;
    Ok(ds)
}

/// The real pendulum: state (θ, ω), derivatives by finite differences within gap-free runs;
/// held out as the reference does: rows ⌊0.8N⌋ … ⌊0.8N⌋ + ⌊0.2N⌋ − 1 of the recording's first
/// N = rows − 1 samples (the last 20%, chronological), the rest for training.
pub fn real_pendulum(path: &Path, settings: &DerivativeSettings) -> Result<Dataset> {
    measured_dataset(path, "real_pendulum", 1, &[2, 3], settings, 0.2)
}

/// The real double pendulum: state (θ₁, θ₂, ω₁, ω₂), differentiated per trial, 80/20 split.
pub fn real_double_pendulum(path: &Path, settings: &DerivativeSettings) -> Result<Dataset> {
    measured_dataset(path, "real_double_pendulum", 2, &[2, 3, 4, 5], settings, 0.2)
}
