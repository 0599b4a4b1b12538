//! Strided matrix products on the calling thread: gemm's runtime-dispatched kernels, and the
//! packing-free products of a few rows ([`small_gemm`](super::small_gemm)) for rollout stages.

use super::real::Real;
use super::small_gemm::{small_matmul, Operand};

/// A strided view of a matrix, for [`matmul`].
#[derive(Clone, Copy)]
pub struct Mat<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl<'a, T> Mat<'a, T> {
    /// A row-major `rows × cols` matrix (the first `rows·cols` entries of `data`).
    pub fn new(data: &'a [T], rows: usize, cols: usize) -> Self {
        assert!(data.len() >= rows * cols, "matrix view out of bounds");
        Self { data, rows, cols, rs: cols, cs: 1 }
    }

    /// A `rows × cols` matrix whose entry (i, j) is `data[i·rs + j·cs]` (a strided tensor
    /// layout; bounds are checked by [`matmul`]).
    pub fn strided(data: &'a [T], rows: usize, cols: usize, rs: usize, cs: usize) -> Self {
        Self { data, rows, cols, rs, cs }
    }

    /// The transpose (a view, nothing is copied).
    pub fn t(self) -> Self {
        Self { data: self.data, rows: self.cols, cols: self.rows, rs: self.cs, cs: self.rs }
    }
}

/// dst (`a.rows × b.cols`, row-major) = a·b, or += a·b with `accumulate`, on the calling
/// thread (gemm's runtime-dispatched SIMD kernels). Panics if a view exceeds its slice.
pub fn matmul<T: Real>(dst: &mut [T], a: Mat<'_, T>, b: Mat<'_, T>, accumulate: bool) {
    matmul_on(dst, a, b, accumulate, false)
}

/// [`matmul`], spread over the current rayon pool's threads when `parallel` (for large
/// products; small ones lose more to waking threads than they gain).
pub fn matmul_on<T: Real>(dst: &mut [T], a: Mat<'_, T>, b: Mat<'_, T>, accumulate: bool, parallel: bool) {
    assert_eq!(a.cols, b.rows, "inner dimensions");
    let (m, n, k) = (a.rows, b.cols, a.cols);
    assert!(dst.len() >= m * n, "destination out of bounds");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(T::default());
        }
        return;
    }
    // Every index the kernel reads lies inside its slice.
    assert!((m - 1) * a.rs + (k - 1) * a.cs < a.data.len(), "lhs out of bounds");
    assert!((k - 1) * b.rs + (n - 1) * b.cs < b.data.len(), "rhs out of bounds");
    let (sa, sb) = (Operand { data: a.data, rs: a.rs, cs: a.cs }, Operand { data: b.data, rs: b.rs, cs: b.cs });
    if !parallel && small_matmul(dst, (m, n, k), sa, sb, accumulate) {
        return;
    }
    // SAFETY: the bounds of all three matrices were checked above; `dst` is exclusively borrowed
    // and cannot alias the shared `a` and `b`; T is f32 or f64, both supported by gemm.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            T::round_from_f64(1.0),
            T::round_from_f64(1.0),
            false,
            false,
            false,
            if parallel && rayon::current_num_threads() > 1 {
                gemm::Parallelism::Rayon(rayon::current_num_threads())
            } else {
                gemm::Parallelism::None
            },
        );
    }
}

/// Adds the column sums of a `rows × cols` row-major matrix to `dst` (`cols` long).
#[inline(always)]
pub fn add_column_sums<T: Real>(dst: &mut [T], m: &[T], cols: usize) {
    for row in m.chunks_exact(cols) {
        for (d, x) in dst.iter_mut().zip(row) {
            *d += *x;
        }
    }
}
