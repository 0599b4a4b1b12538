//! Windows of frame pairs: the training and test samples, gathered by offset for the latent
//! horizon.

use crate::data::PixelDataset;
use candle_core::{Device, Tensor};
use hnn_train::Result;

/// Training windows of a split: the frame pairs of its trajectories, flattened to rows, and the
/// rows where a window (the pairs at [`LatentStep::offsets`]) fits in its trajectory.
pub(super) struct Windows {
    /// `[trajectories·(steps + 1), 2·pixels]`.
    pub(super) pairs: Tensor,
    /// Window starts, trajectory by trajectory.
    pub(super) starts: Vec<u32>,
    /// The true states at each start, `[starts, 2]` (f64, CPU).
    pub(super) states: Tensor,
    pub(super) offsets: Vec<usize>,
}

impl Windows {
    pub(super) fn new(
        ds: &PixelDataset,
        start: usize,
        len: usize,
        offsets: Vec<usize>,
        to: impl Fn(Tensor) -> Result<Tensor>,
    ) -> Result<Self> {
        let pairs = ds.pairs(start, len)?; // [len, steps + 1, 2·px]
        let (n, t, w) = pairs.dims3()?;
        let span = offsets.iter().copied().max().unwrap_or(0);
        let per = t.saturating_sub(span);
        let starts: Vec<u32> = (0..n).flat_map(|j| (0..per).map(move |i| (j * t + i) as u32)).collect();
        let states = ds.states.narrow(0, start, len)?.narrow(1, 0, t)?.reshape((n * t, 2))?;
        let index = Tensor::from_slice(&starts, starts.len(), &Device::Cpu)?;
        Ok(Self { pairs: to(pairs.reshape((n * t, w))?)?, states: states.index_select(&index, 0)?, starts, offsets })
    }

    /// The windows starting at `starts` (rows of [`Windows::pairs`]): one tensor per offset.
    pub(super) fn gather(&self, starts: &[u32]) -> Result<Vec<Tensor>> {
        let device = self.pairs.device();
        self.offsets
            .iter()
            .map(|&k| {
                let rows: Vec<u32> = starts.iter().map(|s| s + k as u32).collect();
                Ok(self.pairs.index_select(&Tensor::from_slice(&rows, rows.len(), device)?, 0)?)
            })
            .collect()
    }

    /// The first frame pair of every window, `[starts, 2·pixels]`.
    pub(super) fn first_pairs(&self) -> Result<Tensor> {
        let index = Tensor::from_slice(&self.starts, self.starts.len(), self.pairs.device())?;
        Ok(self.pairs.index_select(&index, 0)?)
    }
}
