//! Vectorizable tanh for the CPU, f32 and f64, as a candle custom op.
//!
//! candle's CPU `tanh` calls libm's scalar `tanhf`/`tanh` per element (vectorized only with MKL
//! or Accelerate); in a 200-wide HNN it was the largest cost after the matmuls (f32 training;
//! f64 evaluation rollouts). Both versions here are branch-free so the compiler vectorizes their
//! loops:
//! - f32: the rational approximation of Eigen's `ptanh` (odd degree-13 numerator, even degree-6
//!   denominator, inputs clamped to ±7.905). Against f64 tanh over all of f32: ≤ 7.5 ulp (largest
//!   near |x| ≈ 5.8, where tanh ≈ 1 − 4·10⁻⁵; mean < 1 ulp; libm: ≤ 1.4); |x| < 4·10⁻⁴ returns x.
//! - f64: Cephes' scheme. For |x| < 0.625 the odd rational x + x³·P(x²)/Q(x²); above,
//!   1 − 2/(e^{2|x|} + 1) with e^y by Cody–Waite reduction (y = n·ln 2 + r) and Cephes' Padé
//!   form of e^r, 2ⁿ put together from bits. ≤ 2 ulp against libm on a dense sweep (the test
//!   allows 3).
//!
//! Both: tanh(±∞) = ±1, NaN → NaN, ±0 → ±0. Used for f32 and f64 on the CPU; other dtypes and
//! devices use candle's own tanh.

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Shape, Tensor};

const CLAMP: f32 = 7.905_311;
const A: [f32; 7] =
    [4.893_524_6e-3, 6.372_619_3e-4, 1.485_722_4e-5, 5.122_297e-8, -8.604_672e-11, 2.000_188e-13, -2.760_768_5e-16];
const B: [f32; 4] = [4.893_525e-3, 2.268_434_6e-3, 1.185_347e-4, 1.198_258_4e-6];

/// tanh(x) for one f32 (see the module docs for accuracy).
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    let c = x.clamp(-CLAMP, CLAMP);
    let x2 = c * c;
    let mut p = A[6];
    p = p * x2 + A[5];
    p = p * x2 + A[4];
    p = p * x2 + A[3];
    p = p * x2 + A[2];
    p = p * x2 + A[1];
    p = p * x2 + A[0];
    p *= c;
    let mut q = B[3];
    q = q * x2 + B[2];
    q = q * x2 + B[1];
    q = q * x2 + B[0];
    let r = (p / q).clamp(-1.0, 1.0);
    // NaN stays NaN (clamp would keep it too, but be explicit); tiny inputs are their own tanh.
    if x.is_nan() || x.abs() < 4e-4 {
        x
    } else {
        r
    }
}

/// Cephes' tanh numerator and denominator (the latter monic) for |x| < 0.625, in x².
const P64: [f64; 3] = [-9.643_991_794_250_523e-1, -9.928_772_310_019_186e1, -1.614_687_684_417_084_5e3];
const Q64: [f64; 3] = [1.128_116_784_916_329_3e2, 2.235_488_390_601_004_6e3, 4.844_063_053_251_255e3];
/// Cephes' Padé form of e^r on |r| ≤ ln2/2: e^r = 1 + 2·r·P(r²)/(Q(r²) − r·P(r²)).
const EP: [f64; 3] = [1.261_771_930_748_105_9e-4, 3.029_944_077_074_419_6e-2, 9.999_999_999_999_999e-1];
const EQ: [f64; 4] = [3.001_985_051_386_644_5e-6, 2.524_483_403_496_841e-3, 2.272_655_482_081_550_3e-1, 2.0];
/// ln 2 split so that n·LN2_HI is exact for the n used here.
const LN2_HI: f64 = 6.931_457_519_531_25e-1;
const LN2_LO: f64 = 1.428_606_820_309_417_2e-6;
/// 1.5·2⁵²: adding it rounds to an integer, which then sits in the low mantissa bits.
const ROUND: f64 = 6_755_399_441_055_744.0;

