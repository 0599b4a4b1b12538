//! Fused CUDA kernels for the tanh layers of [`explicit`](crate::exec::explicit) (built with `cuda`).
//!
//! On a GPU a step of the explicit backward is bound by memory traffic: each candle elementwise
//! op reads and writes whole `[batch, width]` tensors, and a row broadcast costs three times a
//! plain product (measured on an H100 at 65 536 × 200 f32: `broadcast_mul` 217 µs, `mul` 96 µs,
//! `tanh` 68 µs). These kernels do each layer's elementwise work in one pass. Activations and
//! slopes travel packed as `sd = [s; σ′]`, shape `[2, rows, width]`; σ″ = −2sσ′ is recomputed
//! where needed instead of stored. Compiled once per process by NVRTC; f32 and f64.

use candle_core::backend::BackendStorage;
use candle_core::cuda_backend::cudarc::driver::{
    CudaFunction, CudaSlice, CudaView, DeviceRepr, LaunchConfig, PushKernelArg,
};
use candle_core::cuda_backend::WrapErr;
use candle_core::{CpuStorage, CudaStorage, CustomOp2, CustomOp3, DType, Layout, Shape, Tensor};
use std::sync::OnceLock;

const SOURCE: &str = r#"
typedef unsigned long long u64;
template <typename T> __device__ __forceinline__ T tanh_(T x);
template <> __device__ __forceinline__ float tanh_<float>(float x) { return tanhf(x); }
template <> __device__ __forceinline__ double tanh_<double>(double x) { return tanh(x); }
#define LOOP for (u64 i = blockIdx.x * (u64)blockDim.x + threadIdx.x; i < n; i += (u64)blockDim.x * gridDim.x)
#define KERNELS(T, S)                                                                              \
extern "C" __global__ void hnn_tanh_forward_##S(T* sd, const T* u, const T* b, u64 n, u64 w,      \
                                                 int has_bias) {                                   \
    LOOP { T s = tanh_<T>(u[i] + (has_bias ? b[i % w] : T(0))); sd[i] = s; sd[n + i] = T(1) - s * s; } \
}                                                                                                  \
extern "C" __global__ void hnn_scale_##S(T* out, const T* sd, const T* g, u64 n, u64 w, int row) { \
    LOOP { out[i] = sd[n + i] * (row ? g[i % w] : g[i]); }                                         \
}                                                                                                  \
extern "C" __global__ void hnn_tanh_vjp_reverse_##S(T* out, const T* dbar, const T* g, const T* sd, \
                                                    u64 n, u64 w, int row) {                       \
    LOOP {                                                                                         \
        T s = sd[i], d1 = sd[n + i], db = dbar[i], gv = row ? g[i % w] : g[i];                     \
        out[i] = T(-2) * db * gv * s * d1;                                                         \
        out[n + i] = db * d1;                                                                      \
    }                                                                                              \
}                                                                                                  \
extern "C" __global__ void hnn_add_product_##S(T* out, const T* acc, const T* back, const T* sd,   \
                                               u64 n) {                                            \
    LOOP { out[i] = acc[i] + back[i] * sd[n + i]; }                                                \
}                                                                                                  \
extern "C" __global__ void hnn_adam_##S(T* out, const T* theta, const T* g, const T* mv, u64 n,    \
                                        int has_moments, T lr, T b1, T b2, T bias1, T bias2, T eps, \
                                        T wd, T scale, int decoupled) {                            \
    LOOP {                                                                                         \
        T th = theta[i], gi = g[i] * scale;                                                        \
        if (!decoupled) gi += wd * th;                                                             \
        T m = has_moments ? mv[i] : T(0), v = has_moments ? mv[n + i] : T(0);                      \
        m = b1 * m + (T(1) - b1) * gi;                                                             \
        v = b2 * v + (T(1) - b2) * gi * gi;                                                        \
        T next = th - lr * (m / bias1) / (sqrt(v / bias2) + eps);                                  \
        if (decoupled) next -= th * (lr * wd);                                                     \
        out[i] = next; out[n + i] = m; out[2 * n + i] = v;                                         \
    }                                                                                              \
}
KERNELS(float, f32)
KERNELS(double, f64)
"#;

