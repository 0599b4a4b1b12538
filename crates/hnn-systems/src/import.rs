//! Datasets from your own data: (z, ż) pairs, trajectories (evenly or irregularly sampled),
//! and `.npz` or CSV files holding either.
//!
//! States are `[.., 2n]` with the coordinates q first, then the momenta p. Trajectories are
//! split into train and test **by whole trajectories** (the last ones are held out), ż is
//! estimated by finite differences ([`crate::derivatives`], optional smoothing) unless given,
//! and when every trajectory is sampled on one even grid of the same length the dataset also
//! records that grid (`meta.dt`, `meta.trajectory_length`), which trajectory matching needs.
//!
//! # Files ([`load`])
//! - `.npz` with arrays `z` and `dz`, both `[N, 2n]`: (z, ż) pairs.
//! - `.npz` with `t` `[T]` and `z` `[T, B, 2n]` (B trajectories on one time grid), optionally
//!   `dz` of the same shape (exact derivatives; otherwise finite differences).
//! - `.npz` or `.safetensors` written by hnn (`hnn data`): `train_z`, `train_dz`, `test_z`,
//!   `test_dz` and metadata, read as written.
//! - `.csv` with a header row naming the columns: the state `q1 … qn, p1 … pn` (`q`, `p` for
//!   n = 1); then either the derivatives `dq1 … dqn, dp1 … dpn` (pairs) or a time column `t`
//!   (trajectories), with an optional `trajectory` column whose value changes where a new
//!   trajectory starts. Other columns are an error, as are missing values. Fields may be
//!   double-quoted (`"q1"`, `"0.5"`); a field holding a comma is not supported (numbers and the
//!   names above hold none).
//!
//! Integer arrays are refused (a truncated derivative is worse than an error), as are
//! non-finite values, times that do not increase, and shapes that disagree; every error names
//! the file and the array or column.

use crate::dataset::{split_rows, Dataset, DatasetMeta, Split};
use crate::derivatives::{differentiate, nominal_step, DerivativeSettings};
use crate::error::{Error, Result};
use crate::io::{format_of, read_tensors, FileFormat};
use candle_core::{DType, Device, Tensor};
use std::collections::HashMap;
use std::path::Path;

/// How trajectories become a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct TrajectoryOptions {
    /// Fraction of the trajectories held out for testing (the last ones), in [0, 1).
    pub test_fraction: f64,
    /// How ż is estimated when it is not given.
    pub derivatives: DerivativeSettings,
    /// The name recorded as the dataset's system.
    pub system: String,
}

impl Default for TrajectoryOptions {
    fn default() -> Self {
        Self { test_fraction: 0.2, derivatives: DerivativeSettings::default(), system: "custom".into() }
    }
}

/// One trajectory: its sample times `[T]` and states `[T, 2n]` row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Trajectory {
    /// Sample times, increasing.
    pub times: Vec<f64>,
    /// States, `T` rows of 2n numbers.
    pub states: Vec<f64>,
    /// Exact derivatives in the same layout, if known (otherwise finite differences).
    pub derivatives: Option<Vec<f64>>,
}

/// A dataset of (z, ż) pairs `[N, 2n]` (any float dtype), holding out the last
/// `test_fraction` of the rows.
pub fn pairs(z: &Tensor, dz: &Tensor, test_fraction: f64) -> Result<Dataset> {
    let (n, width) = matrix(z, "z")?;
    if dz.dims() != z.dims() {
        return Err(Error::InvalidSetting(format!(
            "dz has shape {:?}, z has {:?}: they must match",
            dz.dims(),
            z.dims()
        )));
    }
    matrix(dz, "dz")?;
    let meta = DatasetMeta::new("custom", width / 2);
    let all = Split::from_rows(values(z)?, values(dz)?, width)?;
    let (train, test) = split_rows(&all, test_fraction, false)?;
    let ds = Dataset { train, test, meta };
    ds.validate(&format!("(z, ż) pairs ({n} rows)"))?;
    Ok(ds)
}

