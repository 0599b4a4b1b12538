//! The ideal pendulum.

use super::{positive, AnalyticHamiltonian};

/// H = p²/(2ml²) + mgl(1 − cos q), q the angle from the bottom, p the angular momentum.
/// The reference pendulum is H = 3(1 − cos q) + p² ([`Pendulum::reference`]).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pendulum {
    /// Bob mass.
    pub m: f64,
    /// Gravitational acceleration.
    pub g: f64,
    /// Rod length.
    pub l: f64,
}

impl Pendulum {
    /// Checks the parameters, naming the wrong one.
    pub fn validate(&self) -> crate::Result<()> {
        positive("m", self.m).and(positive("g", self.g)).and(positive("l", self.l))
    }

    /// A pendulum of mass `m`, gravity `g`, length `l`.
    pub fn new(m: f64, g: f64, l: f64) -> Self {
        Self { m, g, l }
    }

    /// The reference code's pendulum, H = 3(1 − cos q) + p² (m = 1/2, g = 6, l = 1).
    pub fn reference() -> Self {
        Self::new(0.5, 6.0, 1.0)
    }
}

impl AnalyticHamiltonian for Pendulum {
    fn dof(&self) -> usize {
        1
    }
    fn separable(&self) -> bool {
        true
    }
    fn energy_at(&self, z: &[f64]) -> f64 {
        let inertia = self.m * self.l * self.l;
        z[1] * z[1] / (2.0 * inertia) + self.m * self.g * self.l * (1.0 - z[0].cos())
    }
    fn grad_at(&self, z: &[f64], g: &mut [f64]) {
        g[0] = self.m * self.g * self.l * z[0].sin();
        g[1] = z[1] / (self.m * self.l * self.l);
    }
}
