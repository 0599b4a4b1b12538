//! Matrix products with a few rows (`m ≤` [`MAX_ROWS`]) on AVX-512, without packing.
//!
//! A rollout evaluates its learned field on a handful of states per stage: products of 1–16 rows
//! against a 200 × 200 weight matrix. A general gemm first copies (packs) the weight matrix into
//! its panel layout, on every call; at so few rows the packing costs about as much as the
//! arithmetic. These kernels read the operands where they lie, with the accumulators of a tile of
//! a few rows held in registers:
//!
//! - `B` row-major (contiguous along a row of the result): a row of `B` is loaded as vectors, each
//!   element of `A` broadcast, and the tile accumulates outer products;
//! - `B` column-major (`B = Wᵀ` with `W` row-major, the forward pass `x·Wᵀ`): a tile of dot
//!   products, each accumulated along `k` in vector lanes and reduced at the end.
//!
//! [`small_matmul`] returns `false` where it does not apply (no AVX-512, too many rows, other
//! layouts, other types) and the caller falls back to gemm. Same results as gemm up to rounding
//! (the sums run in another order); tested against a plain triple loop.

#[cfg(target_arch = "x86_64")]
use std::any::TypeId;

/// The most rows of `A` the kernels take; more go to gemm.
pub const MAX_ROWS: usize = 16;

/// A strided read-only matrix operand: element (i, j) at `data[i·rs + j·cs]`.
#[derive(Clone, Copy)]
pub struct Operand<'a, T> {
    /// The elements.
    pub data: &'a [T],
    /// Row stride.
    pub rs: usize,
    /// Column stride.
    pub cs: usize,
}

/// dst (`m × n`, row-major, contiguous) = a·b (or += with `accumulate`), where `a` is `m × k`
/// with unit column stride and `b` is `k × n` with a unit stride along either axis. Returns
/// `false`, touching nothing, when the kernels do not apply. Bounds are the caller's to check.
pub fn small_matmul<T: 'static>(
    dst: &mut [T],
    (m, n, k): (usize, usize, usize),
    a: Operand<'_, T>,
    b: Operand<'_, T>,
    accumulate: bool,
) -> bool {
    if m == 0 || m > MAX_ROWS || n == 0 || k == 0 || a.cs != 1 || !(b.cs == 1 || b.rs == 1) {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if !std::arch::is_x86_feature_detected!("avx512f") {
            return false;
        }
        // SAFETY (the casts): T is the very type named by the TypeId it was compared with.
        // SAFETY (the kernels): AVX-512F was detected above; the caller checked that every
        // index of a, b (through their strides) and dst lies inside its slice.
        if TypeId::of::<T>() == TypeId::of::<f64>() {
            let (d, a, b) = unsafe { (cast_mut::<T, f64>(dst), cast(a), cast(b)) };
            unsafe { x86::product::<f64>(d, m, n, k, a, b, accumulate) };
            return true;
        }
        if TypeId::of::<T>() == TypeId::of::<f32>() {
            let (d, a, b) = unsafe { (cast_mut::<T, f32>(dst), cast(a), cast(b)) };
            unsafe { x86::product::<f32>(d, m, n, k, a, b, accumulate) };
            return true;
        }
        false
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (dst, a, b, accumulate);
        false
    }
}