/// A dataset from B trajectories on one time grid: `times` `[T]`, `states` `[T, B, 2n]` (the
/// layout of a rollout), any float dtype.
pub fn trajectories_on_grid(times: &[f64], states: &Tensor, options: &TrajectoryOptions) -> Result<Dataset> {
    let dims = states.dims();
    if dims.len() != 3 || dims[0] != times.len() || dims[2] == 0 || !dims[2].is_multiple_of(2) {
        return Err(Error::InvalidSetting(format!(
            "states must be [T, B, 2n] with T = {} times and an even width, got {dims:?}",
            times.len()
        )));
    }
    check_float(states, "states")?;
    let per_trajectory = states.to_dtype(DType::F64)?.transpose(0, 1)?.contiguous()?; // [B, T, 2n]
    let mut list = Vec::with_capacity(dims[1]);
    for b in 0..dims[1] {
        let s: Vec<f64> = per_trajectory.get(b)?.flatten_all()?.to_vec1()?;
        list.push(Trajectory { times: times.to_vec(), states: s, derivatives: None });
    }
    trajectories(&list, options)
}

/// A dataset from a list of trajectories, each with its own times (irregular steps allowed).
pub fn trajectories(list: &[Trajectory], options: &TrajectoryOptions) -> Result<Dataset> {
    if !(0.0..1.0).contains(&options.test_fraction) {
        return Err(Error::InvalidSetting(format!("test_fraction must be in [0, 1), got {}", options.test_fraction)));
    }
    let Some(first) = list.first() else {
        return Err(Error::InvalidSetting("no trajectories given".into()));
    };
    let width = if first.times.is_empty() { 0 } else { first.states.len() / first.times.len() };
    if width == 0 || !width.is_multiple_of(2) {
        return Err(Error::InvalidSetting(format!(
            "trajectory 0: {} times and {} state numbers do not make rows of an even width 2n",
            first.times.len(),
            first.states.len()
        )));
    }
    // Each trajectory's samples, and whether all of them are kept on one even grid.
    let mut samples: Vec<(Vec<f64>, Vec<f64>, Vec<f64>)> = Vec::with_capacity(list.len());
    let mut grid: Option<(usize, f64)> = None;
    let mut even = true;
    for (i, tr) in list.iter().enumerate() {
        let what = |p: String| Error::InvalidSetting(format!("trajectory {i}: {p}"));
        check_trajectory(tr, width).map_err(what)?;
        let (z, dz, t) = match &tr.derivatives {
            Some(d) => (tr.states.clone(), d.clone(), tr.times.clone()),
            None => {
                let d = differentiate(&tr.times, &tr.states, width, &options.derivatives)
                    .map_err(|e| what(e.to_string()))?;
                let t = d.indices.iter().map(|&k| tr.times[k]).collect();
                (d.z, d.dz, t)
            }
        };
        let kept = z.len() / width;
        let step = nominal_step(&tr.times);
        let uniform =
            step.is_some_and(|s| tr.times.windows(2).all(|w| ((w[1] - w[0]) - s).abs() <= 1e-9 * s.abs().max(1e-300)));
        match (grid, step) {
            _ if !(uniform && kept == tr.times.len() && kept >= 2) => even = false,
            (None, Some(s)) => grid = Some((kept, s)),
            (Some((len, s0)), Some(s)) if len == kept && (s - s0).abs() <= 1e-9 * s0.abs() => {}
            _ => even = false,
        }
        samples.push((z, dz, t));
    }
    let n_test = ((list.len() as f64 * options.test_fraction).floor() as usize).min(list.len() - 1);
    let n_train = list.len() - n_test;
    let gather = |range: std::ops::Range<usize>| -> Result<Split> {
        let (mut z, mut dz, mut t) = (vec![], vec![], vec![]);
        for (a, b, c) in &samples[range] {
            z.extend_from_slice(a);
            dz.extend_from_slice(b);
            t.extend_from_slice(c);
        }
        Split::from_rows(z, dz, width)?.with_times(t)
    };
    let mut meta = DatasetMeta::new(options.system.clone(), width / 2);
    if even {
        if let Some((len, dt)) = grid {
            meta.trajectory_length = Some(len);
            meta.dt = Some(dt);
        }
    }
    meta.settings = serde_json::json!({
        "source": "trajectories",
        "trajectories": list.len(),
        "test_trajectories": n_test,
        "derivatives": if list.iter().all(|t| t.derivatives.is_some()) { "given" } else { "finite differences" },
    });
    let ds = Dataset { train: gather(0..n_train)?, test: gather(n_train..list.len())?, meta };
    ds.validate("trajectories")?;
    Ok(ds)
}

