//! The one training loop: members step together, each with its own optimizer, sampler, curves,
//! NaN stop, test losses, checkpoint and resume point ([`train_loop`] is it with one member).

use super::config::TrainConfig;
use super::trainer::{RunContext, StopSignal, TrainReport, Trainable};
use crate::checkpoint::{self, ResumeInfo};
use crate::error::{Error, Result};
use crate::model::state::all_finite;
use crate::optim::{Gradients, Optimizer};
use crate::progress::Progress;
use candle_core::Var;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::Path;
use std::time::Instant;

/// The training loop over any [`Trainable`].
pub fn train_loop(
    task: &dyn Trainable,
    cfg: &TrainConfig,
    ctx: &RunContext,
    resume: Option<&Path>,
) -> Result<TrainReport> {
    let mut gradients = |active: &mut [(usize, &mut ChaCha8Rng)]| {
        active.iter_mut().map(|(_, rng)| task.batch_gradients(cfg.batch_size, cfg.input_noise, rng)).collect()
    };
    let mut reports = lockstep(&[task], &mut gradients, cfg, std::slice::from_ref(ctx), &[resume], None, false)?;
    reports.pop().expect("one member")
}

/// One model's run inside [`lockstep`]: what the optimizer update touches (moved to a rayon
/// thread each step) and the rest.
struct Member<'a> {
    task: &'a dyn Trainable,
    ctx: &'a RunContext,
    run: MemberRun,
    /// The first step this call takes (after a resume: the step after the checkpoint's).
    first: usize,
    bar: Progress,
    /// `Some` once the member has stopped: `Ok` at the last step, its error otherwise.
    outcome: Option<Result<()>>,
}

/// A member's optimizer, sampler and curves.
struct MemberRun {
    vars: Vec<(String, Var)>,
    opt: Optimizer,
    rng: ChaCha8Rng,
    report: TrainReport,
}

impl<'a> Member<'a> {
    /// A member at its first step: fresh, or continuing from `resume`'s optimizer sidecar.
    fn start(
        task: &'a dyn Trainable,
        cfg: &TrainConfig,
        ctx: &'a RunContext,
        resume: Option<&Path>,
        show_bar: bool,
    ) -> Result<Self> {
        if let Some(path) = &ctx.checkpoint {
            // Before any step: a checkpoint that cannot be written would leave its sidecar behind.
            if path.is_dir() {
                return Err(Error::checkpoint(
                    path,
                    "is a directory: give a file name for the checkpoint (e.g. DIR/hnn.safetensors)",
                ));
            }
        }
        let vars = task.vars();
        let mut opt = Optimizer::new(cfg.optimizer, vars.clone(), cfg.weight_decay);
        let mut rng = ChaCha8Rng::seed_from_u64(ctx.seed);
        let mut report = TrainReport::default();
        let mut first = 1;
        if let Some(path) = resume {
            let (tensors, info) = checkpoint::load_optimizer(path)?;
            if let Some(step) = checkpoint::stored_step(path)? {
                if step != info.step {
                    return Err(Error::checkpoint(
                        path,
                        format!(
                            "is at step {step} but its optimizer sidecar {} is at step {}: they are from different runs",
                            checkpoint::optimizer_path(path).display(),
                            info.step
                        ),
                    ));
                }
            }
            opt.load_state(tensors, info.step)?;
            rng.set_word_pos(info.rng_word_pos);
            report.train_curve = info.train_curve;
            report.test_curve = info.test_curve;
            first = info.step + 1;
            if info.step > cfg.steps {
                return Err(Error::Config(format!(
                    "checkpoint is at step {}, beyond train.steps = {}",
                    info.step, cfg.steps
                )));
            }
        }
        let bar = Progress::new(ctx.progress && show_bar, &ctx.label, cfg.steps, first - 1);
        Ok(Self { task, ctx, run: MemberRun { vars, opt, rng, report }, first, bar, outcome: None })
    }

    /// The member's report (its wall time the loop's `seconds`), or the error it stopped with
    /// (logged when it stopped alone among `several`).
    fn finish(self, seconds: f64, several: bool) -> Result<TrainReport> {
        self.bar.finish();
        let MemberRun { mut report, .. } = self.run;
        report.seconds = seconds;
        match self.outcome {
            Some(Err(e)) => {
                if several {
                    tracing::warn!(label = %self.ctx.label, "stopped: {e}");
                }
                Err(e)
            }
            _ => Ok(report),
        }
    }