/// e^y for 0 ≤ y ≤ 40 (all tanh needs), branch-free.
#[inline(always)]
fn exp_for_tanh(y: f64) -> f64 {
    let shifted = y * std::f64::consts::LOG2_E + ROUND;
    let n = shifted - ROUND;
    let r = (y - n * LN2_HI) - n * LN2_LO;
    let rr = r * r;
    let px = r * ((EP[0] * rr + EP[1]) * rr + EP[2]);
    let q = ((EQ[0] * rr + EQ[1]) * rr + EQ[2]) * rr + EQ[3];
    let er = 1.0 + 2.0 * (px / (q - px));
    // 2ⁿ: the low bits of `shifted` hold n (0 ≤ n ≤ 58), so n + 1023 is the biased exponent.
    let two_n = f64::from_bits(shifted.to_bits().wrapping_add(1023) << 52);
    er * two_n
}

/// tanh(x) for one f64 (see the module docs for accuracy).
#[inline(always)]
pub fn tanh_f64(x: f64) -> f64 {
    // |x| ≥ 20: tanh rounds to ±1; the clamp keeps e^{2|x|} finite (NaN is restored below).
    let a = x.abs().min(20.0);
    let large = (1.0 - 2.0 / (exp_for_tanh(2.0 * a) + 1.0)).copysign(x);
    let z = x * x;
    let small = x + x * z * (((P64[0] * z + P64[1]) * z + P64[2]) / (((z + Q64[0]) * z + Q64[1]) * z + Q64[2]));
    let r = if a < 0.625 { small } else { large };
    // Below 10⁻⁹, tanh(x) = x to rounding; returning x keeps the sign of −0.
    if x.is_nan() || a < 1e-9 {
        x
    } else {
        r
    }
}

/// A float type with a vectorizable tanh.
pub trait FastTanh: Copy {
    /// tanh(x).
    fn fast_tanh(self) -> Self;
}

impl FastTanh for f32 {
    #[inline(always)]
    fn fast_tanh(self) -> Self {
        tanh_f32(self)
    }
}

impl FastTanh for f64 {
    #[inline(always)]
    fn fast_tanh(self) -> Self {
        tanh_f64(self)
    }
}

/// tanh over a slice, written for auto-vectorization.
pub fn tanh_slice<T: FastTanh>(src: &[T], dst: &mut [T]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = s.fast_tanh();
    }
}

/// The candle op: forward on contiguous f32/f64 CPU storage; backward 1 − tanh².
struct FastTanhOp;

impl CustomOp1 for FastTanhOp {
    fn name(&self) -> &'static str {
        "hnn-fast-tanh"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("hnn-fast-tanh: contiguous input only")
        };
        let out = match storage {
            CpuStorage::F32(values) => CpuStorage::F32(map(&values[start..end])),
            CpuStorage::F64(values) => CpuStorage::F64(map(&values[start..end])),
            _ => candle_core::bail!("hnn-fast-tanh: f32 or f64 only"),
        };
        Ok((out, layout.shape().clone()))
    }

    fn bwd(&self, _arg: &Tensor, res: &Tensor, grad_res: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some((grad_res * (1.0 - res.sqr()?)?)?))
    }
}

fn map<T: FastTanh + Default>(src: &[T]) -> Vec<T> {
    let mut out = vec![T::default(); src.len()];
    tanh_slice(src, &mut out);
    out
}

/// tanh of a tensor: the fast op for f32 and f64 on the CPU, candle's tanh otherwise.
pub fn tanh(u: &Tensor) -> candle_core::Result<Tensor> {
    if u.device().is_cpu() && matches!(u.dtype(), DType::F32 | DType::F64) {
        u.contiguous()?.apply_op1(FastTanhOp)
    } else {
        u.tanh()
    }
}