/// Errors unless a trajectory's states and derivatives are rows of `width` at its times, and
/// its times finite and increasing.
fn check_trajectory(tr: &Trajectory, width: usize) -> std::result::Result<(), String> {
    if tr.states.len() != tr.times.len() * width {
        return Err(format!(
            "{} times but {} state numbers (expected {} × {width})",
            tr.times.len(),
            tr.states.len(),
            tr.times.len()
        ));
    }
    if let Some(k) = tr.times.iter().position(|t| !t.is_finite()) {
        return Err(format!("time {k} is not finite"));
    }
    if let Some(k) = tr.times.windows(2).position(|w| w[1] <= w[0]) {
        return Err(format!(
            "times must increase, but t[{}] = {} follows t[{k}] = {}",
            k + 1,
            tr.times[k + 1],
            tr.times[k]
        ));
    }
    if let Some(d) = &tr.derivatives {
        if d.len() != tr.states.len() {
            return Err(format!("{} derivative numbers for {} state numbers", d.len(), tr.states.len()));
        }
    }
    Ok(())
}

/// Reads a dataset from a file a user made (see the module docs for the layouts): `.npz`,
/// `.csv`, or an hnn dataset file. `options` applies to trajectories.
pub fn load(path: impl AsRef<Path>, options: &TrajectoryOptions) -> Result<Dataset> {
    let path = path.as_ref();
    let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    if ext == "csv" {
        return load_csv(path, options);
    }
    let format = format_of(path)
        .map_err(|_| Error::bad_file(path, "unknown file format: use a .npz, .csv or .safetensors file name"))?;
    let (map, meta) = read_tensors(path, crate::io::META_KEY)?;
    if map.contains_key("train_z") || meta.is_some() || format == FileFormat::Safetensors {
        return crate::io::load(path);
    }
    load_npz_arrays(path, map, options)
}

fn load_npz_arrays(path: &Path, mut map: HashMap<String, Tensor>, options: &TrajectoryOptions) -> Result<Dataset> {
    let bad = |p: String| Error::bad_file(path, p);
    let mut names: Vec<_> = map.keys().cloned().collect();
    names.sort();
    let Some(z) = map.remove("z") else {
        return Err(bad(format!(
            "no array `z`: expected `z` and `dz` ([N, 2n] pairs), `t` and `z` ([T, B, 2n] trajectories), or an \
             hnn dataset (train_z, …); found: {}",
            names.join(", ")
        )));
    };
    for (name, t) in [("z", Some(&z)), ("dz", map.get("dz")), ("t", map.get("t"))] {
        if let Some(t) = t {
            check_float(t, name).map_err(|e| bad(e.to_string()))?;
        }
    }
    match (z.rank(), map.remove("t"), map.remove("dz")) {
        (2, None, Some(dz)) => pairs(&z, &dz, options.test_fraction).map_err(|e| bad(e.to_string())),
        (2, None, None) => Err(bad(
            "array `z` is [N, 2n] but there is no `dz`: pairs need both (or give `t` and z as [T, B, 2n])".into(),
        )),
        (3, Some(t), dz) => {
            let times: Vec<f64> = t.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
            if t.rank() != 1 {
                return Err(bad(format!("array `t` has shape {:?}, expected [T]", t.dims())));
            }
            match dz {
                None => trajectories_on_grid(&times, &z, options).map_err(|e| bad(e.to_string())),
                Some(dz) => {
                    if dz.dims() != z.dims() {
                        return Err(bad(format!("array `dz` has shape {:?}, `z` has {:?}", dz.dims(), z.dims())));
                    }
                    let zs = z.to_dtype(DType::F64)?.transpose(0, 1)?.contiguous()?;
                    let ds = dz.to_dtype(DType::F64)?.transpose(0, 1)?.contiguous()?;
                    let list = (0..z.dims()[1])
                        .map(|b| {
                            Ok(Trajectory {
                                times: times.clone(),
                                states: zs.get(b)?.flatten_all()?.to_vec1()?,
                                derivatives: Some(ds.get(b)?.flatten_all()?.to_vec1()?),
                            })
                        })
                        .collect::<Result<Vec<_>>>()?;
                    trajectories(&list, options).map_err(|e| bad(e.to_string()))
                }
            }
        }
        (3, None, _) => Err(bad("array `z` is [T, B, 2n] (trajectories) but there is no time array `t` [T]".into())),
        _ => Err(bad(format!(
            "array `z` has shape {:?}: expected [N, 2n] (with `dz`) or [T, B, 2n] (with `t`)",
            z.dims()
        ))),
    }
}

