//! Pictures of frame sequences: a PNG strip (rows of sequences, every few frames in columns) and
//! an animated GIF (the rows side by side, one picture per frame). Grey levels in [0, 1]; each
//! pixel drawn as a `SCALE`×`SCALE` block on a dark background. Written atomically. Drawing needs the `plots` feature; without it
//! both writers say so.

use hnn_train::Result;
use std::path::Path;

/// A PNG strip at `path`: one row per sequence of `rows` (`size`×`size` frames), the frames at
/// `columns` left to right.
pub fn write_strip(path: &Path, rows: &[Vec<Vec<f32>>], size: usize, columns: &[usize]) -> Result<()> {
    #[cfg(feature = "plots")]
    {
        draw::write_strip(path, rows, size, columns)
    }
    #[cfg(not(feature = "plots"))]
    {
        let _ = (rows, size, columns);
        Err(no_plots(path))
    }
}

/// An animated GIF at `path`: the sequences of `rows` side by side, `frames` pictures,
/// `delay_ms` apart.
pub fn write_gif(path: &Path, rows: &[Vec<Vec<f32>>], size: usize, frames: usize, delay_ms: u32) -> Result<()> {
    #[cfg(feature = "plots")]
    {
        draw::write_gif(path, rows, size, frames, delay_ms)
    }
    #[cfg(not(feature = "plots"))]
    {
        let _ = (rows, size, frames, delay_ms);
        Err(no_plots(path))
    }
}

#[cfg(not(feature = "plots"))]
fn no_plots(path: &Path) -> hnn_train::Error {
    hnn_train::Error::Plot {
        path: path.to_path_buf(),
        problem: "this build of hnn-pixels has no `plots` feature".into(),
    }
}

/// The drawing, with plotters.
#[cfg(feature = "plots")]
mod draw {
    use hnn_train::{Error, Result};
    use plotters::coord::Shift;
    use plotters::prelude::*;
    use std::path::Path;

    /// Size of one pixel on screen.
    const SCALE: usize = 3;
    /// Background between frames.
    const BACKGROUND: RGBColor = RGBColor(40, 40, 40);

    fn plot_err(path: &Path) -> impl Fn(String) -> Error + '_ {
        move |problem| Error::Plot { path: path.to_path_buf(), problem }
    }

    /// Paints one `size`×`size` frame with its top left corner at (`ox`, `oy`).
    fn paint(
        area: &DrawingArea<BitMapBackend, Shift>,
        frame: &[f32],
        size: usize,
        ox: usize,
        oy: usize,
    ) -> std::result::Result<(), String> {
        for i in 0..size {
            for j in 0..size {
                let v = (frame[i * size + j].clamp(0.0, 1.0) * 255.0) as u8;
                let (x, y) = ((ox + j * SCALE) as i32, (oy + i * SCALE) as i32);
                area.draw(&Rectangle::new([(x, y), (x + SCALE as i32, y + SCALE as i32)], RGBColor(v, v, v).filled()))
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }

    /// Draws with `draw` into a temporary file of the same kind beside `path`, then renames it into
    /// place: a failed drawing never leaves a broken picture or destroys an older one.
    fn atomically(path: &Path, ext: &str, draw: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
        let tmp = hnn_systems::io::temp_path(path).with_extension(ext);
        if let Err(e) = draw(&tmp) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
    }

    fn check(path: &Path, rows: &[Vec<Vec<f32>>], size: usize, times: impl Iterator<Item = usize>) -> Result<()> {
        let max = times.max().unwrap_or(0);
        for row in rows {
            if row.len() <= max || row.iter().any(|f| f.len() != size * size) {
                return Err(plot_err(path)(format!("every row needs frames 0..={max} of {size}×{size} pixels")));
            }
        }
        Ok(())
    }

    /// A PNG of `rows` (one sequence per row) at the frame indices `columns`.
    pub(super) fn write_strip(path: &Path, rows: &[Vec<Vec<f32>>], size: usize, columns: &[usize]) -> Result<()> {
        check(path, rows, size, columns.iter().copied())?;
        let cell = (size + 2) * SCALE;
        let err = plot_err(path);
        atomically(path, "png", |tmp| {
            let area = BitMapBackend::new(tmp, ((columns.len() * cell) as u32, (rows.len() * cell) as u32))
                .into_drawing_area();
            area.fill(&BACKGROUND).map_err(|e| err(e.to_string()))?;
            for (r, frames) in rows.iter().enumerate() {
                for (c, &t) in columns.iter().enumerate() {
                    paint(&area, &frames[t], size, c * cell + SCALE, r * cell + SCALE).map_err(&err)?;
                }
            }
            area.present().map_err(|e| err(e.to_string()))
        })
    }

    /// An animated GIF of `frames` pictures, `rows` side by side, `delay_ms` per picture.
    pub(super) fn write_gif(
        path: &Path,
        rows: &[Vec<Vec<f32>>],
        size: usize,
        frames: usize,
        delay_ms: u32,
    ) -> Result<()> {
        check(path, rows, size, 0..frames)?;
        let cell = (size + 2) * SCALE;
        let err = plot_err(path);
        atomically(path, "gif", |tmp| {
            let area = BitMapBackend::gif(tmp, ((rows.len() * cell) as u32, cell as u32), delay_ms)
                .map_err(|e| err(e.to_string()))?
                .into_drawing_area();
            for t in 0..frames {
                area.fill(&BACKGROUND).map_err(|e| err(e.to_string()))?;
                for (r, seq) in rows.iter().enumerate() {
                    paint(&area, &seq[t], size, r * cell + SCALE, SCALE).map_err(&err)?;
                }
                area.present().map_err(|e| err(e.to_string()))?;
            }
            Ok(())
        })
    }
}
