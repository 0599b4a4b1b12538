//! Harmonic oscillators: one, and a chain of n coupled ones.

use super::{positive, AnalyticHamiltonian};

/// H = p²/2m + k(q − q₀)²/2. The reference "ideal mass-spring" is H = q² + p²
/// ([`HarmonicOscillator::reference_spring`]).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HarmonicOscillator {
    /// Mass m.
    pub m: f64,
    /// Spring constant k.
    pub k: f64,
    /// Equilibrium position q₀.
    pub q0: f64,
}

impl HarmonicOscillator {
    /// Checks the parameters, naming the wrong one.
    pub fn validate(&self) -> crate::Result<()> {
        positive("m", self.m).and(positive("k", self.k))
    }

    /// An oscillator with mass `m`, spring constant `k` and equilibrium `q0`.
    pub fn new(m: f64, k: f64, q0: f64) -> Self {
        Self { m, k, q0 }
    }

    /// The reference code's spring, H = q² + p² (m = 1/2, k = 2).
    pub fn reference_spring() -> Self {
        Self::new(0.5, 2.0, 0.0)
    }

    /// Angular frequency √(k/m).
    pub fn omega(&self) -> f64 {
        (self.k / self.m).sqrt()
    }
}

impl Default for HarmonicOscillator {
    /// m = k = 1, q₀ = 0, as the notebook's `HarmonicOscillator()`.
    fn default() -> Self {
        Self::new(1.0, 1.0, 0.0)
    }
}

impl AnalyticHamiltonian for HarmonicOscillator {
    fn dof(&self) -> usize {
        1
    }
    fn separable(&self) -> bool {
        true
    }
    fn energy_at(&self, z: &[f64]) -> f64 {
        z[1] * z[1] / (2.0 * self.m) + 0.5 * self.k * (z[0] - self.q0).powi(2)
    }
    fn grad_at(&self, z: &[f64], g: &mut [f64]) {
        g[0] = self.k * (z[0] - self.q0);
        g[1] = z[1] / self.m;
    }
}

/// n equal masses joined by equal springs, ends fixed to walls:
/// H = Σ pᵢ²/2m + (k/2)[q₁² + Σ (qᵢ₊₁ − qᵢ)² + qₙ²]. For scaling studies in n.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OscillatorChain {
    /// Number of masses (degrees of freedom).
    pub n: usize,
    /// Mass of each.
    pub m: f64,
    /// Spring constant of each spring.
    pub k: f64,
}

impl OscillatorChain {
    /// Checks the parameters, naming the wrong one.
    pub fn validate(&self) -> crate::Result<()> {
        if self.n == 0 {
            return Err(crate::Error::InvalidSetting("an oscillator chain needs n ≥ 1".into()));
        }
        positive("m", self.m).and(positive("k", self.k))
    }

    /// A chain of `n` masses.
    pub fn new(n: usize, m: f64, k: f64) -> Self {
        Self { n, m, k }
    }
}

impl AnalyticHamiltonian for OscillatorChain {
    fn dof(&self) -> usize {
        self.n
    }
    fn separable(&self) -> bool {
        true
    }
    fn energy_at(&self, z: &[f64]) -> f64 {
        let (q, p) = z.split_at(self.n);
        let kinetic: f64 = p.iter().map(|p| p * p).sum::<f64>() / (2.0 * self.m);
        let mut v = q[0] * q[0] + q[self.n - 1] * q[self.n - 1];
        v += q.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum::<f64>();
        kinetic + 0.5 * self.k * v
    }
    fn grad_at(&self, z: &[f64], g: &mut [f64]) {
        let n = self.n;
        let (q, p) = z.split_at(n);
        for i in 0..n {
            let left = if i == 0 { 0.0 } else { q[i - 1] };
            let right = if i + 1 == n { 0.0 } else { q[i + 1] };
            g[i] = self.k * (2.0 * q[i] - left - right);
            g[n + i] = p[i] / self.m;
        }
    }
}

/// A harmonic oscillator with friction: H = p²/2m + kq²/2, and the force −γp/m on ṗ, so
/// ż = (J − R)∇H with R = diag(0, γ) and dH/dt = −γ(p/m)² ≤ 0. Not conservative: data and
/// truths follow [`time_derivatives_at`](AnalyticHamiltonian::time_derivatives_at), and its tensor
/// form is a plain field (no Hamiltonian for symplectic integrators) whose energy is H.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(from = "DampedParameters", into = "DampedParameters")]
pub struct DampedOscillator {
    /// The conservative oscillator (m, k; q₀ = 0).
    pub oscillator: HarmonicOscillator,
    /// Friction coefficient γ ≥ 0.
    pub gamma: f64,
}

