//! The float types the CPU kernels run in, and the SIMD dispatch every kernel loop goes through.

use crate::activation::Elementwise;
use std::convert::Infallible;
use std::ops::{Add, AddAssign, Mul, Neg, Sub};

/// The float types the kernels run in (f32 and f64): arithmetic, conversions, and the
/// activation primitives of [`Elementwise`].
pub trait Real:
    Copy
    + Send
    + Sync
    + 'static
    + Default
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + Elementwise<Error = Infallible>
{
    /// The nearest value to an f64.
    fn round_from_f64(x: f64) -> Self;
    /// The value as an f64 (exact).
    fn as_f64(self) -> f64;
}

impl Real for f32 {
    fn round_from_f64(x: f64) -> Self {
        x as f32
    }
    fn as_f64(self) -> f64 {
        self as f64
    }
}

impl Real for f64 {
    fn round_from_f64(x: f64) -> Self {
        x
    }
    fn as_f64(self) -> f64 {
        self
    }
}

/// Defines `$name`, which calls `$inner` (an `#[inline(always)]` function) with the elementwise
/// loops it contains compiled for AVX-512 or AVX2 + FMA where the CPU has them (the matmuls
/// dispatch on their own). Rust never contracts a·b + c into an FMA by itself, so both versions give identical
/// results.
macro_rules! simd_dispatch {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty = $inner:ident) => {
        $(#[$doc])*
        fn $name<T: Real>($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx2,fma")]
                unsafe fn avx512<T: Real>($($arg: $ty),*) -> $ret {
                    $inner($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2<T: Real>($($arg: $ty),*) -> $ret {
                    $inner($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512vl")
                    && std::arch::is_x86_feature_detected!("avx512dq")
                {
                    // SAFETY: the CPU supports the enabled features (checked just above).
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU supports the enabled features (checked just above).
                    return unsafe { avx2($($arg),*) };
                }
            }
            $inner($($arg),*)
        }
    };
}

pub(crate) use simd_dispatch;
