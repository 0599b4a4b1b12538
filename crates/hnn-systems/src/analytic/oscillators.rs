//! Harmonic oscillators: one, and a chain of n coupled ones.

use super::AnalyticHamiltonian;

/// H = p²/2m + k(q − q₀)²/2. The reference "ideal mass-spring" is H = q² + p²
/// ([`HarmonicOscillator::reference_spring`]).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HarmonicOscillator {
    /// Mass m.
    pub m: f64,
    /// Spring constant k.
    pub k: f64,
    /// Equilibrium position q₀.
    pub q0: f64,
}

impl HarmonicOscillator {
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
pub struct OscillatorChain {
    /// Number of masses (degrees of freedom).
    pub n: usize,
    /// Mass of each.
    pub m: f64,
    /// Spring constant of each spring.
    pub k: f64,
}

impl OscillatorChain {
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