/// A [`DampedOscillator`] as configs write it: `{ m, k, gamma }`.
#[derive(Clone, Copy, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DampedParameters {
    m: f64,
    k: f64,
    gamma: f64,
}

impl From<DampedParameters> for DampedOscillator {
    fn from(p: DampedParameters) -> Self {
        DampedOscillator::new(p.m, p.k, p.gamma)
    }
}

impl From<DampedOscillator> for DampedParameters {
    fn from(d: DampedOscillator) -> Self {
        DampedParameters { m: d.oscillator.m, k: d.oscillator.k, gamma: d.gamma }
    }
}

impl DampedOscillator {
    /// Checks the parameters, naming the wrong one.
    pub fn validate(&self) -> crate::Result<()> {
        if !(self.gamma >= 0.0 && self.gamma.is_finite()) {
            return Err(crate::Error::InvalidSetting(format!(
                "system parameter `gamma` must be ≥ 0 and finite, got {}",
                self.gamma
            )));
        }
        positive("m", self.oscillator.m).and(positive("k", self.oscillator.k))
    }

    /// Mass `m`, spring constant `k`, friction `gamma`.
    pub fn new(m: f64, k: f64, gamma: f64) -> Self {
        Self { oscillator: HarmonicOscillator::new(m, k, 0.0), gamma }
    }

    /// The exact state at time t from z₀ = (q₀, p₀), for the underdamped case γ² < 4mk
    /// (`None` otherwise): q(t) = e^(−βt)(q₀ cos ω_d t + (v₀ + βq₀)/ω_d · sin ω_d t), β = γ/2m,
    /// ω_d = √(k/m − β²), p = m q̇.
    pub fn exact(&self, z0: [f64; 2], t: f64) -> Option<[f64; 2]> {
        let (m, k) = (self.oscillator.m, self.oscillator.k);
        let beta = self.gamma / (2.0 * m);
        let wd2 = k / m - beta * beta;
        if wd2 <= 0.0 {
            return None;
        }
        let wd = wd2.sqrt();
        let (q0, v0) = (z0[0], z0[1] / m);
        let (a, b) = (q0, (v0 + beta * q0) / wd);
        let (s, c, e) = ((wd * t).sin(), (wd * t).cos(), (-beta * t).exp());
        let q = e * (a * c + b * s);
        let v = e * (-beta * (a * c + b * s) + wd * (-a * s + b * c));
        Some([q, m * v])
    }
}

impl AnalyticHamiltonian for DampedOscillator {
    fn dof(&self) -> usize {
        1
    }
    fn separable(&self) -> bool {
        true
    }
    fn energy_at(&self, z: &[f64]) -> f64 {
        self.oscillator.energy_at(z)
    }
    fn grad_at(&self, z: &[f64], g: &mut [f64]) {
        self.oscillator.grad_at(z, g)
    }
    fn time_derivatives_at(&self, z: &[f64], dz: &mut [f64]) {
        self.hamiltonian_field_at(z, dz);
        dz[1] -= self.gamma * z[1] / self.oscillator.m;
    }
    fn is_conservative(&self) -> bool {
        self.gamma == 0.0
    }
    fn damping_rate(&self) -> Option<f64> {
        Some(self.gamma)
    }
}

/// The damped field as a tensor field: ż with friction, energy H, damping rate γ.
impl hnn_core::VectorField for DampedOscillator {
    fn time_derivatives(&self, z: &candle_core::Tensor) -> hnn_core::Result<candle_core::Tensor> {
        super::map_rows(z, 1, 2, |zi, o| self.time_derivatives_at(zi, o))
    }
    fn energy_function(&self) -> Option<&dyn hnn_core::Hamiltonian> {
        Some(&self.oscillator)
    }
    fn damping_rates(&self, z: &candle_core::Tensor) -> hnn_core::Result<Option<candle_core::Tensor>> {
        hnn_core::symplectic::check_state(z, 1)?;
        Ok(Some(candle_core::Tensor::full(self.gamma, (z.dims()[0], 1), z.device())?.to_dtype(z.dtype())?))
    }
}
