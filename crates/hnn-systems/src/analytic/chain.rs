//! The N-link chain pendulum in angles: the benchmark of the Lagrangian and constrained models
//! (the double pendulum is N = 2).

use super::{positive, AnalyticHamiltonian};
use hnn_core::Coordinates;

/// The most links a chain may have: its mass matrix is built and solved densely at every
/// evaluation (the benchmarks of the constrained models use up to 5).
pub const MAX_LINKS: usize = 16;

/// N point masses on massless rigid rods hanging from a fixed pivot, in a vertical plane:
/// qᵢ is link i's angle from the downward vertical, mᵢ the mass at its end, lᵢ its length.
///
/// With μᵢⱼ = Σ_{k ≥ max(i, j)} mₖ (the mass hanging below both links),
/// L = ½ q̇ᵀM(q)q̇ − V(q), Mᵢⱼ = μᵢⱼ lᵢlⱼ cos(qᵢ − qⱼ), V = g Σ μᵢᵢ lᵢ (1 − cos qᵢ), and
/// M q̈ = −Σⱼ μᵢⱼ lᵢlⱼ sin(qᵢ − qⱼ) q̇ⱼ² − g μᵢᵢ lᵢ sin qᵢ.
///
/// States are in `coordinates`: canonical (q, p) with p = Mq̇ (H = ½pᵀM⁻¹p + V, a Hamiltonian
/// system for the HNN), or velocity (q, q̇) (for the LNN and DeLaN; then there is no J, and
/// [`hamiltonian_field_at`](AnalyticHamiltonian::hamiltonian_field_at) is the Euler–Lagrange
/// flow). The energy is T + V in either.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainPendulum {
    /// The masses, pivot side first.
    pub m: Vec<f64>,
    /// The rod lengths, pivot side first.
    pub l: Vec<f64>,
    /// Gravitational acceleration.
    pub g: f64,
    /// What the second half of a state is.
    #[serde(default)]
    pub coordinates: Coordinates,
}

impl ChainPendulum {
    /// A chain of `links` unit masses on unit rods under g = 9.81 (the CHNN benchmark's).
    pub fn uniform(links: usize, coordinates: Coordinates) -> Self {
        Self { m: vec![1.0; links], l: vec![1.0; links], g: 9.81, coordinates }
    }

    /// Checks the parameters, naming the wrong one.
    pub fn validate(&self) -> crate::Result<()> {
        let n = self.m.len();
        if n == 0 || n > MAX_LINKS || self.l.len() != n {
            return Err(crate::Error::InvalidSetting(format!(
                "a chain pendulum needs 1 to {MAX_LINKS} links with one mass `m` and one length `l` each, got {} \
                 masses and {} lengths",
                n,
                self.l.len()
            )));
        }
        for (i, (&m, &l)) in self.m.iter().zip(&self.l).enumerate() {
            positive(&format!("m[{i}]"), m)?;
            positive(&format!("l[{i}]"), l)?;
        }
        positive("g", self.g)
    }

    /// Number of links n.
    pub fn links(&self) -> usize {
        self.m.len()
    }

    /// μᵢⱼ lᵢ lⱼ, the constant part of M, row-major n × n.
    fn coupling(&self) -> Vec<f64> {
        let n = self.links();
        let mut below = vec![0.0; n];
        let mut sum = 0.0;
        for k in (0..n).rev() {
            sum += self.m[k];
            below[k] = sum;
        }
        let mut c = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                c[i * n + j] = below[i.max(j)] * self.l[i] * self.l[j];
            }
        }
        c
    }

    /// M(q), row-major n × n.
    pub fn mass_matrix(&self, q: &[f64]) -> Vec<f64> {
        let n = self.links();
        let mut m = self.coupling();
        for i in 0..n {
            for j in 0..n {
                m[i * n + j] *= (q[i] - q[j]).cos();
            }
        }
        m
    }

    /// ∂L/∂q at (q, q̇): −Σⱼ μᵢⱼlᵢlⱼ sin(qᵢ − qⱼ) q̇ᵢq̇ⱼ − gμᵢᵢlᵢ sin qᵢ.
    fn dl_dq(&self, q: &[f64], v: &[f64], out: &mut [f64]) {
        let n = self.links();
        let c = self.coupling();
        for i in 0..n {
            let mut s = 0.0;
            for j in 0..n {
                s += c[i * n + j] * (q[i] - q[j]).sin() * v[i] * v[j];
            }
            out[i] = -s - self.g * c[i * n + i] / self.l[i] * q[i].sin();
        }
    }

    /// q̈ at (q, q̇), written into `out`.
    pub fn accelerations(&self, q: &[f64], v: &[f64], out: &mut [f64]) {
        let n = self.links();
        let c = self.coupling();
        let mut rhs = vec![0.0; n];
        for i in 0..n {
            let mut s = 0.0;
            for j in 0..n {
                s += c[i * n + j] * (q[i] - q[j]).sin() * v[j] * v[j];
            }
            rhs[i] = -s - self.g * c[i * n + i] / self.l[i] * q[i].sin();
        }
        out.copy_from_slice(&solve_spd(self.mass_matrix(q), rhs, n));
    }

    /// q̇ = M(q)⁻¹p.
    pub fn velocities(&self, q: &[f64], p: &[f64]) -> Vec<f64> {
        solve_spd(self.mass_matrix(q), p.to_vec(), self.links())
    }

    /// p = M(q)q̇.
    pub fn momenta(&self, q: &[f64], v: &[f64]) -> Vec<f64> {
        let n = self.links();
        let m = self.mass_matrix(q);
        (0..n).map(|i| (0..n).map(|j| m[i * n + j] * v[j]).sum()).collect()
    }

    /// T + V at (q, q̇).
    fn energy_of_velocities(&self, q: &[f64], v: &[f64]) -> f64 {
        let kinetic: f64 = self.momenta(q, v).iter().zip(v).map(|(p, v)| p * v).sum::<f64>() * 0.5;
        kinetic + self.potential(q)
    }

    /// V(q) = g Σ μᵢᵢlᵢ(1 − cos qᵢ), zero hanging straight down.
    pub fn potential(&self, q: &[f64]) -> f64 {
        let n = self.links();
        let c = self.coupling();
        (0..n).map(|i| self.g * c[i * n + i] / self.l[i] * (1.0 - q[i].cos())).sum()
    }
}