/// The kernels' PTX, compiled on first use.
fn ptx() -> candle_core::Result<&'static str> {
    static PTX: OnceLock<std::result::Result<String, String>> = OnceLock::new();
    PTX.get_or_init(|| {
        candle_core::cuda_backend::cudarc::nvrtc::compile_ptx(SOURCE).map(|p| p.to_src()).map_err(|e| format!("{e:?}"))
    })
    .as_deref()
    .map_err(|e| candle_core::Error::Msg(format!("compiling hnn's CUDA kernels: {e}")))
}

fn cpu_only(name: &str) -> candle_core::Error {
    candle_core::Error::Msg(format!("{name} is a CUDA kernel: the CPU uses hnn_core::exec::cpu"))
}

/// The CPU forward of a CUDA-only custom op (with 2 or 3 inputs): an error.
macro_rules! no_cpu_fwd {
    (2) => {
        fn cpu_fwd(
            &self,
            _: &CpuStorage,
            _: &Layout,
            _: &CpuStorage,
            _: &Layout,
        ) -> candle_core::Result<(CpuStorage, Shape)> {
            Err(cpu_only(self.name()))
        }
    };
    (3) => {
#[rustfmt::skip]
        fn cpu_fwd(&self, _: &CpuStorage, _: &Layout, _: &CpuStorage, _: &Layout, _: &CpuStorage, _: &Layout)
            -> candle_core::Result<(CpuStorage, Shape)> {
            Err(cpu_only(self.name()))
        }
    };
}

/// The dense elements of a CUDA tensor's storage, as a view from its start offset.
fn view<'a, T: Float>(s: &'a CudaStorage, l: &Layout, name: &str) -> candle_core::Result<CudaView<'a, T>> {
    match l.contiguous_offsets() {
        Some((start, end)) => Ok(s.as_cuda_slice::<T>()?.slice(start..end)),
        None => Err(candle_core::Error::Msg(format!("{name} needs dense inputs"))),
    }
}

/// The float types of the kernels.
trait Float: candle_core::cuda_backend::CudaDType + candle_core::WithDType + DeviceRepr + 'static {}
impl Float for f32 {}
impl Float for f64 {}

/// The kernel `name` for `T`, and an uninitialized output of `len` elements.
fn prepare<T: Float>(
    dev: &candle_core::CudaDevice,
    name: &str,
    len: usize,
) -> candle_core::Result<(CudaFunction, CudaSlice<T>)> {
    let suffix = if T::DTYPE == DType::F32 { "f32" } else { "f64" };
    let func = dev.get_or_load_custom_func(&format!("{name}_{suffix}"), "hnn_explicit", ptx()?)?.into_cuda_function();
    // SAFETY: the kernels write every output element before anything reads it.
    let out = unsafe { dev.alloc::<T>(len)? };
    Ok((func, out))
}

/// Grid-stride launch over `n` elements.
fn config(n: usize) -> LaunchConfig {
    LaunchConfig::for_num_elems(n.min(u32::MAX as usize) as u32)
}

/// Runs the kernel `$kernel` (for `$T`) on `$dev` with a grid-stride over `$n` elements, into a
/// fresh output of `$len` elements passed as its first argument, then `$args`; evaluates to the
/// output's storage. Every use must pass the arguments of the kernel's signature in `SOURCE`,
/// whose loops index below the bounds stated at the use.
macro_rules! launch {
    ($T:ty, $dev:expr, $kernel:literal, out: $len:expr, over: $n:expr, args: [$($arg:expr),* $(,)?]) => {{
        let dev = $dev;
        let grid = config($n);
        let (func, out) = prepare::<$T>(dev, $kernel, $len)?;
        let stream = dev.cuda_stream();
        let mut builder = stream.launch_builder(&func);
        builder.arg(&out);
        $(builder.arg($arg);)*
        // SAFETY: the arguments match the kernel's signature and the kernel stays within the
        // lengths of its buffers (the macro's contract, stated at each use).
        unsafe { builder.launch(grid) }.w()?;
        CudaStorage::wrap_cuda_slice(out, dev.clone())
    }};
}