    fn is_active(&self, step: usize) -> bool {
        self.outcome.is_none() && step >= self.first
    }

    /// The test loss and checkpoint after `step`, where due.
    fn after_update(&mut self, step: usize, value: f64, cfg: &TrainConfig) -> Result<()> {
        let run = &mut self.run;
        if step.is_multiple_of(cfg.eval_every) || step == cfg.steps {
            let test = self.task.test_loss()?;
            if test.is_infinite() {
                return Err(diverged(step, "the test loss", cfg));
            }
            run.report.test_curve.push((step, test));
            tracing::debug!(label = %self.ctx.label, step, train = value, test, "evaluation");
        }
        let last = step == cfg.steps;
        if let Some(path) = &self.ctx.checkpoint {
            if last || (cfg.checkpoint_every > 0 && step.is_multiple_of(cfg.checkpoint_every)) {
                if !all_finite(&run.vars)? {
                    return Err(diverged(step, "a weight", cfg));
                }
                save(self.task, &run.opt, &run.rng, &run.report, self.ctx, path, step)?;
            }
        }
        if step.is_multiple_of(10) || last {
            self.bar.update(step, || format!("loss {value:.3e}"));
        }
        Ok(())
    }
}

impl MemberRun {
    /// The optimizer update of `step` from a batch's loss `value` and gradients: a non-finite
    /// loss or gradient norm stops the member.
    fn update(&mut self, step: usize, value: f64, grads: &Gradients, cfg: &TrainConfig) -> Result<()> {
        if !value.is_finite() {
            return Err(diverged(step, "the training loss", cfg));
        }
        let scale = match cfg.grad_clip {
            Some(max) => {
                let norm = self.opt.grad_norm(grads)?;
                if !norm.is_finite() {
                    return Err(diverged(step, "the gradient norm", cfg));
                }
                if norm > max {
                    max / norm
                } else {
                    1.0
                }
            }
            None => 1.0,
        };
        self.opt.step(grads, cfg.schedule.rate(cfg.learning_rate, step, cfg.steps), scale)?;
        self.report.train_curve.push(value);
        self.report.steps_run += 1;
        Ok(())
    }
}

/// Given the active members (index, sampler), the (loss, gradients) of each one's next batch.
pub(super) type StepGradients<'a> = dyn FnMut(&mut [(usize, &mut ChaCha8Rng)]) -> Vec<Result<(f64, Gradients)>> + 'a;

