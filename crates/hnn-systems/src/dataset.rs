//! In-memory datasets of (z, ż) pairs with a train/test split, metadata, and batching.

use crate::error::{Error, Result};
use candle_core::{DType, Device, Tensor};
use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The state layout every hnn file declares: coordinates first, then momenta.
pub const LAYOUT: &str = "q,p";

/// Version of the dataset file format.
pub const FORMAT_VERSION: u32 = 1;

/// States and their time derivatives, `z` and `dz` both `[N, 2n]` (f64, CPU), with the times
/// they were sampled at where the data are recordings (`[N]`, f64, CPU).
#[derive(Debug, Clone)]
pub struct Split {
    /// States z = (q, p).
    pub z: Tensor,
    /// Time derivatives ż.
    pub dz: Tensor,
    /// Sample times, when known (recordings and trajectories; not generated pairs).
    pub t: Option<Tensor>,
}

impl Split {
    /// A split from row-major f64 data of `width` columns.
    pub fn from_rows(z: Vec<f64>, dz: Vec<f64>, width: usize) -> Result<Self> {
        if width == 0 || !z.len().is_multiple_of(width) || z.len() != dz.len() {
            return Err(Error::InvalidSetting(format!(
                "states ({} numbers) and derivatives ({} numbers) must both be N × {width}",
                z.len(),
                dz.len()
            )));
        }
        let n = z.len() / width;
        Ok(Self {
            z: Tensor::from_vec(z, (n, width), &Device::Cpu)?,
            dz: Tensor::from_vec(dz, (n, width), &Device::Cpu)?,
            t: None,
        })
    }

    /// The same split with sample times `t` (one per row).
    pub fn with_times(mut self, t: Vec<f64>) -> Result<Self> {
        if t.len() != self.len() {
            return Err(Error::InvalidSetting(format!("{} times for {} samples", t.len(), self.len())));
        }
        let n = t.len();
        self.t = Some(Tensor::from_vec(t, n, &Device::Cpu)?);
        Ok(self)
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.z.dims()[0]
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Both tensors converted to `dtype` on `device`.
    pub fn to(&self, dtype: DType, device: &Device) -> Result<Split> {
        Ok(Split {
            z: self.z.to_dtype(dtype)?.to_device(device)?,
            dz: self.dz.to_dtype(dtype)?.to_device(device)?,
            t: self.t.clone(),
        })
    }

    /// The samples at `indices`.
    pub fn select(&self, indices: &[u32]) -> Result<Split> {
        let idx = Tensor::from_slice(indices, indices.len(), self.z.device())?;
        let t = match &self.t {
            Some(t) => Some(t.index_select(&idx.to_device(t.device())?, 0)?),
            None => None,
        };
        Ok(Split { z: self.z.index_select(&idx, 0)?, dz: self.dz.index_select(&idx, 0)?, t })
    }

    /// A random mini-batch of `size` distinct samples (the reference two-body training draws
    /// one per step); the whole split if `size` ≥ its length.
    pub fn random_batch(&self, size: usize, rng: &mut impl Rng) -> Result<Split> {
        if size >= self.len() {
            return Ok(self.clone());
        }
        let mut idx: Vec<u32> = (0..self.len() as u32).collect();
        let (chosen, _) = idx.partial_shuffle(rng, size);
        self.select(chosen)
    }

    /// One epoch of shuffled mini-batches covering every sample once (the last may be short).
    pub fn epoch_batches(&self, size: usize, rng: &mut impl Rng) -> Result<Vec<Split>> {
        if size == 0 {
            return Err(Error::InvalidSetting("batch size must be positive".into()));
        }
        let mut idx: Vec<u32> = (0..self.len() as u32).collect();
        idx.shuffle(rng);
        idx.chunks(size).map(|c| self.select(c)).collect()
    }
}

/// What a dataset is: stored as JSON in every dataset file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetMeta {
    /// The system's name (e.g. `two_body`).
    pub system: String,
    /// Degrees of freedom n (states have 2n columns).
    pub dof: usize,
    /// Always [`LAYOUT`] (`"q,p"`).
    pub layout: String,
    /// Sampling interval of the trajectories, when the data are evenly sampled trajectories.
    pub dt: Option<f64>,
    /// Points per trajectory, when both splits hold whole consecutive trajectories.
    pub trajectory_length: Option<usize>,
    /// The generator's seed, if generated.
    pub seed: Option<u64>,
    /// The generator's settings (or the source of measured data).
    pub settings: serde_json::Value,
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
}

