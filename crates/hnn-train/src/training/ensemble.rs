//! Many models trained as one ensemble: each step's batches drawn side by side, the gradients
//! of every member an MLP kernel computes from one kernel call, the others side by side, then
//! the one loop (`lockstep`).

use super::config::TrainConfig;
use super::data::TrainData;
use super::lockstep::lockstep;
use super::train;
use super::trainer::{FieldTrainer, RunContext, TrainReport, Trainable};
use crate::error::{Error, Result};
use crate::model::ModelState;
use crate::optim::Gradients;
use crate::progress::Progress;
use candle_core::Tensor;
use hnn_core::exec;
use rand_chacha::ChaCha8Rng;
use std::path::Path;

/// Trains several models as one ensemble: the same settings, each model with its own data,
/// initialisation, sampler seed, checkpoint and resume point (`ctxs[i]`, `resumes[i]`), all
/// stepping in lockstep. Each step's gradients of every model that an MLP kernel computes come
/// from one call of [`exec::ensemble_gradient_matching`]; the others are computed side by side
/// on rayon's threads; the optimizer updates run side by side too.
///
/// Every member's weights, curves and checkpoints are bit for bit those of its own [`train`]
/// (same thread count; tested in f64 and f32), and an ensemble of one is [`train`]. A member
/// that diverges, or whose step fails, stops with its error in its slot while the others carry
/// on; the outer error is for settings that stop all (and for a resume point that cannot be
/// used, found before any step).
pub fn train_ensemble(
    states: &[&ModelState],
    data: &[&TrainData],
    cfg: &TrainConfig,
    ctxs: &[RunContext],
    resumes: &[Option<&Path>],
) -> Result<Vec<Result<TrainReport>>> {
    cfg.validate()?;
    let n = states.len();
    if data.len() != n || ctxs.len() != n || resumes.len() != n {
        return Err(Error::Config(format!(
            "an ensemble of {n} models needs as many datasets, run contexts and resume points, got {}, {} and {}",
            data.len(),
            ctxs.len(),
            resumes.len()
        )));
    }
    if n == 1 {
        // An ensemble of one is the single run, thread budget included.
        return Ok(vec![train(states[0], data[0], cfg, &ctxs[0], resumes[0])]);
    }
    let trainers: Vec<FieldTrainer<'_>> =
        states.iter().zip(data).map(|(s, d)| FieldTrainer::new(s, d, &cfg.objective)).collect::<Result<_>>()?;
    let tasks: Vec<&dyn Trainable> = trainers.iter().map(|t| t as &dyn Trainable).collect();
    // On other devices the members queue their kernels one after another.
    let cpu = states.iter().all(|s| s.device.is_cpu());
    // Models without a kernel build autograd graphs, deep ones for trajectory matching: their
    // workers get the large stack that `threads::run_sized` gives a single run.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(rayon::current_num_threads())
        .stack_size(hnn_core::exec::threads::STACK_BYTES)
        .build()
        .map_err(|e| Error::Threads(format!("cannot start the ensemble's threads: {e}")))?;
    let mut gradients = |active: &mut [(usize, &mut ChaCha8Rng)]| -> Vec<Result<(f64, Gradients)>> {
        use rayon::prelude::*;
        // Each member draws with its own sampler: side by side, the same draws.
        let draw = |(i, rng): &mut (usize, &mut ChaCha8Rng)| trainers[*i].draw(cfg.batch_size, cfg.input_noise, rng);
        let batches: Vec<Result<(Tensor, Tensor)>> =
            if cpu { active.par_iter_mut().map(draw).collect() } else { active.iter_mut().map(draw).collect() };
        ensemble_gradients(&trainers, active, batches, cpu.then_some(&pool))
    };
    let bar = Some(Progress::new(ctxs.iter().any(|c| c.progress), &format!("{n} models"), cfg.steps, 0));
    lockstep(&tasks, &mut gradients, cfg, ctxs, resumes, bar, cpu)
}

/// The gradients of each active member's batch: members with a kernel in one
/// [`exec::ensemble_gradient_matching`] call, the others side by side in `pool` (one after
/// another without one).
fn ensemble_gradients(
    trainers: &[FieldTrainer<'_>],
    active: &[(usize, &mut ChaCha8Rng)],
    batches: Vec<Result<(Tensor, Tensor)>>,
    pool: Option<&rayon::ThreadPool>,
) -> Vec<Result<(f64, Gradients)>> {
    use rayon::prelude::*;
    let mut out: Vec<Option<Result<(f64, Gradients)>>> = (0..active.len()).map(|_| None).collect();
    // A failed draw is that member's answer, its error kept as it is.
    let batches: Vec<Option<(Tensor, Tensor)>> =
        batches.into_iter().enumerate().map(|(k, batch)| batch.map_err(|e| out[k] = Some(Err(e))).ok()).collect();
    let mut fused = vec![];
    for (k, ((i, _), batch)) in active.iter().zip(&batches).enumerate() {
        if let Some((input, target)) = batch {
            if trainers[*i].is_fused() {
                let network = trainers[*i].state.model.network().expect("a fused model is an MLP field");
                fused.push((k, (network, input, target)));
            }
        }
    }
    let members: Vec<_> = fused.iter().map(|(_, m)| *m).collect();
    match exec::ensemble_gradient_matching(&members) {
        Ok(Some(all)) => {
            for ((k, _), g) in fused.iter().zip(all) {
                out[*k] = Some(Ok(Gradients::fused(g)));
            }
        }
        Ok(None) => {} // Computed one by one below.
        Err(e) => {
            let message = e.to_string();
            for (k, _) in &fused {
                out[*k] = Some(Err(Error::Kernel(message.clone())));
            }
        }
    }
    let rest: Vec<usize> = (0..active.len()).filter(|k| out[*k].is_none()).collect();
    let one = |&k: &usize| {
        let (input, target) = batches[k].as_ref().expect("failed draws are answered above");
        trainers[active[k].0].gradients(input, target)
    };
    let computed: Vec<Result<(f64, Gradients)>> = match pool {
        Some(pool) => pool.install(|| rest.par_iter().map(one).collect()),
        None => rest.iter().map(one).collect(),
    };
    for (k, g) in rest.into_iter().zip(computed) {
        out[k] = Some(g);
    }
    out.into_iter().map(|g| g.expect("every member answered")).collect()
}
