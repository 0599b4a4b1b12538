//! Particles in classic potentials: the double well and Hénon–Heiles.

use super::{positive, AnalyticHamiltonian};

/// H = p²/2m + a(q² − b²)²: two wells at q = ±b separated by a barrier of height a·b⁴.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoubleWell {
    /// Mass.
    pub m: f64,
    /// Barrier scale a.
    pub a: f64,
    /// Well position b.
    pub b: f64,
}

impl DoubleWell {
    /// Checks the parameters, naming the wrong one.
    pub fn validate(&self) -> crate::Result<()> {
        positive("m", self.m).and(positive("a", self.a)).and(positive("b", self.b))
    }

    /// A double well.
    pub fn new(m: f64, a: f64, b: f64) -> Self {
        Self { m, a, b }
    }
}

impl Default for DoubleWell {
    fn default() -> Self {
        Self::new(1.0, 1.0, 1.0)
    }
}

impl AnalyticHamiltonian for DoubleWell {
    fn dof(&self) -> usize {
        1
    }
    fn separable(&self) -> bool {
        true
    }
    fn energy_at(&self, z: &[f64]) -> f64 {
        z[1] * z[1] / (2.0 * self.m) + self.a * (z[0] * z[0] - self.b * self.b).powi(2)
    }
    fn grad_at(&self, z: &[f64], g: &mut [f64]) {
        g[0] = 4.0 * self.a * z[0] * (z[0] * z[0] - self.b * self.b);
        g[1] = z[1] / self.m;
    }
}

/// Hénon–Heiles: H = (p₁² + p₂²)/2 + (q₁² + q₂²)/2 + λ(q₁²q₂ − q₂³/3). Chaotic above E ≈ 1/8
/// (λ = 1); escapes above 1/6.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HenonHeiles {
    /// Coupling λ (1 in the classic form).
    pub lambda: f64,
}

impl HenonHeiles {
    /// Checks the parameters, naming the wrong one.
    pub fn validate(&self) -> crate::Result<()> {
        Ok(())
    }
}

impl Default for HenonHeiles {
    fn default() -> Self {
        Self { lambda: 1.0 }
    }
}

impl AnalyticHamiltonian for HenonHeiles {
    fn dof(&self) -> usize {
        2
    }
    fn separable(&self) -> bool {
        true
    }
    fn energy_at(&self, z: &[f64]) -> f64 {
        let (q1, q2, p1, p2) = (z[0], z[1], z[2], z[3]);
        0.5 * (p1 * p1 + p2 * p2) + 0.5 * (q1 * q1 + q2 * q2) + self.lambda * (q1 * q1 * q2 - q2.powi(3) / 3.0)
    }
    fn grad_at(&self, z: &[f64], g: &mut [f64]) {
        let (q1, q2) = (z[0], z[1]);
        g[0] = q1 + 2.0 * self.lambda * q1 * q2;
        g[1] = q2 + self.lambda * (q1 * q1 - q2 * q2);
        g[2] = z[2];
        g[3] = z[3];
    }
}
