//! What the training loop trains: the [`Trainable`] trait (the state-space models and the
//! pixel autoencoder implement it), [`FieldTrainer`] for a model with its data and objective,
//! and a run's context and report.

use super::config::{Backprop, Objective};
use super::data::{add_noise, TrainData};
use super::loss::Loss;
use crate::checkpoint::{self, TrainingInfo};
use crate::error::Result;
use crate::model::ModelState;
use crate::optim::Gradients;
use candle_core::{Tensor, Var};
use hnn_core::exec;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Where and how a run writes, and what it records.
#[derive(Debug, Clone, Default)]
pub struct RunContext {
    /// Seed of the data sampler (and of the initialisation, done by the caller).
    pub seed: u64,
    /// Checkpoint path; `None` writes nothing.
    pub checkpoint: Option<PathBuf>,
    /// What the checkpoint metadata records.
    pub info: TrainingInfo,
    /// Show a progress bar.
    pub progress: bool,
    /// Label for logs and the progress bar.
    pub label: String,
    /// Asked before every step whether to stop (Ctrl-C from Python, a caller's deadline); a
    /// stopped run ends with [`Error::Interrupted`](crate::Error::Interrupted) and keeps the
    /// weights of its last whole step.
    pub stop: Option<StopSignal>,
}

/// A shared "stop now?" question for a training loop, asked once per step.
#[derive(Clone)]
pub struct StopSignal(std::sync::Arc<dyn Fn() -> bool + Send + Sync>);

impl StopSignal {
    /// A signal that answers with `asks`.
    pub fn new(asks: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        Self(std::sync::Arc::new(asks))
    }

    /// Whether a stop is asked for now.
    pub fn requested(&self) -> bool {
        (self.0)()
    }
}

impl std::fmt::Debug for StopSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StopSignal")
    }
}

impl PartialEq for StopSignal {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

/// What a training run did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TrainReport {
    /// Training (mini-batch) loss of every step.
    pub train_curve: Vec<f64>,
    /// (step, full test loss) at each evaluation.
    pub test_curve: Vec<(usize, f64)>,
    /// Steps taken in this call (excluding resumed ones).
    pub steps_run: usize,
    /// Wall time of this call's steps, seconds.
    pub seconds: f64,
}

impl TrainReport {
    /// Steps per second in this call.
    pub fn steps_per_second(&self) -> f64 {
        self.steps_run as f64 / self.seconds.max(1e-9)
    }
}

/// What the training loop optimizes: the state-space models ([`FieldTrainer`]) and the pixel
/// model implement it, so they share the loop, checkpoints, resumption and NaN handling.
pub trait Trainable {
    /// The trainable variables, sorted by name.
    fn vars(&self) -> Vec<(String, Var)>;
    /// Loss of one mini-batch of `batch_size` samples (0: all), drawn with `rng`, with Gaussian
    /// input noise of std `input_noise`, and its gradients.
    fn batch_gradients(&self, batch_size: usize, input_noise: f64, rng: &mut ChaCha8Rng) -> Result<(f64, Gradients)>;
    /// Loss on the held-out data (NaN when there is none).
    fn test_loss(&self) -> Result<f64>;
    /// Writes the weights with their metadata.
    fn save(&self, info: &TrainingInfo, path: &Path) -> Result<()>;
}

/// A [`ModelState`] with its data and objective, as a [`Trainable`].
pub struct FieldTrainer<'a> {
    pub(super) state: &'a ModelState,
    data: &'a TrainData,
    loss: Loss,
}

impl<'a> FieldTrainer<'a> {
    /// Pairs a model with data under an objective.
    pub fn new(state: &'a ModelState, data: &'a TrainData, objective: &Objective) -> Result<Self> {
        Ok(Self { state, data, loss: Loss::new(objective, data.interval)? })
    }
}

impl FieldTrainer<'_> {
    /// Whether the execution layer computes training steps with a kernel (no autograd graph).
    pub fn is_fused(&self) -> bool {
        let train = &self.data.train;
        self.loss.integrator.is_none()
            && !train.is_empty()
            && hnn_core::exec::has_matching_kernel(self.state.model.network(), train.input.dtype())
    }

    /// One mini-batch (input, target) of `batch_size` samples (0: all) drawn with `rng`, with
    /// Gaussian input noise of std `input_noise`.
    pub(super) fn draw(&self, batch_size: usize, input_noise: f64, rng: &mut ChaCha8Rng) -> Result<(Tensor, Tensor)> {
        let (input, target) = self.data.batch(batch_size, rng)?;
        let input = if input_noise > 0.0 { add_noise(&input, input_noise, rng)? } else { input };
        Ok((input, target))
    }

    /// The loss of a drawn batch and its gradients, by the fastest route the execution layer has.
    pub(super) fn gradients(&self, input: &Tensor, target: &Tensor) -> Result<(f64, Gradients)> {
        if self.loss.integrator.is_none() {
            let model = &self.state.model;
            return Gradients::of_matching(exec::matching_loss(model, model.network(), input, target)?);
        }
        if let (Some((integrator, dt, steps)), Backprop::Reversible) = (&self.loss.integrator, self.loss.backprop) {
            let params: Vec<Var> = self.state.named_vars().into_iter().map(|(_, v)| v).collect();
            let r = hnn_core::integrators::reversible::matching_gradients(
                integrator.as_ref(),
                &self.state.model,
                &params,
                input,
                target,
                *dt,
                *steps,
            )?;
            let grads = r.params.into_iter().map(|(p, g)| (p.id(), g)).collect();
            return Ok((r.loss, Gradients::Direct(grads)));
        }
        Gradients::backward(&self.loss.compute(&self.state.model, input, target)?)
    }
}

impl Trainable for FieldTrainer<'_> {
    fn vars(&self) -> Vec<(String, Var)> {
        self.state.named_vars()
    }
    fn batch_gradients(&self, batch_size: usize, input_noise: f64, rng: &mut ChaCha8Rng) -> Result<(f64, Gradients)> {
        let (input, target) = self.draw(batch_size, input_noise, rng)?;
        self.gradients(&input, &target)
    }
    fn test_loss(&self) -> Result<f64> {
        if self.data.test.is_empty() {
            return Ok(f64::NAN);
        }
        // A detached copy: no autograd graph is recorded, and on the CPU the fused inference
        // kernel evaluates it.
        let frozen = self.state.frozen(self.state.dtype, &self.state.device)?;
        self.loss.full(&frozen, &self.data.test)
    }
    fn save(&self, info: &TrainingInfo, path: &Path) -> Result<()> {
        checkpoint::save(self.state, info, path)
    }
}