impl DatasetMeta {
    /// Metadata for a system of `dof` degrees of freedom; other fields empty.
    pub fn new(system: impl Into<String>, dof: usize) -> Self {
        Self {
            system: system.into(),
            dof,
            layout: LAYOUT.into(),
            dt: None,
            trajectory_length: None,
            seed: None,
            settings: serde_json::Value::Null,
            format_version: FORMAT_VERSION,
        }
    }
}

/// A dataset: train and test splits of (z, ż) and what they are.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Training samples.
    pub train: Split,
    /// Held-out samples.
    pub test: Split,
    /// Metadata.
    pub meta: DatasetMeta,
}

impl Dataset {
    /// Checks shapes, layout and values; `origin` names the source in errors.
    pub fn validate(&self, origin: &str) -> Result<()> {
        let bad = |p: String| Error::bad_file(origin, p);
        if self.meta.format_version != FORMAT_VERSION {
            return Err(bad(format!(
                "meta.format_version = {} is not a version this hnn reads (it reads {FORMAT_VERSION}); the file is from \
                 another version of hnn: regenerate it with `hnn data`, or read it with the hnn that wrote it",
                self.meta.format_version
            )));
        }
        if self.meta.layout != LAYOUT {
            return Err(bad(format!("state layout `{}` is not supported (expected \"{LAYOUT}\")", self.meta.layout)));
        }
        if self.meta.dof == 0 {
            return Err(bad("dof must be at least 1".into()));
        }
        let width = 2 * self.meta.dof;
        for (name, split) in [("train", &self.train), ("test", &self.test)] {
            for (what, t) in [("z", &split.z), ("dz", &split.dz)] {
                let dims = t.dims();
                if dims.len() != 2 || dims[1] != width {
                    return Err(bad(format!(
                        "{name}_{what} has shape {dims:?}, expected [N, {width}] for dof {}",
                        self.meta.dof
                    )));
                }
                let values: Vec<f64> = t.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?;
                if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                    let why = if what == "dz" {
                        " (where the states are finite, their finite differences overflowed: a huge value in the \
                         data, or two samples too close in time)"
                    } else {
                        ""
                    };
                    return Err(bad(format!(
                        "{name}_{what} holds a non-finite value (NaN or Inf) in row {}{why}",
                        i / width
                    )));
                }
            }
            if split.z.dims()[0] != split.dz.dims()[0] {
                return Err(bad(format!(
                    "{name}_z has {} rows but {name}_dz has {}",
                    split.z.dims()[0],
                    split.dz.dims()[0]
                )));
            }
        }
        Ok(())
    }

    /// Builds a dataset from (z, ż) pairs, `[N, 2n]` row-major, holding out the last
    /// `test_fraction` of the rows. (Trajectories, files and tensors: [`crate::import`].)
    pub fn from_pairs(meta: DatasetMeta, z: Vec<f64>, dz: Vec<f64>, test_fraction: f64) -> Result<Self> {
        let width = 2 * meta.dof;
        let all = Split::from_rows(z, dz, width)?;
        let (train, test) = split_rows(&all, test_fraction, false)?;
        let ds = Dataset { train, test, meta };
        ds.validate("(z, ż) pairs")?;
        Ok(ds)
    }
}

/// Splits rows into (train, test): `floor(N·test_fraction)` test rows, taken first when
/// `test_first` (the reference orbit tasks) and last otherwise (spring, pendulum, real data).
pub fn split_rows(all: &Split, test_fraction: f64, test_first: bool) -> Result<(Split, Split)> {
    if !(0.0..1.0).contains(&test_fraction) {
        return Err(Error::InvalidSetting(format!("test_fraction must be in [0, 1), got {test_fraction}")));
    }
    let n = all.len();
    let n_test = (n as f64 * test_fraction).floor() as usize;
    let take = |start: usize, len: usize| -> Result<Split> {
        let t = match &all.t {
            Some(t) => Some(t.narrow(0, start, len)?),
            None => None,
        };
        Ok(Split { z: all.z.narrow(0, start, len)?, dz: all.dz.narrow(0, start, len)?, t })
    };
    if test_first {
        Ok((take(n_test, n - n_test)?, take(0, n_test)?))
    } else {
        Ok((take(0, n - n_test)?, take(n - n_test, n_test)?))
    }
}
