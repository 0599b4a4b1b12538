//! Training: gradient matching and trajectory matching, with mini-batches, Adam/AdamW, a
//! learning-rate schedule, gradient clipping, optional input noise, periodic test loss,
//! atomic checkpoints, a stop with a clear error on NaN/Inf, and exact resumption; for one
//! model ([`train`], [`train_loop`]) or an ensemble of many in lockstep ([`train_ensemble`]),
//! through one loop. One job per module:
//!
//! - [`config`]: the `[train]` table ([`TrainConfig`], [`Objective`], [`Backprop`], [`Schedule`]);
//! - [`data`]: the one shape of training data ([`TrainData`] of [`Transitions`]) and batch draws;
//! - [`loss`]: the prediction by objective and its losses ([`Loss`]);
//! - [`trainer`]: what the loop trains ([`Trainable`], [`FieldTrainer`]), a run's
//!   [`RunContext`] and [`TrainReport`];
//! - [`ensemble`]: many models in one step ([`train_ensemble`]);
//! - [`lockstep`]: the loop itself ([`train_loop`]), with resume and saving.

pub mod config;
pub mod data;
pub mod ensemble;
pub mod lockstep;
pub mod loss;
pub mod trainer;

pub use config::{Backprop, Objective, Schedule, TrainConfig};
pub use data::{sample_indices, TrainData, Transitions};
pub use ensemble::train_ensemble;
pub use lockstep::train_loop;
pub use loss::Loss;
pub use trainer::{FieldTrainer, RunContext, StopSignal, TrainReport, Trainable};

use crate::error::Result;
use crate::model::ModelState;
use std::path::Path;

/// Trains `state` in place. With `resume`, continues from that checkpoint's optimizer sidecar
/// (the caller has loaded its weights into `state`) and ends where an uninterrupted run would.
pub fn train(
    state: &ModelState,
    data: &TrainData,
    cfg: &TrainConfig,
    ctx: &RunContext,
    resume: Option<&Path>,
) -> Result<TrainReport> {
    cfg.validate()?;
    if FieldTrainer::new(state, data, &cfg.objective)?.is_fused() {
        // The fused kernel spreads each batch over rayon's threads itself.
        return train_loop(&FieldTrainer::new(state, data, &cfg.objective)?, cfg, ctx, resume);
    }
    let rows = if cfg.batch_size == 0 { data.train.len() } else { cfg.batch_size.min(data.train.len()) };
    hnn_core::exec::threads::run_sized(&state.device, rows, state.spec.widest(), || {
        train_loop(&FieldTrainer::new(state, data, &cfg.objective)?, cfg, ctx, resume)
    })
}
