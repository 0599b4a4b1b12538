//! The pictures of a pixel run: loss curves, frame MSE, the latent phase portrait, the rollout
//! strip and GIF.

use super::*;
use crate::data::PixelDataset;
use hnn_train::experiment::{color, loss_series};
use hnn_train::plots::{line_chart, Chart, Series};
use hnn_train::{ModelKind, Result};
use std::path::Path;

pub(super) fn draw(
    dir: &Path,
    cfg: &PixelExperiment,
    eval: &PixelDataset,
    outcomes: &[(ModelKind, hnn_train::training::TrainReport, Rollout)],
) -> Result<()> {
    let title = |w: &str| format!("{}: {w}", cfg.name);
    let mut loss = vec![];
    let mut mse = vec![];
    let mut phase = vec![];
    for (kind, report, o) in outcomes {
        loss.extend(loss_series(*kind, report));
        mse.push(Series::new(
            kind.name(),
            o.frame_mse.iter().enumerate().map(|(t, v)| (t as f64, *v)).collect(),
            color(*kind),
        ));
        for (i, path) in o.latent.iter().take(3).enumerate() {
            phase.push(Series {
                label: if i == 0 { format!("{} rollout", kind.name()) } else { String::new() },
                points: path.iter().map(|z| (z[0], z[1])).collect(),
                color: color(*kind),
                thin: false,
            });
        }
        for (i, path) in o.encoded.iter().enumerate() {
            phase.push(Series {
                label: if i == 0 { format!("{}: true frames encoded", kind.name()) } else { String::new() },
                points: path.iter().map(|z| (z[0], z[1])).collect(),
                color: color(*kind),
                thin: true,
            });
        }
    }
    line_chart(
        &dir.join("loss.png"),
        &Chart { title: &title("loss"), x: "step", y: "total loss", log_y: true, equal_axes: false },
        &loss,
    )?;
    line_chart(
        &dir.join("frame_mse.png"),
        &Chart { title: &title("frame MSE along the rollout"), x: "frame", y: "MSE", log_y: true, equal_axes: false },
        &mse,
    )?;
    line_chart(
        &dir.join("latent_phase.png"),
        &Chart { title: &title("latent phase portrait"), x: "z_q", y: "z_p", log_y: false, equal_axes: false },
        &phase,
    )?;
    strip_and_gif(dir, cfg, eval, outcomes)
}

/// A strip (true frames on top, each model's below, every `strip_every` frames) and a GIF.
pub(super) fn strip_and_gif(
    dir: &Path,
    cfg: &PixelExperiment,
    eval: &PixelDataset,
    outcomes: &[(ModelKind, hnn_train::training::TrainReport, Rollout)],
) -> Result<()> {
    let size = cfg.data.renderer.size;
    let truth = eval.frames.get(0)?.to_vec2::<f32>()?;
    let rows: Vec<Vec<Vec<f32>>> =
        std::iter::once(truth).chain(outcomes.iter().map(|(_, _, o)| o.frames[0].clone())).collect();
    let cols: Vec<usize> = (0..=cfg.eval.rollout_steps).step_by(cfg.eval.strip_every).collect();
    crate::frames::write_strip(&dir.join("rollout_strip.png"), &rows, size, &cols)?;
    crate::frames::write_gif(&dir.join("rollout.gif"), &rows, size, cfg.eval.rollout_steps + 1, 50)
}
