//! Peak memory and time of one trajectory-matching training step (loss and gradients) through
//! m leapfrog steps, stored graph against reversible backpropagation, at the batch and model of
//! `two_body` (200 states of 4 degrees of freedom, a separable HNN of two hidden layers of 200,
//! f32). Run one configuration per process, so that the peak is its own:
//!
//! `cargo run --release --example reversible_memory -- stored|reversible M`
//!
//! Prints the step's wall time and the growth of the peak resident set (`VmHWM`) over the step.

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use hnn::core::integrators::{reversible, Leapfrog};
use hnn::core::{init, Activation, Integrator, SeparableHamiltonian};

fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().expect("stored or reversible");
    let m: usize = args.next().expect("M").parse().expect("M is a number");
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let h = SeparableHamiltonian::new(4, &[200, 200], Activation::Tanh, vb).unwrap();
    init::orthogonal_init(&varmap, 0).unwrap();
    let params: Vec<Var> = varmap.all_vars();
    let wave = |phase: f32| -> Tensor {
        let v: Vec<f32> = (0..1600).map(|i| (i as f32 * 0.37 + phase).sin()).collect();
        Tensor::from_vec(v, (200, 8), &Device::Cpu).unwrap()
    };
    let (z0, target) = (wave(0.0), wave(1.0));
    let dt = 0.1 / m as f64;
    // The step runs on a thread with a large stack: candle walks a stored graph recursively.
    let run = move || {
        // Warm up (thread pools, allocator arenas, kernels) before measuring.
        reversible::matching_gradients(&Leapfrog, &h, &params, &z0, &target, dt, 1).unwrap();
        let before = peak_kib();
        let started = std::time::Instant::now();
        let loss = match mode.as_str() {
            "stored" => {
                let z = Leapfrog.propagate(&h, &z0, dt, m).unwrap();
                let loss = (z - &target).unwrap().sqr().unwrap().mean_all().unwrap();
                let grads = loss.backward().unwrap();
                assert!(params.iter().all(|p| grads.get(p.as_tensor()).is_some()));
                loss.to_scalar::<f32>().unwrap() as f64
            }
            "reversible" => reversible::matching_gradients(&Leapfrog, &h, &params, &z0, &target, dt, m).unwrap().loss,
            other => panic!("unknown mode {other}: stored or reversible"),
        };
        let seconds = started.elapsed().as_secs_f64();
        let grown = peak_kib().saturating_sub(before);
        println!(
            "{mode} m = {m}: {seconds:.3} s, peak resident memory +{:.1} MiB (loss {loss:.6})",
            grown as f64 / 1024.0
        );
    };
    std::thread::Builder::new().stack_size(1 << 30).spawn(run).unwrap().join().unwrap();
}
