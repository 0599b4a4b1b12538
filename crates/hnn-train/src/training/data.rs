//! The one shape of training data: [`Transitions`] (input, target) for both splits, with the
//! sampling interval where the targets are later states, and the mini-batch draw.

use super::config::Objective;
use crate::error::{Error, Result};
use candle_core::{DType, Device, Tensor};
use hnn_systems::{Dataset, Split};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// Inputs and the targets a model is fitted to, row by row: a state and its time derivative
/// (gradient matching), or a state and the one observed an interval later (trajectory matching).
#[derive(Debug, Clone)]
pub struct Transitions {
    /// Input states, `[n, 2·dof]`.
    pub input: Tensor,
    /// Targets, `[n, 2·dof]`.
    pub target: Tensor,
}

impl Transitions {
    /// The number of rows.
    pub fn len(&self) -> usize {
        self.input.dims()[0]
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held by the two tensors.
    pub fn bytes(&self) -> usize {
        [&self.input, &self.target].iter().map(|t| t.elem_count() * t.dtype().size_in_bytes()).sum()
    }

    /// Gradient-matching pairs (z, ż) of a split.
    pub fn derivatives(split: &Split) -> Self {
        Self { input: split.z.clone(), target: split.dz.clone() }
    }

    /// Consecutive states of a split made of whole trajectories of `length` points, in `dtype`
    /// on `device`.
    fn consecutive(split: &Split, length: usize, dtype: DType, device: &Device) -> Result<Self> {
        let (n, width) = split.z.dims2()?;
        if n % length != 0 {
            return Err(Error::Data(format!("{n} samples are not whole trajectories of {length} points")));
        }
        if length < 2 {
            return Err(Error::Data(format!(
                "trajectories of {length} point make no transitions: trajectory matching needs at least 2"
            )));
        }
        if n == 0 {
            // candle's strided copy of an empty narrowed view panics: build the empty split directly.
            let empty = Tensor::zeros((0, width), dtype, device)?;
            return Ok(Self { input: empty.clone(), target: empty });
        }
        let z = split.z.reshape((n / length, length, width))?;
        let flat = |t: Tensor| -> Result<Tensor> {
            Ok(t.reshape(((n / length) * (length - 1), width))?.to_dtype(dtype)?.to_device(device)?)
        };
        Ok(Self { input: flat(z.narrow(1, 0, length - 1)?)?, target: flat(z.narrow(1, 1, length - 1)?)? })
    }
}

/// Training data, on the training device and dtype: the same shape for every objective.
#[derive(Debug, Clone)]
pub struct TrainData {
    /// The rows fitted.
    pub train: Transitions,
    /// The held-out rows.
    pub test: Transitions,
    /// The time between input and target (trajectory matching); `None`: targets are ż.
    pub interval: Option<f64>,
}

impl TrainData {
    /// Prepares a dataset for an objective.
    pub fn new(ds: &Dataset, objective: &Objective, dtype: DType, device: &Device) -> Result<Self> {
        if ds.train.is_empty() {
            return Err(Error::Data(format!(
                "the training set is empty ({} training and {} test samples): nothing to fit",
                ds.train.len(),
                ds.test.len()
            )));
        }
        match objective {
            Objective::Gradient {} => Ok(TrainData {
                train: Transitions::derivatives(&ds.train.to(dtype, device)?),
                test: Transitions::derivatives(&ds.test.to(dtype, device)?),
                interval: None,
            }),
            Objective::Trajectory { .. } => {
                let (Some(length), Some(dt)) = (ds.meta.trajectory_length, ds.meta.dt) else {
                    return Err(Error::Data(
                        "trajectory matching needs data made of whole evenly sampled trajectories (generated data)"
                            .into(),
                    ));
                };
                Ok(TrainData {
                    train: Transitions::consecutive(&ds.train, length, dtype, device)?,
                    test: Transitions::consecutive(&ds.test, length, dtype, device)?,
                    interval: Some(dt),
                })
            }
        }
    }

    /// Gradient-matching data from (z, ż) splits already on the training device and dtype.
    pub fn derivatives(train: &Split, test: &Split) -> Self {
        Self { train: Transitions::derivatives(train), test: Transitions::derivatives(test), interval: None }
    }

    /// The held-out inputs (the training ones if nothing is held out).
    pub fn held_out_states(&self) -> &Tensor {
        if self.test.is_empty() {
            &self.train.input
        } else {
            &self.test.input
        }
    }

    /// Bytes held by both splits.
    pub fn bytes(&self) -> usize {
        self.train.bytes() + self.test.bytes()
    }

    /// One mini-batch (input, target) of `size` training rows drawn with `rng`; all of them, in
    /// order and without a draw, when `size` is 0 or covers the split.
    pub(crate) fn batch(&self, size: usize, rng: &mut ChaCha8Rng) -> Result<(Tensor, Tensor)> {
        let Transitions { input, target } = &self.train;
        if size == 0 || size >= self.train.len() {
            return Ok((input.clone(), target.clone()));
        }
        let chosen = sample_indices(input.dims()[0], size, rng);
        let idx = Tensor::from_slice(&chosen, chosen.len(), input.device())?;
        Ok((input.index_select(&idx, 0)?, target.index_select(&idx, 0)?))
    }
}

/// `size` distinct indices out of `n`, drawn with `rng` (all of them, in order, if size ≥ n).
pub fn sample_indices(n: usize, size: usize, rng: &mut ChaCha8Rng) -> Vec<u32> {
    let mut idx: Vec<u32> = (0..n as u32).collect();
    if size >= n {
        return idx;
    }
    let (chosen, _) = rand::seq::SliceRandom::partial_shuffle(idx.as_mut_slice(), rng, size);
    chosen.to_vec()
}

/// `input` plus Gaussian noise of std `std` drawn with `rng` (in f64, then in the input's dtype).
pub(crate) fn add_noise(input: &Tensor, std: f64, rng: &mut ChaCha8Rng) -> Result<Tensor> {
    let noise: Vec<f64> = (0..input.elem_count()).map(|_| std * rng.sample::<f64, _>(StandardNormal)).collect();
    let noise =
        Tensor::from_vec(noise, input.dims(), &Device::Cpu)?.to_dtype(input.dtype())?.to_device(input.device())?;
    Ok((input + noise)?)
}