/// The most rows a CSV file may hold (as many as a generated dataset may).
const MAX_CSV_ROWS: usize = crate::generate::MAX_SAMPLES as usize;

/// A CSV field without its surrounding blanks and double quotes (`"q1"` → `q1`), as spreadsheet
/// and pandas exports quote names. Fields are split at every comma: numbers and names hold none.
fn unquote(field: &str) -> &str {
    let field = field.trim();
    field.strip_prefix('"').and_then(|f| f.strip_suffix('"')).map_or(field, str::trim)
}

fn load_csv(path: &Path, options: &TrajectoryOptions) -> Result<Dataset> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    let bad = |p: String| Error::bad_file(path, p);
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
    let Some((_, header)) = lines.next() else { return Err(bad("empty file: expected a header row".into())) };
    let layout = CsvLayout::of(header).map_err(bad)?;
    let list = layout.read(lines).map_err(bad)?;
    if list.is_empty() {
        return Err(bad("no data rows after the header".into()));
    }
    let n = layout.qs.len();
    if layout.given() && layout.time.is_none() {
        // Pairs: no time order to respect.
        let (mut z, mut dz) = (vec![], vec![]);
        for tr in list {
            z.extend(tr.states);
            dz.extend(tr.derivatives.unwrap_or_default());
        }
        let rows = z.len() / (2 * n);
        let zt = Tensor::from_vec(z, (rows, 2 * n), &Device::Cpu)?;
        let dzt = Tensor::from_vec(dz, (rows, 2 * n), &Device::Cpu)?;
        return pairs(&zt, &dzt, options.test_fraction).map_err(|e| bad(e.to_string()));
    }
    trajectories(&list, options).map_err(|e| bad(e.to_string()))
}

/// The columns of a CSV file: which hold the state, the derivatives, the time and the
/// trajectory id, found by name in one pass over the header (linear in its width).
struct CsvLayout {
    columns: Vec<String>,
    qs: Vec<usize>,
    ps: Vec<usize>,
    dqs: Vec<usize>,
    dps: Vec<usize>,
    time: Option<usize>,
    trajectory: Option<usize>,
}

impl CsvLayout {
    /// The layout a header names; the error says what is missing or unknown.
    fn of(header: &str) -> std::result::Result<Self, String> {
        let columns: Vec<String> = header.split(',').map(|c| unquote(c).to_ascii_lowercase()).collect();
        let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (i, c) in columns.iter().enumerate() {
            index.entry(c.as_str()).or_insert(i);
        }
        let find = |name: &str| index.get(name).copied();
        // The state columns: q1…qn, p1…pn, or q, p.
        let (qs, ps): (Vec<usize>, Vec<usize>) = if let (Some(q), Some(p)) = (find("q"), find("p")) {
            (vec![q], vec![p])
        } else {
            let numbered =
                |prefix: &str| -> Vec<usize> { (1..).map_while(|i| find(&format!("{prefix}{i}"))).collect() };
            (numbered("q"), numbered("p"))
        };
        if qs.is_empty() || qs.len() != ps.len() {
            return Err(format!(
                "the header must name the state as q, p (one degree of freedom) or q1 … qn, p1 … pn; found {} q and {} \
                 p columns in `{header}`",
                qs.len(),
                ps.len()
            ));
        }
        let n = qs.len();
        let derivative_columns = |prefix: &str| -> Vec<usize> {
            if n == 1 {
                find(&format!("d{prefix}")).or_else(|| find(&format!("d{prefix}1"))).into_iter().collect()
            } else {
                (1..=n).filter_map(|i| find(&format!("d{prefix}{i}"))).collect()
            }
        };
        let (dqs, dps) = (derivative_columns("q"), derivative_columns("p"));
        let layout = CsvLayout { qs, ps, dqs, dps, time: find("t"), trajectory: find("trajectory"), columns: vec![] };
        let given = layout.given();
        if given && (layout.dqs.len() != n || layout.dps.len() != n) {
            return Err(format!("derivative columns must be all of dq1 … dq{n}, dp1 … dp{n}"));
        }
        if !given && layout.time.is_none() {
            return Err("no derivative columns (dq…, dp…) and no time column `t`: give one or the other".into());
        }
        let mut known = vec![false; columns.len()];
        let named = layout.qs.iter().chain(&layout.ps).chain(&layout.dqs).chain(&layout.dps);
        for &c in named.chain(&layout.time).chain(&layout.trajectory) {
            known[c] = true;
        }
        if let Some(extra) = known.iter().position(|k| !k) {
            return Err(format!("unknown column `{}` (known: t, trajectory, q…, p…, dq…, dp…)", columns[extra]));
        }
        Ok(CsvLayout { columns, ..layout })
    }