/// x with M x = b for a symmetric positive-definite n × n M (row-major), by Cholesky.
fn solve_spd(mut m: Vec<f64>, mut b: Vec<f64>, n: usize) -> Vec<f64> {
    for j in 0..n {
        let mut d = m[j * n + j];
        for k in 0..j {
            d -= m[j * n + k] * m[j * n + k];
        }
        let d = d.sqrt();
        m[j * n + j] = d;
        for i in j + 1..n {
            let mut s = m[i * n + j];
            for k in 0..j {
                s -= m[i * n + k] * m[j * n + k];
            }
            m[i * n + j] = s / d;
        }
    }
    for i in 0..n {
        for k in 0..i {
            b[i] -= m[i * n + k] * b[k];
        }
        b[i] /= m[i * n + i];
    }
    for i in (0..n).rev() {
        for k in i + 1..n {
            b[i] -= m[k * n + i] * b[k];
        }
        b[i] /= m[i * n + i];
    }
    b
}

impl AnalyticHamiltonian for ChainPendulum {
    fn dof(&self) -> usize {
        self.links()
    }
    fn separable(&self) -> bool {
        false
    }
    fn coordinates(&self) -> Coordinates {
        self.coordinates
    }
    fn energy_at(&self, z: &[f64]) -> f64 {
        let (q, second) = z.split_at(self.links());
        match self.coordinates {
            Coordinates::Canonical => self.energy_of_velocities(q, &self.velocities(q, second)),
            Coordinates::Velocity => self.energy_of_velocities(q, second),
        }
    }
    /// Canonical: ∇H = (−∂L/∂q, q̇) at q̇ = M⁻¹p. Velocity: ∇E = (∂T/∂q + ∂V/∂q, Mq̇).
    fn grad_at(&self, z: &[f64], grad: &mut [f64]) {
        let n = self.links();
        let (q, second) = z.split_at(n);
        let v = match self.coordinates {
            Coordinates::Canonical => self.velocities(q, second),
            Coordinates::Velocity => second.to_vec(),
        };
        let (dq, dsecond) = grad.split_at_mut(n);
        self.dl_dq(q, &v, dq);
        match self.coordinates {
            Coordinates::Canonical => {
                dq.iter_mut().for_each(|g| *g = -*g);
                dsecond.copy_from_slice(&v);
            }
            Coordinates::Velocity => {
                // ∂E/∂q = ∂T/∂q + ∂V/∂q = ∂L/∂q + 2∂V/∂q.
                let c = self.coupling();
                for i in 0..n {
                    dq[i] += 2.0 * self.g * c[i * n + i] / self.l[i] * q[i].sin();
                }
                dsecond.copy_from_slice(&self.momenta(q, &v));
            }
        }
    }
    fn hamiltonian_field_at(&self, z: &[f64], dz: &mut [f64]) {
        let n = self.links();
        match self.coordinates {
            Coordinates::Canonical => {
                self.grad_at(z, dz);
                hnn_core::symplectic::apply_j_rows(dz, n);
            }
            Coordinates::Velocity => {
                let (q, v) = z.split_at(n);
                let (dq, dv) = dz.split_at_mut(n);
                dq.copy_from_slice(v);
                self.accelerations(q, v, dv);
            }
        }
    }
}
