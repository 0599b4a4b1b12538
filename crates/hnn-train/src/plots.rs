//! PNG plots with plotters: loss curves, energy along rollouts, phase portraits, orbits.
//! Every plot is a set of labelled 2-D polylines drawn by [`line_chart`]. Text uses the DejaVu
//! font embedded at build time, so plots need no system fonts. Drawing needs the `plots`
//! feature; without it [`line_chart`] says so (experiments then log that plots were not drawn).

use crate::error::Result;
use std::path::Path;

/// A labelled polyline.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Points (x, y); non-finite points are skipped.
    pub points: Vec<(f64, f64)>,
    /// Index into the palette.
    pub color: usize,
    /// Dashed-looking thin line instead of a thick one.
    pub thin: bool,
}

impl Series {
    /// A thick series.
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>, color: usize) -> Self {
        Self { label: label.into(), points, color, thin: false }
    }
}

/// Axis and title settings.
#[derive(Debug, Clone)]
pub struct Chart<'a> {
    /// Title.
    pub title: &'a str,
    /// x-axis label.
    pub x: &'a str,
    /// y-axis label.
    pub y: &'a str,
    /// Logarithmic y axis.
    pub log_y: bool,
    /// Same scale on both axes (phase portraits, orbits).
    pub equal_axes: bool,
}

/// Draws the series into a PNG at `path`.
pub fn line_chart(path: &Path, chart: &Chart, series: &[Series]) -> Result<()> {
    #[cfg(feature = "plots")]
    {
        png::line_chart(path, chart, series)
    }
    #[cfg(not(feature = "plots"))]
    {
        let _ = (chart, series);
        Err(crate::Error::Plot {
            path: path.to_path_buf(),
            problem: "this build of hnn-train has no `plots` feature".into(),
        })
    }
}

/// The drawing, with plotters.
#[cfg(feature = "plots")]
mod png {
    use super::{Chart, Series};
    use crate::error::{Error, Result};
    use plotters::prelude::*;
    use plotters::style::FontStyle;
    use std::path::Path;
    use std::sync::Once;

    const PALETTE: [RGBColor; 6] = [
        RGBColor(20, 20, 20),
        RGBColor(31, 119, 180),
        RGBColor(214, 39, 40),
        RGBColor(44, 160, 44),
        RGBColor(148, 103, 189),
        RGBColor(255, 127, 14),
    ];

    static FONTS: Once = Once::new();

    fn register_fonts() {
        FONTS.call_once(|| {
            for style in [FontStyle::Normal, FontStyle::Bold, FontStyle::Italic, FontStyle::Oblique] {
                let _ = plotters::style::register_font("sans-serif", style, dejavu::sans::regular());
            }
        });
    }

    fn bounds(series: &[Series], log_y: bool, equal: bool) -> Option<((f64, f64), (f64, f64))> {
        let pts = series
            .iter()
            .flat_map(|s| s.points.iter())
            .filter(|(x, y)| x.is_finite() && y.is_finite() && (!log_y || *y > 0.0));
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        let mut any = false;
        for &(x, y) in pts {
            any = true;
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        if !any {
            return None;
        }
        let pad = |a: f64, b: f64| if b > a { (b - a) * 0.05 } else { a.abs().max(1.0) * 0.05 };
        if equal {
            let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
            let half = ((x1 - x0).max(y1 - y0) / 2.0).max(1e-9) * 1.05;
            return Some(((cx - half, cx + half), (cy - half, cy + half)));
        }
        if log_y {
            return Some(((x0, x1.max(x0 + 1e-12)), (y0 / 1.5, y1 * 1.5)));
        }
        let (px, py) = (pad(x0, x1), pad(y0, y1));
        Some(((x0 - px, x1 + px), (y0 - py, y1 + py)))
    }

    /// A tick label: plain for moderate magnitudes, scientific otherwise, no trailing zeros.
    fn tick(v: f64) -> String {
        let a = v.abs();
        if v == 0.0 {
            "0".into()
        } else if !(1e-2..1e4).contains(&a) {
            let s = format!("{v:.1e}");
            s.replace(".0e", "e")
        } else {
            let s = format!("{v:.3}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        }
    }

    /// Draws the series into a PNG at `path`.
    pub fn line_chart(path: &Path, chart: &Chart, series: &[Series]) -> Result<()> {
        register_fonts();
        let err = |e: String| Error::Plot { path: path.to_path_buf(), problem: e };
        let Some(((x0, x1), (y0, y1))) = bounds(series, chart.log_y, chart.equal_axes) else {
            return Err(err("nothing finite to plot".into()));
        };
        let size = if chart.equal_axes { (720, 720) } else { (900, 560) };
        // Draw into a temporary file, then rename: a failed plot never leaves a broken PNG.
        let tmp = hnn_systems::io::temp_path(path).with_extension("png");
        {
            let root = BitMapBackend::new(&tmp, size).into_drawing_area();
            root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
            let mut builder = ChartBuilder::on(&root);
            builder.caption(chart.title, ("sans-serif", 22)).margin(12).x_label_area_size(44).y_label_area_size(74);
            macro_rules! draw {
                ($ctx:expr) => {{
                    let mut ctx = $ctx.map_err(|e| err(e.to_string()))?;
                    ctx.configure_mesh()
                        .x_label_formatter(&|v| tick(*v))
                        .y_label_formatter(&|v| tick(*v))
                        .y_labels(if chart.log_y { 8 } else { 10 })
                        .x_desc(chart.x)
                        .y_desc(chart.y)
                        .label_style(("sans-serif", 14))
                        .light_line_style(RGBColor(235, 235, 235))
                        .draw()
                        .map_err(|e| err(e.to_string()))?;
                    for s in series {
                        let color = PALETTE[s.color % PALETTE.len()];
                        let style = ShapeStyle {
                            color: color.to_rgba(),
                            filled: false,
                            stroke_width: if s.thin { 1 } else { 2 },
                        };
                        // Split at non-finite points so blow-ups do not draw garbage.
                        let mut segments: Vec<Vec<(f64, f64)>> = vec![vec![]];
                        for &(x, y) in &s.points {
                            if x.is_finite() && y.is_finite() && (!chart.log_y || y > 0.0) {
                                segments.last_mut().expect("one").push((x, y));
                            } else if !segments.last().expect("one").is_empty() {
                                segments.push(vec![]);
                            }
                        }
                        let mut first = true;
                        for seg in segments.into_iter().filter(|s| !s.is_empty()) {
                            let drawn = ctx.draw_series(LineSeries::new(seg, style)).map_err(|e| err(e.to_string()))?;
                            if first && !s.label.is_empty() {
                                drawn
                                    .label(s.label.clone())
                                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
                            }
                            first = false;
                        }
                    }
                    ctx.configure_series_labels()
                        .background_style(WHITE.mix(0.85))
                        .border_style(BLACK)
                        .label_font(("sans-serif", 14))
                        .position(SeriesLabelPosition::UpperRight)
                        .draw()
                        .map_err(|e| err(e.to_string()))?;
                }};
            }
            if chart.log_y {
                draw!(builder.build_cartesian_2d(x0..x1, (y0..y1).log_scale()));
            } else {
                draw!(builder.build_cartesian_2d(x0..x1, y0..y1));
            }
            root.present().map_err(|e| err(e.to_string()))?;
        }
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
    }
}
