//! Do the higher-order symplectic compositions pay? Work against precision on the two-body
//! task's kind of orbit (unit masses, eccentric, over one period of about 9.9 time units): the
//! state error of leapfrog and Yoshida's 4th, 6th and 8th order compositions at equal numbers
//! of force evaluations, against adaptive DOP853 at rtol 1e-13.
//!
//! `cargo run --release --example composition_orders`

use candle_core::{Device, Tensor};
use hnn::core::integrators::{DormandPrince, Leapfrog, Yoshida4, Yoshida6, Yoshida8};
use hnn::core::{rollout, Integrator, Solver};
use hnn::systems::NBody;

fn main() -> anyhow::Result<()> {
    let kepler = NBody::unit(2);
    // Bodies at (±0.5, 0), velocities ±(0, 0.55): bound, eccentric.
    let z0 = Tensor::from_vec(vec![0.5, 0.0, -0.5, 0.0, 0.0, 0.55, 0.0, -0.55], (1, 8), &Device::Cpu)?;
    let t = 10.0;
    let exact = rollout(&kepler, &z0, &[0.0, t], &Solver::Adaptive(DormandPrince::dop853(1e-13, 1e-15)))?.get(1)?;
    println!("| force evaluations | leapfrog | yoshida4 | yoshida6 | yoshida8 |");
    println!("|---|---|---|---|---|");
    let schemes: [(&dyn Integrator, usize); 4] = [(&Leapfrog, 1), (&Yoshida4, 3), (&Yoshida6, 7), (&Yoshida8, 15)];
    for evaluations in [1_000usize, 4_000, 16_000, 64_000] {
        let mut row = format!("| {evaluations} |");
        for (scheme, stages) in schemes {
            let steps = evaluations / stages;
            let z = scheme.propagate(&kepler, &z0, t / steps as f64, steps)?;
            let err = (z - &exact)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f64>()?;
            row.push_str(&format!(" {err:.2e} |"));
        }
        println!("{row}");
    }
    Ok(())
}