/// The one training loop: members step together, each with its own optimizer, sampler, curves,
/// checkpoint and resume point; `gradients` computes the (loss, gradients) of every active
/// member's next batch, given (member index, its sampler). A member whose step fails stops with
/// its error; the others go on. `bar`: one progress bar for all members (else one each);
/// `parallel`: the optimizer updates on rayon's threads (CPU variables).
pub(super) fn lockstep(
    tasks: &[&dyn Trainable],
    gradients: &mut StepGradients<'_>,
    cfg: &TrainConfig,
    ctxs: &[RunContext],
    resumes: &[Option<&Path>],
    bar: Option<Progress>,
    parallel: bool,
) -> Result<Vec<Result<TrainReport>>> {
    cfg.validate()?;
    let mut members: Vec<Member<'_>> = tasks
        .iter()
        .zip(ctxs)
        .zip(resumes)
        .map(|((task, ctx), resume)| Member::start(*task, cfg, ctx, *resume, bar.is_none()))
        .collect::<Result<_>>()?;
    let first = members.iter().map(|m| m.first).min().unwrap_or(1);
    let started = Instant::now();
    for step in first..=cfg.steps {
        if ctxs.iter().any(|c| c.stop.as_ref().is_some_and(StopSignal::requested)) {
            for m in members.iter_mut().filter(|m| m.outcome.is_none()) {
                let done = step.max(m.first) - 1;
                m.outcome = Some(Err(Error::Interrupted { step: done, steps_run: done + 1 - m.first, of: cfg.steps }));
            }
            break;
        }
        let mut active: Vec<(usize, &mut ChaCha8Rng)> = members
            .iter_mut()
            .enumerate()
            .filter(|(_, m)| m.is_active(step))
            .map(|(i, m)| (i, &mut m.run.rng))
            .collect();
        if active.is_empty() {
            if members.iter().all(|m| m.outcome.is_some()) {
                break;
            }
            continue;
        }
        let order: Vec<usize> = active.iter().map(|(i, _)| *i).collect();
        let results = gradients(&mut active);
        drop(active);
        let mut stepping: Vec<(usize, f64, Gradients)> = vec![];
        for (i, result) in order.into_iter().zip(results) {
            match result {
                Ok((value, grads)) => stepping.push((i, value, grads)),
                Err(e) => members[i].outcome = Some(Err(e)),
            }
        }
        update_side_by_side(&mut members, stepping, step, cfg, parallel);
        if let Some(bar) = &bar {
            if step.is_multiple_of(10) || step == cfg.steps {
                show_mean_loss(bar, &members, step);
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    if let Some(bar) = &bar {
        bar.finish();
    }
    let several = tasks.len() > 1;
    Ok(members.into_iter().map(|m| m.finish(seconds, several)).collect())
}

/// The optimizer updates of `step` for the members in `stepping` (member, loss, gradients), side
/// by side where `parallel` (elementwise: each member's bits do not depend on it), then each
/// one's test loss and checkpoint; a member whose update fails stops with its error.
fn update_side_by_side(
    members: &mut [Member<'_>],
    stepping: Vec<(usize, f64, Gradients)>,
    step: usize,
    cfg: &TrainConfig,
    parallel: bool,
) {
    use rayon::prelude::*;
    let mut runs: Vec<(usize, &mut MemberRun, f64, Gradients)> = vec![];
    let mut slots: Vec<Option<&mut Member<'_>>> = members.iter_mut().map(Some).collect();
    for (i, value, grads) in stepping {
        let m = slots[i].take().expect("each member once");
        runs.push((i, &mut m.run, value, grads));
    }
    let updated: Vec<(usize, f64, Result<()>)> = if !parallel || runs.len() == 1 {
        runs.into_iter().map(|(i, run, v, g)| (i, v, run.update(step, v, &g, cfg))).collect()
    } else {
        runs.into_par_iter().map(|(i, run, v, g)| (i, v, run.update(step, v, &g, cfg))).collect()
    };
    drop(slots);
    for (i, value, result) in updated {
        let member = &mut members[i];
        if let Err(e) = result.and_then(|()| member.after_update(step, value, cfg)) {
            member.outcome = Some(Err(e));
        } else if step == cfg.steps {
            member.outcome = Some(Ok(()));
        }
    }
}

/// The ensemble's one progress bar: the mean last loss of the members still running.
fn show_mean_loss(bar: &Progress, members: &[Member<'_>], step: usize) {
    let live: Vec<f64> = members
        .iter()
        .filter(|m| !matches!(m.outcome, Some(Err(_))))
        .filter_map(|m| m.run.report.train_curve.last().copied())
        .collect();
    let mean = live.iter().sum::<f64>() / live.len().max(1) as f64;
    bar.update(step, || format!("mean loss {mean:.3e}, {} running", live.len()));
}

fn diverged(step: usize, what: &str, cfg: &TrainConfig) -> Error {
    let hint = if cfg.grad_clip.is_none() {
        "; try a lower learning rate or train.grad_clip"
    } else {
        "; try a lower learning rate"
    };
    Error::Diverged { step, what: what.into(), hint: hint.into() }
}

fn save(
    task: &dyn Trainable,
    opt: &Optimizer,
    rng: &ChaCha8Rng,
    report: &TrainReport,
    ctx: &RunContext,
    path: &Path,
    step: usize,
) -> Result<()> {
    let mut info = ctx.info.clone();
    info.step = step;
    info.seed = ctx.seed;
    // Sidecar first: a checkpoint never points at optimizer state older than its weights.
    let (tensors, _) = opt.state()?;
    let resume = ResumeInfo {
        step,
        rng_word_pos: rng.get_word_pos(),
        train_curve: report.train_curve.clone(),
        test_curve: report.test_curve.clone(),
    };
    checkpoint::save_optimizer(path, tensors, &resume)?;
    task.save(&info, path)
}
