//! The matrix product every model's tensor ops use ([`matmul`]): on the CPU in f32/f64 it runs
//! hnn's own kernel ([`cpu::matmul`](super::cpu::matmul)) as a differentiable candle op; elsewhere
//! it is candle's `matmul`.
//!
//! Why not candle's: its CPU matmul asks for the thread count on every call, and without
//! `RAYON_NUM_THREADS` in the environment that re-parses `/proc/cpuinfo` each time (measured on
//! trajectory matching through 50 RK4 steps: 3× the run time of the same training with the
//! variable set). A library must not set its caller's environment, so the products of hnn's
//! models do not go through it. Small products run on the calling thread; those of at least
//! [`PARALLEL_MACS`](super::threads::PARALLEL_MACS) multiply–adds use the current rayon pool.

use super::cpu::{matmul_on, Mat, Real};
use super::threads::PARALLEL_MACS;
use crate::error::Result;
use candle_core::{CpuStorage, CustomOp2, Layout, Shape, Tensor};

/// a·b for `[m, k]` and `[k, n]` matrices, differentiable. Other ranks, devices and dtypes go to
/// candle's `matmul` (same result, same errors).
pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let host = a.device().is_cpu()
        && a.rank() == 2
        && b.rank() == 2
        && a.dtype() == b.dtype()
        && matches!(a.dtype(), candle_core::DType::F32 | candle_core::DType::F64)
        && a.dims()[1] == b.dims()[0];
    if host {
        Ok(a.apply_op2(b, HostMatMul)?)
    } else {
        Ok(a.matmul(b)?)
    }
}

/// The candle op behind [`matmul`] on the CPU.
struct HostMatMul;

fn view<'a, T>(data: &'a [T], layout: &Layout) -> Mat<'a, T> {
    let (dims, stride) = (layout.dims(), layout.stride());
    Mat::strided(&data[layout.start_offset()..], dims[0], dims[1], stride[0], stride[1])
}

fn product<T: Real + candle_core::WithDType>(a: &[T], la: &Layout, b: &[T], lb: &Layout) -> (Vec<T>, Shape) {
    let (m, k, n) = (la.dims()[0], la.dims()[1], lb.dims()[1]);
    let mut dst = vec![T::default(); m * n];
    let parallel = m.saturating_mul(n).saturating_mul(k) >= PARALLEL_MACS;
    matmul_on(&mut dst, view(a, la), view(b, lb), false, parallel);
    (dst, Shape::from((m, n)))
}

impl CustomOp2 for HostMatMul {
    fn name(&self) -> &'static str {
        "hnn-matmul"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        match (s1, s2) {
            (CpuStorage::F32(a), CpuStorage::F32(b)) => {
                let (c, shape) = product(a, l1, b, l2);
                Ok((CpuStorage::F32(c), shape))
            }
            (CpuStorage::F64(a), CpuStorage::F64(b)) => {
                let (c, shape) = product(a, l1, b, l2);
                Ok((CpuStorage::F64(c), shape))
            }
            _ => Err(candle_core::Error::Msg("hnn-matmul: f32 or f64 operands of one dtype".into())),
        }
    }

    /// ∂L/∂a = ḡ·bᵀ, ∂L/∂b = aᵀ·ḡ, themselves through [`matmul`].
    fn bwd(
        &self,
        a: &Tensor,
        b: &Tensor,
        _: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let da = matmul(grad, &b.t()?).map_err(candle_core::Error::wrap)?;
        let db = matmul(&a.t()?, grad).map_err(candle_core::Error::wrap)?;
        Ok((Some(da), Some(db)))
    }
}