macro_rules! by_dtype {
    ($dtype:expr, $f:ident, $($arg:expr),*) => {
        match $dtype {
            DType::F32 => $f::<f32>($($arg),*),
            DType::F64 => $f::<f64>($($arg),*),
            d => Err(candle_core::Error::Msg(format!("hnn's CUDA kernels take f32 or f64, not {d:?}"))),
        }
    };
}

/// `sd = [tanh(u + b); 1 − tanh²]` for u `[rows, w]` (bias `[w]`, or zeros when `has_bias` is
/// false and the second input is ignored).
struct TanhForward {
    has_bias: bool,
}

impl CustomOp2 for TanhForward {
    fn name(&self) -> &'static str {
        "hnn-tanh-forward"
    }
    no_cpu_fwd!(2);
    fn cuda_fwd(
        &self,
        u: &CudaStorage,
        lu: &Layout,
        b: &CudaStorage,
        lb: &Layout,
    ) -> candle_core::Result<(CudaStorage, Shape)> {
        fn go<T: Float>(
            op: &TanhForward,
            u: &CudaStorage,
            lu: &Layout,
            b: &CudaStorage,
            lb: &Layout,
        ) -> candle_core::Result<CudaStorage> {
            let (n, w) = (lu.shape().elem_count(), *lu.dims().last().unwrap_or(&1));
            let (uv, bv) = (view::<T>(u, lu, op.name())?, view::<T>(b, lb, op.name())?);
            let (n64, w64, flag) = (n as u64, w as u64, i32::from(op.has_bias));
            // Writes below 2n, reads u below n and b below w.
            Ok(launch!(T, u.device(), "hnn_tanh_forward", out: 2 * n, over: n, args: [&uv, &bv, &n64, &w64, &flag]))
        }
        let (rows, w) = lu.shape().dims2()?;
        Ok((by_dtype!(u.dtype(), go, self, u, lu, b, lb)?, Shape::from((2, rows, w))))
    }
}

/// σ′ ⊙ g, with σ′ from `sd` and g a `[1, w]` row or a full `[rows, w]`.
struct Scale;

impl CustomOp2 for Scale {
    fn name(&self) -> &'static str {
        "hnn-scale"
    }
    no_cpu_fwd!(2);
    fn cuda_fwd(
        &self,
        sd: &CudaStorage,
        ls: &Layout,
        g: &CudaStorage,
        lg: &Layout,
    ) -> candle_core::Result<(CudaStorage, Shape)> {
        fn go<T: Float>(
            sd: &CudaStorage,
            ls: &Layout,
            g: &CudaStorage,
            lg: &Layout,
        ) -> candle_core::Result<CudaStorage> {
            let (_, rows, w) = ls.shape().dims3()?;
            let n = rows * w;
            let row = i32::from(lg.shape().elem_count() == w);
            let (sv, gv) = (view::<T>(sd, ls, "hnn-scale")?, view::<T>(g, lg, "hnn-scale")?);
            let (n64, w64) = (n as u64, w as u64);
            // Writes below n, reads sd below 2n and g below n (or w, a row).
            Ok(launch!(T, sd.device(), "hnn_scale", out: n, over: n, args: [&sv, &gv, &n64, &w64, &row]))
        }
        let (_, rows, w) = ls.shape().dims3()?;
        Ok((by_dtype!(sd.dtype(), go, sd, ls, g, lg)?, Shape::from((rows, w))))
    }
}

/// Reverse of δ = g ⊙ σ′(u) for tanh: `[δ̄ ⊙ g ⊙ σ″; δ̄ ⊙ σ′]`, shape `[2, rows, w]`.
struct TanhVjpReverse;