/// # Safety
/// `T` and `U` must be the same type.
#[cfg(target_arch = "x86_64")]
unsafe fn cast<T, U>(x: Operand<'_, T>) -> Operand<'_, U> {
    Operand { data: unsafe { &*(x.data as *const [T] as *const [U]) }, rs: x.rs, cs: x.cs }
}

/// # Safety
/// `T` and `U` must be the same type.
#[cfg(target_arch = "x86_64")]
unsafe fn cast_mut<T, U>(x: &mut [T]) -> &mut [U] {
    unsafe { &mut *(x as *mut [T] as *mut [U]) }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Operand;
    use std::arch::x86_64::*;

    /// One AVX-512 vector type and the handful of operations the kernels use.
    pub trait Lanes: Copy + 'static {
        type V: Copy;
        const L: usize;
        unsafe fn zero() -> Self::V;
        unsafe fn splat(p: *const Self) -> Self::V;
        unsafe fn load(p: *const Self) -> Self::V;
        unsafe fn load_first(p: *const Self, n: usize) -> Self::V;
        unsafe fn store(p: *mut Self, v: Self::V);
        unsafe fn store_first(p: *mut Self, v: Self::V, n: usize);
        unsafe fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
        unsafe fn add(a: Self::V, b: Self::V) -> Self::V;
        unsafe fn sum(v: Self::V) -> Self;
        fn plus(a: Self, b: Self) -> Self;
    }

    /// `Lanes` for one float type from its AVX-512 intrinsics.
    macro_rules! impl_lanes {
        ($t:ty, $v:ty, $lanes:expr, $mask:ty, $zero:ident, $set1:ident, $load:ident, $maskz_load:ident,
         $store:ident, $mask_store:ident, $fmadd:ident, $add:ident, $reduce:ident) => {
            impl Lanes for $t {
                type V = $v;
                const L: usize = $lanes;
                #[inline]
                #[target_feature(enable = "avx512f")]
                unsafe fn zero() -> $v {
                    $zero()
                }
                #[inline]
                #[target_feature(enable = "avx512f")]
                unsafe fn splat(p: *const $t) -> $v {
                    $set1(unsafe { *p })
                }
                #[inline]
                #[target_feature(enable = "avx512f")]
                unsafe fn load(p: *const $t) -> $v {
                    unsafe { $load(p) }
                }
                #[inline]
                #[target_feature(enable = "avx512f")]
                unsafe fn load_first(p: *const $t, n: usize) -> $v {
                    unsafe { $maskz_load(((1u32 << n) - 1) as $mask, p) }
                }
                #[inline]
                #[target_feature(enable = "avx512f")]
                unsafe fn store(p: *mut $t, v: $v) {
                    unsafe { $store(p, v) }
                }
                #[inline]
                #[target_feature(enable = "avx512f")]
                unsafe fn store_first(p: *mut $t, v: $v, n: usize) {
                    unsafe { $mask_store(p, ((1u32 << n) - 1) as $mask, v) }
                }
                #[inline]
                #[target_feature(enable = "avx512f")]
                unsafe fn fma(a: $v, b: $v, c: $v) -> $v {
                    $fmadd(a, b, c)
                }
                #[inline]
                #[target_feature(enable = "avx512f")]
                unsafe fn add(a: $v, b: $v) -> $v {
                    $add(a, b)
                }
                #[inline]
                #[target_feature(enable = "avx512f")]
                unsafe fn sum(v: $v) -> $t {
                    $reduce(v)
                }
                #[inline(always)]
                fn plus(a: $t, b: $t) -> $t {
                    a + b
                }
            }
        };
    }

    #[rustfmt::skip]
    impl_lanes!(f64, __m512d, 8, __mmask8, _mm512_setzero_pd, _mm512_set1_pd, _mm512_loadu_pd, _mm512_maskz_loadu_pd,
                _mm512_storeu_pd, _mm512_mask_storeu_pd, _mm512_fmadd_pd, _mm512_add_pd, _mm512_reduce_add_pd);
    #[rustfmt::skip]
    impl_lanes!(f32, __m512, 16, __mmask16, _mm512_setzero_ps, _mm512_set1_ps, _mm512_loadu_ps, _mm512_maskz_loadu_ps,
                _mm512_storeu_ps, _mm512_mask_storeu_ps, _mm512_fmadd_ps, _mm512_add_ps, _mm512_reduce_add_ps);

    /// The first `len` lanes at `x` (all of them when `len` is a whole vector), zeros after.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn load_part<T: Lanes>(x: *const T, len: usize) -> T::V {
        unsafe {
            if len == T::L {
                T::load(x)
            } else {
                T::load_first(x, len)
            }
        }
    }

    /// Writes (or adds, with `accumulate`) the first `len` lanes of `v` at `out`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn put<T: Lanes>(out: *mut T, v: T::V, len: usize, accumulate: bool) {
        unsafe {
            let v = if accumulate { T::add(v, load_part(out, len)) } else { v };
            if len == T::L {
                T::store(out, v)
            } else {
                T::store_first(out, v, len)
            }
        }
    }

    /// Defines `$name`: rows `$r…` of C (+)= A·B with B row-major (`ldb` apart), each row of the
    /// tile written out by the macro so that its accumulators stay in registers. Column tiles of
    /// 3 vectors, then of 1 (the last one masked).
    macro_rules! outer_rows {
        ($name:ident, $($r:literal)+) => {
            #[inline]
            #[target_feature(enable = "avx512f")]
            #[allow(clippy::too_many_arguments)]
            unsafe fn $name<T: Lanes>(
                c: *mut T, n: usize, k: usize, a: *const T, lda: usize, b: *const T, ldb: usize, accumulate: bool,
            ) {
                unsafe {
                    let l = T::L;
                    let mut j = 0;
                    while j + 3 * l <= n {
                        let z = T::zero();
                        let mut acc = [[z; 3]; 8];
                        let mut bp = b.add(j);
                        for p in 0..k {
                            let (b0, b1, b2) = (T::load(bp), T::load(bp.add(l)), T::load(bp.add(2 * l)));
                            $(
                                let s = T::splat(a.add($r * lda + p));
                                acc[$r][0] = T::fma(s, b0, acc[$r][0]);
                                acc[$r][1] = T::fma(s, b1, acc[$r][1]);
                                acc[$r][2] = T::fma(s, b2, acc[$r][2]);
                            )+
                            bp = bp.add(ldb);
                        }
                        $(
                            for (v, x) in acc[$r].iter().enumerate() {
                                put::<T>(c.add($r * n + j + v * l), *x, l, accumulate);
                            }
                        )+
                        j += 3 * l;
                    }
                    while j < n {
                        let width = (n - j).min(l);
                        let mut acc = [T::zero(); 8];
                        let mut bp = b.add(j);
                        for p in 0..k {
                            let b0 = load_part(bp, width);
                            $( acc[$r] = T::fma(T::splat(a.add($r * lda + p)), b0, acc[$r]); )+
                            bp = bp.add(ldb);
                        }
                        $( put::<T>(c.add($r * n + j), acc[$r], width, accumulate); )+
                        j += width;
                    }
                }
            }
        };
    }

    /// Defines `$name`: rows `$r…` of C (+)= A·B with B column-major (`ldb` apart, B = Wᵀ for a
    /// row-major W): tiles of 4 columns of dot products along k (the last vector of k masked),
    /// then single columns.
    macro_rules! dot_rows {
        ($name:ident, $($r:literal)+) => {
            #[inline]
            #[target_feature(enable = "avx512f")]
            #[allow(clippy::too_many_arguments)]
            unsafe fn $name<T: Lanes>(
                c: *mut T, n: usize, k: usize, a: *const T, lda: usize, b: *const T, ldb: usize, accumulate: bool,
            ) {
                unsafe {
                    let out = |r: usize, col: usize, s: T| {
                        let o = c.add(r * n + col);
                        *o = if accumulate { T::plus(*o, s) } else { s };
                    };
                    let mut j = 0;
                    while j + 4 <= n {
                        let z = T::zero();
                        let mut acc = [[z; 4]; 4];
                        let w = b.add(j * ldb);
                        let mut p = 0;
                        while p < k {
                            let len = (k - p).min(T::L);
                            let w0 = load_part(w.add(p), len);
                            let w1 = load_part(w.add(ldb + p), len);
                            let w2 = load_part(w.add(2 * ldb + p), len);
                            let w3 = load_part(w.add(3 * ldb + p), len);
                            $(
                                let x = load_part(a.add($r * lda + p), len);
                                acc[$r][0] = T::fma(x, w0, acc[$r][0]);
                                acc[$r][1] = T::fma(x, w1, acc[$r][1]);
                                acc[$r][2] = T::fma(x, w2, acc[$r][2]);
                                acc[$r][3] = T::fma(x, w3, acc[$r][3]);
                            )+
                            p += len;
                        }
                        $(
                            for (col, x) in acc[$r].iter().enumerate() {
                                out($r, j + col, T::sum(*x));
                            }
                        )+
                        j += 4;
                    }
                    while j < n {
                        let mut acc = [T::zero(); 4];
                        let w = b.add(j * ldb);
                        let mut p = 0;
                        while p < k {
                            let len = (k - p).min(T::L);
                            let w0 = load_part(w.add(p), len);
                            $( acc[$r] = T::fma(load_part(a.add($r * lda + p), len), w0, acc[$r]); )+
                            p += len;
                        }
                        $( out($r, j, T::sum(acc[$r])); )+
                        j += 1;
                    }
                }
            }
        };
    }

    outer_rows!(outer1, 0);
    outer_rows!(outer2, 0 1);
    outer_rows!(outer3, 0 1 2);
    outer_rows!(outer4, 0 1 2 3);
    outer_rows!(outer5, 0 1 2 3 4);
    outer_rows!(outer6, 0 1 2 3 4 5);
    outer_rows!(outer7, 0 1 2 3 4 5 6);
    outer_rows!(outer8, 0 1 2 3 4 5 6 7);
    dot_rows!(dots1, 0);
    dot_rows!(dots2, 0 1);
    dot_rows!(dots3, 0 1 2);
    dot_rows!(dots4, 0 1 2 3);

    /// See [`super::small_matmul`]: blocks of up to 8 rows (B row-major: an outer-product tile
    /// holds 8 × 3 accumulators) or 4 rows (B column-major: a dot-product tile holds 4 × 4).
    ///
    /// # Safety
    /// AVX-512F must be available; every index of `a`, `b` and `dst` must lie inside its slice.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn product<T: Lanes>(
        dst: &mut [T],
        m: usize,
        n: usize,
        k: usize,
        a: Operand<'_, T>,
        b: Operand<'_, T>,
        accumulate: bool,
    ) {
        let block = if b.cs == 1 { 8 } else { 4 };
        let mut i = 0;
        while i < m {
            let rows = (m - i).min(block);
            let (ap, bp) = (unsafe { a.data.as_ptr().add(i * a.rs) }, b.data.as_ptr());
            let cp = unsafe { dst.as_mut_ptr().add(i * n) };
            unsafe {
                if b.cs == 1 {
                    let f = [outer1::<T>, outer2, outer3, outer4, outer5, outer6, outer7, outer8][rows - 1];
                    f(cp, n, k, ap, a.rs, bp, b.rs, accumulate);
                } else {
                    let f = [dots1::<T>, dots2, dots3, dots4][rows - 1];
                    f(cp, n, k, ap, a.rs, bp, b.cs, accumulate);
                }
            }
            i += rows;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plain triple loop in f64.
    fn reference(m: usize, n: usize, k: usize, a: &[f64], b: Operand<'_, f64>, c0: &[f64], acc: bool) -> Vec<f64> {
        let mut c = if acc { c0.to_vec() } else { vec![0.0; m * n] };
        for i in 0..m {
            for j in 0..n {
                let s: f64 = (0..k).map(|p| a[i * k + p] * b.data[p * b.rs + j * b.cs]).sum();
                c[i * n + j] += s;
            }
        }
        c
    }

    fn values(len: usize, seed: u64) -> Vec<f64> {
        (0..len).map(|i| (((i as u64 + 1) * (seed * 2 + 1) * 2654435761) % 1000) as f64 / 500.0 - 1.0).collect()
    }

    #[test]
    fn small_products_equal_a_triple_loop_for_every_shape_and_layout() {
        let mut ran = false;
        for &m in &[1, 3, 8, 9, 16] {
            for &(n, k) in &[(200, 200), (1, 7), (7, 1), (33, 17), (49, 65), (8, 2), (2, 8)] {
                let a = values(m * k, 1);
                let b = values(k * n, 2);
                let c0 = values(m * n, 3);
                for col_major in [false, true] {
                    // The same k × n matrix B, stored row-major or column-major.
                    let stored: Vec<f64> = if col_major {
                        (0..n).flat_map(|j| (0..k).map(move |p| (p, j))).map(|(p, j)| b[p * n + j]).collect()
                    } else {
                        b.clone()
                    };
                    let bop = |d| {
                        if col_major {
                            Operand { data: d, rs: 1, cs: k }
                        } else {
                            Operand { data: d, rs: n, cs: 1 }
                        }
                    };
                    for acc in [false, true] {
                        let want = reference(m, n, k, &a, Operand { data: &b, rs: n, cs: 1 }, &c0, acc);
                        let mut got = c0.clone();
                        if !small_matmul(&mut got, (m, n, k), Operand { data: &a, rs: k, cs: 1 }, bop(&stored), acc) {
                            continue; // no AVX-512 here: nothing to test
                        }
                        ran = true;
                        for (g, w) in got.iter().zip(&want) {
                            assert!(
                                (g - w).abs() <= 1e-12 * (1.0 + w.abs()),
                                "f64 m {m} n {n} k {k} col {col_major}: {g} vs {w}"
                            );
                        }
                        let a32: Vec<f32> = a.iter().map(|&x| x as f32).collect();
                        let s32: Vec<f32> = stored.iter().map(|&x| x as f32).collect();
                        let mut got32: Vec<f32> = c0.iter().map(|&x| x as f32).collect();
                        let b32 = if col_major {
                            Operand { data: &s32[..], rs: 1, cs: k }
                        } else {
                            Operand { data: &s32[..], rs: n, cs: 1 }
                        };
                        assert!(small_matmul(&mut got32, (m, n, k), Operand { data: &a32, rs: k, cs: 1 }, b32, acc));
                        for (g, w) in got32.iter().zip(&want) {
                            assert!(
                                (*g as f64 - w).abs() <= 1e-4 * (1.0 + w.abs()),
                                "f32 m {m} n {n} k {k}: {g} vs {w}"
                            );
                        }
                    }
                }
            }
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            assert!(ran, "AVX-512 is present, so the kernels must have run");
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = ran; // no SIMD kernels on this architecture: every shape is declined
    }

    #[test]
    fn other_shapes_are_declined() {
        let a = vec![0.0f64; 17 * 4];
        let b = vec![0.0f64; 16];
        let mut c = vec![0.0f64; 17 * 4];
        assert!(!small_matmul(
            &mut c,
            (17, 4, 4),
            Operand { data: &a, rs: 4, cs: 1 },
            Operand { data: &b, rs: 4, cs: 1 },
            false
        ));
        // A with a non-unit column stride.
        assert!(!small_matmul(
            &mut c,
            (2, 4, 4),
            Operand { data: &a, rs: 1, cs: 4 },
            Operand { data: &b, rs: 4, cs: 1 },
            false
        ));
    }
}
