//! Time derivatives of sampled trajectories by finite differences, honouring gaps in the
//! sampling: no difference is ever taken across an interval longer than `max_gap` times the
//! nominal step (the median interval).

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Which finite difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FiniteDifference {
    /// (z_{i+1} − z_i)/Δt at z_i, as the reference real-pendulum code; first order. A point
    /// whose next interval is a gap is dropped.
    Forward,
    /// (z_{i+1} − z_{i−1})/(t_{i+1} − t_{i−1}) inside each gap-free run, one-sided at its ends;
    /// second order inside. Runs of a single point are dropped.
    #[default]
    Central,
}

/// How to estimate derivatives from samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DerivativeSettings {
    /// The difference scheme.
    pub scheme: FiniteDifference,
    /// An interval longer than `max_gap` × the median interval is a gap.
    pub max_gap: f64,
    /// Centred moving-average window (odd, ≥ 1; 1 = no smoothing) applied to the states within
    /// each gap-free run before differencing.
    pub smoothing_window: usize,
}

impl Default for DerivativeSettings {
    fn default() -> Self {
        Self { scheme: FiniteDifference::Central, max_gap: 1.5, smoothing_window: 1 }
    }
}

/// Samples that kept a derivative: their row indices, states and derivatives (row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct Differenced {
    /// Index of each kept sample in the input.
    pub indices: Vec<usize>,
    /// States at the kept samples (smoothed if smoothing was asked for).
    pub z: Vec<f64>,
    /// Derivative estimates.
    pub dz: Vec<f64>,
}

/// The nominal sampling interval: the median of the positive intervals.
pub fn nominal_step(times: &[f64]) -> Option<f64> {
    let mut d: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).filter(|d| *d > 0.0).collect();
    if d.is_empty() {
        return None;
    }
    d.sort_by(f64::total_cmp);
    Some(d[d.len() / 2])
}

/// Differentiates one recording: `times` (length T) and `states` (`[T, width]` row-major).
pub fn differentiate(
    times: &[f64],
    states: &[f64],
    width: usize,
    settings: &DerivativeSettings,
) -> Result<Differenced> {
    let t_len = times.len();
    if width == 0 || states.len() != t_len * width {
        return Err(Error::InvalidSetting(format!(
            "{} state numbers do not make {t_len} rows of width {width}",
            states.len()
        )));
    }
    if settings.smoothing_window == 0 || settings.smoothing_window.is_multiple_of(2) {
        return Err(Error::InvalidSetting("smoothing_window must be odd and ≥ 1".into()));
    }
    if settings.max_gap.is_nan() || settings.max_gap < 1.0 {
        return Err(Error::InvalidSetting("max_gap must be ≥ 1".into()));
    }
    let mut out = Differenced { indices: vec![], z: vec![], dz: vec![] };
    let Some(step) = nominal_step(times) else { return Ok(out) };
    let limit = settings.max_gap * step;
    // Gap-free runs [start, end).
    let mut start = 0;
    for i in 1..=t_len {
        let broken = i == t_len || !(times[i] - times[i - 1] > 0.0 && times[i] - times[i - 1] <= limit);
        if broken {
            difference_run(&times[start..i], &states[start * width..i * width], width, start, settings, &mut out);
            start = i;
        }
    }
    Ok(out)
}

fn difference_run(t: &[f64], z: &[f64], width: usize, offset: usize, s: &DerivativeSettings, out: &mut Differenced) {
    let n = t.len();
    if n < 2 {
        return;
    }
    let z = smooth(z, width, s.smoothing_window);
    let row = |i: usize| &z[i * width..(i + 1) * width];
    let mut push = |i: usize, a: usize, b: usize| {
        out.indices.push(offset + i);
        out.z.extend_from_slice(row(i));
        let dt = t[b] - t[a];
        out.dz.extend(row(b).iter().zip(row(a)).map(|(zb, za)| (zb - za) / dt));
    };
    match s.scheme {
        FiniteDifference::Forward => (0..n - 1).for_each(|i| push(i, i, i + 1)),
        FiniteDifference::Central => {
            for i in 0..n {
                let (a, b) = if i == 0 {
                    (0, 1)
                } else if i == n - 1 {
                    (n - 2, n - 1)
                } else {
                    (i - 1, i + 1)
                };
                push(i, a, b);
            }
        }
    }
}

/// Centred moving average over rows (window shrinks at the ends).
fn smooth(z: &[f64], width: usize, window: usize) -> Vec<f64> {
    if window <= 1 {
        return z.to_vec();
    }
    let n = z.len() / width;
    let h = window / 2;
    let mut out = vec![0.0; z.len()];
    for i in 0..n {
        let (lo, hi) = (i.saturating_sub(h), (i + h).min(n - 1));
        let count = (hi - lo + 1) as f64;
        for c in 0..width {
            out[i * width + c] = (lo..=hi).map(|j| z[j * width + c]).sum::<f64>() / count;
        }
    }
    out
}