impl CustomOp3 for TanhVjpReverse {
    fn name(&self) -> &'static str {
        "hnn-tanh-vjp-reverse"
    }
    no_cpu_fwd!(3);
    fn cuda_fwd(
        &self,
        dbar: &CudaStorage,
        ld: &Layout,
        g: &CudaStorage,
        lg: &Layout,
        sd: &CudaStorage,
        ls: &Layout,
    ) -> candle_core::Result<(CudaStorage, Shape)> {
        fn go<T: Float>(
            dbar: &CudaStorage,
            ld: &Layout,
            g: &CudaStorage,
            lg: &Layout,
            sd: &CudaStorage,
            ls: &Layout,
        ) -> candle_core::Result<CudaStorage> {
            let name = "hnn-tanh-vjp-reverse";
            let (rows, w) = ld.shape().dims2()?;
            let n = rows * w;
            let row = i32::from(lg.shape().elem_count() == w);
            let (dv, gv, sv) = (view::<T>(dbar, ld, name)?, view::<T>(g, lg, name)?, view::<T>(sd, ls, name)?);
            let (n64, w64) = (n as u64, w as u64);
            // Writes below 2n, reads sd below 2n, dbar below n and g below n (or w, a row).
            Ok(
                launch!(T, dbar.device(), "hnn_tanh_vjp_reverse", out: 2 * n, over: n, args: [&dv, &gv, &sv, &n64, &w64, &row]),
            )
        }
        let (rows, w) = ld.shape().dims2()?;
        Ok((by_dtype!(dbar.dtype(), go, dbar, ld, g, lg, sd, ls)?, Shape::from((2, rows, w))))
    }
}

/// acc + back ⊙ σ′, with σ′ from `sd`.
struct AddProduct;

impl CustomOp3 for AddProduct {
    fn name(&self) -> &'static str {
        "hnn-add-product"
    }
    no_cpu_fwd!(3);
    fn cuda_fwd(
        &self,
        acc: &CudaStorage,
        la: &Layout,
        back: &CudaStorage,
        lb: &Layout,
        sd: &CudaStorage,
        ls: &Layout,
    ) -> candle_core::Result<(CudaStorage, Shape)> {
        fn go<T: Float>(
            acc: &CudaStorage,
            la: &Layout,
            back: &CudaStorage,
            lb: &Layout,
            sd: &CudaStorage,
            ls: &Layout,
        ) -> candle_core::Result<CudaStorage> {
            let name = "hnn-add-product";
            let n = la.shape().elem_count();
            let (av, bv, sv) = (view::<T>(acc, la, name)?, view::<T>(back, lb, name)?, view::<T>(sd, ls, name)?);
            let n64 = n as u64;
            // Writes below n, reads sd below 2n and the others below n.
            Ok(launch!(T, acc.device(), "hnn_add_product", out: n, over: n, args: [&av, &bv, &sv, &n64]))
        }
        Ok((by_dtype!(acc.dtype(), go, acc, la, back, lb, sd, ls)?, la.shape().clone()))
    }
}

/// Adam's hyperparameters for one update (bias corrections of this step included).
#[derive(Debug, Clone, Copy)]
pub struct AdamUpdate {
    /// Learning rate.
    pub lr: f64,
    /// β₁, β₂.
    pub betas: (f64, f64),
    /// 1 − β₁ᵗ, 1 − β₂ᵗ.
    pub bias_corrections: (f64, f64),
    /// ε.
    pub eps: f64,
    /// Weight decay: L2 added to the gradient (Adam) or decoupled (AdamW).
    pub weight_decay: f64,
    /// Whether the decay is decoupled (AdamW).
    pub decoupled: bool,
    /// Factor applied to the gradient first (clipping).
    pub grad_scale: f64,
}

/// One Adam update of θ in one kernel: returns `[θ′; m′; v′]`, shape `[3, numel]`, from θ, the
/// gradient and the moments `[m; v]` (`[2, numel]`; `None` at the first step).
pub fn adam(theta: &Tensor, grad: &Tensor, moments: Option<&Tensor>, h: AdamUpdate) -> candle_core::Result<Tensor> {
    let n = theta.elem_count();
    let theta = theta.flatten_all()?.contiguous()?;
    let grad = grad.flatten_all()?.contiguous()?;
    let op = Adam { h, has_moments: moments.is_some() };
    match moments {
        Some(mv) => theta.apply_op3_no_bwd(&grad, &mv.reshape((2, n))?.contiguous()?, &op),
        None => theta.apply_op3_no_bwd(&grad, &theta, &op),
    }
}

