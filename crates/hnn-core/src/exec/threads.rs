//! How many CPU threads a piece of work gets.
//!
//! candle's CPU matmul hands every product, however small, to rayon with as many threads as
//! the machine has. For the small matrices of HNN training (a batch of 80 states through a
//! 16-wide network) the cross-thread wake-ups cost far more than the arithmetic: measured on
//! the 2-core dev machine, trajectory matching ran 6× slower on 2 threads than on 1, nearly all
//! of it in the kernel. Work below a size threshold therefore runs inside a one-thread rayon
//! pool (gemm's parallel tasks then execute inline on the calling thread).

//!
//! [`init`] also fixes the thread count once at start-up: without `RAYON_NUM_THREADS`, candle
//! asks the operating system for the CPU count on every matmul, which on Linux re-reads the
//! cgroup quota files (measured: 62 000 file opens in a 3-second run).

use candle_core::Device;

/// Fixes the thread settings at start-up, where the environment does not already set them:
/// - `RAYON_NUM_THREADS` = the machine's parallelism (matmuls of large batches use it);
/// - `CANDLE_NUM_THREADS` = 1: candle's elementwise ops otherwise run on a pool of busy-waiting
///   workers, which on a small machine steal the cores that matmuls and other processes need
///   (measured on the 2-core dev machine with a second job running: a 300-step spring HNN run took
///   12–19 s by default and 4.0–4.7 s with one elementwise thread, 4–6× less CPU time).
///
/// Call first thing in `main`, before any thread exists (the CLI and the benches do).
pub fn init() {
    // Safe here: called at start-up, before other threads read the environment.
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // Unset, this is the machine's parallelism.
        std::env::set_var("RAYON_NUM_THREADS", cpu_threads().to_string());
    }
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
}

/// The CPU threads to spread work over: `RAYON_NUM_THREADS` where set, else the machine's
/// parallelism.
pub fn cpu_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
}

/// Multiply–accumulates per matmul above which the machine's threads pay off.
pub const PARALLEL_MACS: usize = 64 * 1024 * 1024;

/// Stack size of the worker that runs small work.
pub const STACK_BYTES: usize = 256 * 1024 * 1024;

/// Runs `f` with a thread budget suited to a matmul of `rows × width × width` on `device`.
pub fn run_sized<R: Send>(device: &Device, rows: usize, width: usize, f: impl FnOnce() -> R + Send) -> R {
    if !device.is_cpu() || rows.saturating_mul(width).saturating_mul(width) >= PARALLEL_MACS {
        return f();
    }
    // A deep autograd graph (trajectory matching through many integrator steps) is walked and
    // dropped recursively by candle: give the worker a large stack (virtual memory only).
    match rayon::ThreadPoolBuilder::new().num_threads(1).stack_size(STACK_BYTES).build() {
        Ok(pool) => pool.install(f),
        Err(_) => f(),
    }
}