    /// Whether the file gives the derivatives (else they come from finite differences in time).
    fn given(&self) -> bool {
        !self.dqs.is_empty() || !self.dps.is_empty()
    }

    /// The data rows as trajectories: a new one at each change of the trajectory id (one in all
    /// without an id column); (line index, line) as [`str::lines`] numbers them.
    fn read<'a>(&self, lines: impl Iterator<Item = (usize, &'a str)>) -> std::result::Result<Vec<Trajectory>, String> {
        let state_cols: Vec<usize> = self.qs.iter().chain(&self.ps).copied().collect();
        let deriv_cols: Vec<usize> = self.dqs.iter().chain(&self.dps).copied().collect();
        let columns = &self.columns;
        let mut list: Vec<Trajectory> = vec![];
        let mut current_id: Option<String> = None;
        for (rows, (line_no, line)) in lines.enumerate() {
            if rows + 1 > MAX_CSV_ROWS {
                return Err(format!("more than {MAX_CSV_ROWS} rows"));
            }
            let cells: Vec<&str> = line.split(',').map(unquote).collect();
            if cells.len() != columns.len() {
                return Err(format!(
                    "line {}: {} values, the header has {} columns",
                    line_no + 1,
                    cells.len(),
                    columns.len()
                ));
            }
            let number = |c: usize| -> std::result::Result<f64, String> {
                let v: f64 = cells[c].parse().map_err(|_| {
                    format!("line {}, column `{}`: `{}` is not a number", line_no + 1, columns[c], cells[c])
                })?;
                if !v.is_finite() {
                    return Err(format!("line {}, column `{}`: {} is not finite", line_no + 1, columns[c], cells[c]));
                }
                Ok(v)
            };
            let id = self.trajectory.map(|c| cells[c].to_string());
            if list.is_empty() || (self.trajectory.is_some() && id != current_id) {
                list.push(Trajectory { times: vec![], states: vec![], derivatives: self.given().then(Vec::new) });
                current_id = id;
            }
            let tr = list.last_mut().expect("pushed above");
            tr.times.push(match self.time {
                Some(c) => number(c)?,
                None => tr.times.len() as f64,
            });
            for &c in &state_cols {
                tr.states.push(number(c)?);
            }
            if let Some(d) = tr.derivatives.as_mut() {
                for &c in &deriv_cols {
                    d.push(number(c)?);
                }
            }
        }
        Ok(list)
    }
}

fn matrix(t: &Tensor, name: &str) -> Result<(usize, usize)> {
    check_float(t, name)?;
    match t.dims() {
        &[n, w] if w > 0 && w.is_multiple_of(2) => Ok((n, w)),
        d => Err(Error::InvalidSetting(format!("{name} has shape {d:?}, expected [N, 2n]"))),
    }
}

fn check_float(t: &Tensor, name: &str) -> Result<()> {
    if t.dtype().is_float() {
        Ok(())
    } else {
        Err(Error::InvalidSetting(format!(
            "array `{name}` holds {:?} integers; states, derivatives and times must be floating point",
            t.dtype()
        )))
    }
}

fn values(t: &Tensor) -> Result<Vec<f64>> {
    Ok(t.to_dtype(DType::F64)?.to_device(&Device::Cpu)?.flatten_all()?.to_vec1()?)
}