struct Adam {
    h: AdamUpdate,
    has_moments: bool,
}

impl CustomOp3 for Adam {
    fn name(&self) -> &'static str {
        "hnn-adam"
    }
    no_cpu_fwd!(3);
    fn cuda_fwd(
        &self,
        theta: &CudaStorage,
        lt: &Layout,
        g: &CudaStorage,
        lg: &Layout,
        mv: &CudaStorage,
        lm: &Layout,
    ) -> candle_core::Result<(CudaStorage, Shape)> {
        fn go<T: Float>(
            op: &Adam,
            theta: &CudaStorage,
            lt: &Layout,
            g: &CudaStorage,
            lg: &Layout,
            mv: &CudaStorage,
            lm: &Layout,
        ) -> candle_core::Result<CudaStorage> {
            let name = op.name();
            let n = lt.shape().elem_count();
            let (tv, gv, mvv) = (view::<T>(theta, lt, name)?, view::<T>(g, lg, name)?, view::<T>(mv, lm, name)?);
            let h = op.h;
            let f = |x: f64| T::from_f64(x);
            let (n64, has) = (n as u64, i32::from(op.has_moments));
            let (lr, b1, b2, c1, c2, eps, wd, scale) = (
                f(h.lr),
                f(h.betas.0),
                f(h.betas.1),
                f(h.bias_corrections.0),
                f(h.bias_corrections.1),
                f(h.eps),
                f(h.weight_decay),
                f(h.grad_scale),
            );
            let decoupled = i32::from(h.decoupled);
            // Writes below 3n, reads θ and g below n and mv below 2n (only when has_moments).
            Ok(launch!(T, theta.device(), "hnn_adam", out: 3 * n, over: n,
                args: [&tv, &gv, &mvv, &n64, &has, &lr, &b1, &b2, &c1, &c2, &eps, &wd, &scale, &decoupled]))
        }
        let n = lt.shape().elem_count();
        Ok((by_dtype!(theta.dtype(), go, self, theta, lt, g, lg, mv, lm)?, Shape::from((3, n))))
    }
}

/// `[tanh(u + b); 1 − tanh²(u + b)]` as one `[2, rows, w]` tensor.
pub fn tanh_forward(u: &Tensor, bias: Option<&Tensor>) -> candle_core::Result<Tensor> {
    let u = u.contiguous()?;
    match bias {
        Some(b) => u.apply_op2_no_bwd(&b.contiguous()?, &TanhForward { has_bias: true }),
        None => u.apply_op2_no_bwd(&u, &TanhForward { has_bias: false }),
    }
}

/// σ′ ⊙ g (σ′ from a [`tanh_forward`] result; g a `[1, w]` row or `[rows, w]`).
pub fn scale(sd: &Tensor, g: &Tensor) -> candle_core::Result<Tensor> {
    sd.apply_op2_no_bwd(&g.contiguous()?, &Scale)
}

/// `[δ̄ ⊙ g ⊙ σ″; δ̄ ⊙ σ′]` for δ = g ⊙ σ′ (σ″ = −2sσ′ from `sd`).
pub fn tanh_vjp_reverse(dbar: &Tensor, g: &Tensor, sd: &Tensor) -> candle_core::Result<Tensor> {
    dbar.contiguous()?.apply_op3_no_bwd(&g.contiguous()?, sd, &TanhVjpReverse)
}

/// acc + back ⊙ σ′ (σ′ from `sd`).
pub fn add_product(acc: &Tensor, back: &Tensor, sd: &Tensor) -> candle_core::Result<Tensor> {
    acc.contiguous()?.apply_op3_no_bwd(&back.contiguous()?, sd, &AddProduct)
}
