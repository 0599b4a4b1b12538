//! Langevin dynamics on a separable Hamiltonian: the BAOAB splitting (Leimkuhler & Matthews,
//! 2013), a thermostat that samples exp(−H/kT) with any separable H, analytic or learned.
//!
//! The SDE is dq = ∂H/∂p dt, dp = −∂H/∂q dt − γp dt + √(2γ·m·kT) dW. One step of size h is
//! B(h/2) A(h/2) O(h) A(h/2) B(h/2): B kicks p by −∂H/∂q, A drifts q by ∂H/∂p, and O solves the
//! friction-and-noise part exactly, p ← c·p + √((1 − c²)·m·kT)·ξ with c = e^(−γh), ξ ~ N(0, 1).
//! The O-step is exact for T = p²/2m, whose momentum marginal N(0, m·kT) it preserves; for a
//! learned T pass the mass it implies (e.g. 1/T″(0)). BAOAB's configurational sampling has
//! error O(h²) and is exact for a harmonic potential. With γ = 0 the O-step is the identity and
//! a step is a leapfrog step. The noise comes from one seeded generator, drawn in order, so a
//! run is deterministic by seed; all walkers (the batch) step together.

use crate::error::{Error, Result};
use crate::hamiltonian::Hamiltonian;
use crate::symplectic::{join_qp, split_qp};
use candle_core::{DType, Device, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// The BAOAB Langevin thermostat.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Baoab {
    /// Temperature kT (energy units).
    pub kt: f64,
    /// Friction γ (1/time); 0 gives leapfrog.
    pub gamma: f64,
    /// Time step h.
    pub dt: f64,
    /// The mass m of the O-step's momentum distribution N(0, m·kT).
    pub mass: f64,
}

/// A thermostat run: states sampled every `record_every` steps.
#[derive(Debug, Clone)]
pub struct LangevinRun {
    /// The recorded times (the start included).
    pub times: Vec<f64>,
    /// The recorded states, `[records, walkers, 2n]`, f64 on the CPU.
    pub states: Tensor,
}

impl Baoab {
    /// A thermostat; errors unless kT > 0, γ ≥ 0, dt > 0 and m > 0, all finite.
    pub fn new(kt: f64, gamma: f64, dt: f64, mass: f64) -> Result<Self> {
        let ok = |v: f64| v.is_finite() && v > 0.0;
        if !(ok(kt) && ok(dt) && ok(mass) && gamma.is_finite() && gamma >= 0.0) {
            return Err(Error::InvalidArgument(format!(
                "BAOAB needs kT > 0, γ ≥ 0, dt > 0 and mass > 0, finite (got kT = {kt}, γ = {gamma}, dt = {dt}, \
                 mass = {mass})"
            )));
        }
        Ok(Self { kt, gamma, dt, mass })
    }

    /// The O-step's coefficients (c, σ): p ← c·p + σ·ξ.
    pub fn ou_coefficients(&self) -> (f64, f64) {
        let c = (-self.gamma * self.dt).exp();
        (c, ((1.0 - c * c) * self.mass * self.kt).sqrt())
    }

    /// The O-step on momenta `p` (any shape) with normals from `rng`: the exact solution of
    /// dp = −γp dt + √(2γ·m·kT) dW over dt.
    pub fn ornstein_uhlenbeck(&self, p: &Tensor, rng: &mut ChaCha8Rng) -> Result<Tensor> {
        let (c, sigma) = self.ou_coefficients();
        if sigma == 0.0 {
            return Ok(p.clone());
        }
        let xi: Vec<f64> = (0..p.elem_count()).map(|_| rng.sample::<f64, _>(StandardNormal)).collect();
        let xi = Tensor::from_vec(xi, p.shape(), &Device::Cpu)?.to_dtype(p.dtype())?.to_device(p.device())?;
        Ok(((p * c)? + (xi * sigma)?)?)
    }

    /// One BAOAB step of every walker in `z` (`[walkers, 2n]`), with the force −∂H/∂q at `z`
    /// given (`force` = ∂H/∂q(q), reused from the previous step) and returned for the next.
    fn step(&self, h: &dyn Hamiltonian, z: &Tensor, dh_dq: &Tensor, rng: &mut ChaCha8Rng) -> Result<(Tensor, Tensor)> {
        let half = 0.5 * self.dt;
        let (q, p) = split_qp(z)?;
        let p = (p - (dh_dq * half)?)?;
        let q = (&q + (h.dh_dp(&join_qp(&q, &p)?)? * half)?)?;
        let p = self.ornstein_uhlenbeck(&p, rng)?;
        let q = (&q + (h.dh_dp(&join_qp(&q, &p)?)? * half)?)?;
        let dh_dq = h.dh_dq(&join_qp(&q, &p)?)?;
        let p = (p - (&dh_dq * half)?)?;
        Ok((join_qp(&q, &p)?, dh_dq))
    }

    /// Runs `steps` steps of every walker from `z0` (`[walkers, 2n]`, any dtype and device),
    /// recording the states every `record_every` steps (and at the start), with the noise of
    /// `seed`. H must be separable.
    pub fn run(
        &self,
        h: &dyn Hamiltonian,
        z0: &Tensor,
        steps: usize,
        record_every: usize,
        seed: u64,
    ) -> Result<LangevinRun> {
        if !h.is_separable() {
            return Err(Error::NotSeparable { integrator: "baoab" });
        }
        crate::symplectic::check_state(z0, h.degrees_of_freedom())?;
        let record_every = record_every.max(1);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut z = z0.clone();
        let mut dh_dq = h.dh_dq(&z)?;
        let mut times = vec![0.0];
        let mut records = vec![z.to_dtype(DType::F64)?.to_device(&Device::Cpu)?];
        for k in 1..=steps {
            let (next, force) = self.step(h, &z, &dh_dq, &mut rng)?;
            // Cut the graph: a thermostat run is sampling, not training.
            z = next.detach();
            dh_dq = force.detach();
            if k % record_every == 0 {
                times.push(k as f64 * self.dt);
                records.push(z.to_dtype(DType::F64)?.to_device(&Device::Cpu)?);
            }
        }
        Ok(LangevinRun { times, states: Tensor::stack(&records, 0)? })
    }
}
