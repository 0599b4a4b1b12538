//! Planar gravitational N-body systems.

use super::{positive, AnalyticHamiltonian};

/// N point masses in the plane under Newtonian gravity:
/// H = Σᵢ |pᵢ|²/2mᵢ − Σᵢ<ⱼ G mᵢ mⱼ / |qᵢ − qⱼ|.
///
/// State layout (ours): q = (x₁, y₁, x₂, y₂, …), then p = (px₁, py₁, px₂, py₂, …) with
/// momenta pᵢ = mᵢvᵢ. The reference code orders by coordinate and stores velocities,
/// `[qx1, qx2, qy1, qy2, vx1, vx2, vy1, vy2]`; [`NBody::to_reference_layout`] and
/// [`NBody::from_reference_layout`] convert.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NBody {
    /// Masses, one per body.
    pub masses: Vec<f64>,
    /// Gravitational constant.
    pub g: f64,
}

impl NBody {
    /// Checks the parameters, naming the wrong one.
    pub fn validate(&self) -> crate::Result<()> {
        if self.masses.len() < 2 {
            return Err(crate::Error::InvalidSetting("an N-body system needs at least 2 masses".into()));
        }
        self.masses.iter().try_for_each(|m| positive("masses", *m)).and(positive("g", self.g))
    }

    /// Bodies with the given masses and constant G.
    pub fn new(masses: Vec<f64>, g: f64) -> Self {
        Self { masses, g }
    }

    /// `bodies` unit masses with G = 1, as the reference two- and three-body tasks.
    pub fn unit(bodies: usize) -> Self {
        Self::new(vec![1.0; bodies], 1.0)
    }

    /// Number of bodies.
    pub fn bodies(&self) -> usize {
        self.masses.len()
    }

    /// Our layout → the reference's `[qx…, qy…, vx…, vy…]`.
    pub fn to_reference_layout(&self, z: &[f64]) -> Vec<f64> {
        let b = self.bodies();
        let mut out = vec![0.0; 4 * b];
        for i in 0..b {
            out[i] = z[2 * i];
            out[b + i] = z[2 * i + 1];
            out[2 * b + i] = z[2 * b + 2 * i] / self.masses[i];
            out[3 * b + i] = z[2 * b + 2 * i + 1] / self.masses[i];
        }
        out
    }

    /// The reference's `[qx…, qy…, vx…, vy…]` → our layout.
    pub fn from_reference_layout(&self, r: &[f64]) -> Vec<f64> {
        let b = self.bodies();
        let mut z = vec![0.0; 4 * b];
        for i in 0..b {
            z[2 * i] = r[i];
            z[2 * i + 1] = r[b + i];
            z[2 * b + 2 * i] = r[2 * b + i] * self.masses[i];
            z[2 * b + 2 * i + 1] = r[3 * b + i] * self.masses[i];
        }
        z
    }
}

impl AnalyticHamiltonian for NBody {
    fn dof(&self) -> usize {
        2 * self.bodies()
    }
    fn separable(&self) -> bool {
        true
    }
    fn energy_at(&self, z: &[f64]) -> f64 {
        let b = self.bodies();
        let (q, p) = z.split_at(2 * b);
        let mut h = 0.0;
        for i in 0..b {
            h += (p[2 * i].powi(2) + p[2 * i + 1].powi(2)) / (2.0 * self.masses[i]);
            for j in i + 1..b {
                let r = (q[2 * i] - q[2 * j]).hypot(q[2 * i + 1] - q[2 * j + 1]);
                h -= self.g * self.masses[i] * self.masses[j] / r;
            }
        }
        h
    }
    fn grad_at(&self, z: &[f64], g: &mut [f64]) {
        let b = self.bodies();
        let (q, p) = z.split_at(2 * b);
        g[..2 * b].iter_mut().for_each(|x| *x = 0.0);
        for i in 0..b {
            for j in i + 1..b {
                let (dx, dy) = (q[2 * i] - q[2 * j], q[2 * i + 1] - q[2 * j + 1]);
                let r2 = dx * dx + dy * dy;
                let c = self.g * self.masses[i] * self.masses[j] / (r2 * r2.sqrt());
                // ∂H/∂qᵢ = G mᵢ mⱼ (qᵢ − qⱼ)/r³
                g[2 * i] += c * dx;
                g[2 * i + 1] += c * dy;
                g[2 * j] -= c * dx;
                g[2 * j + 1] -= c * dy;
            }
            g[2 * b + 2 * i] = p[2 * i] / self.masses[i];
            g[2 * b + 2 * i + 1] = p[2 * i + 1] / self.masses[i];
        }
    }
}
