//! [`System`]: every analytic system as one serializable value, for configs and metadata.

use crate::analytic::*;
use serde::{Deserialize, Serialize};

/// Any of the analytic systems, tagged by `kind` in configs:
/// `{ kind = "pendulum", m = 0.5, g = 6.0, l = 1.0 }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum System {
    /// H = p²/2m + k(q − q₀)²/2.
    HarmonicOscillator { m: f64, k: f64, q0: f64 },
    /// H = p²/2m + kq²/2 with a friction force −γp/m on ṗ (not conservative).
    DampedOscillator { m: f64, k: f64, gamma: f64 },
    /// H = p²/(2ml²) + mgl(1 − cos q).
    Pendulum { m: f64, g: f64, l: f64 },
    /// Planar gravity.
    NBody { masses: Vec<f64>, g: f64 },
    /// H = p²/2m + a(q² − b²)².
    DoubleWell { m: f64, a: f64, b: f64 },
    /// Hénon–Heiles with coupling λ.
    HenonHeiles { lambda: f64 },
    /// A chain of n oscillators between walls.
    OscillatorChain { n: usize, m: f64, k: f64 },
}

impl System {
    /// Every kind by its config name, with its Hamiltonian.
    pub const KINDS: [(&'static str, &'static str); 7] = [
        ("harmonic_oscillator", "H = p²/2m + k(q − q₀)²/2"),
        ("damped_oscillator", "H = p²/2m + kq²/2, friction −γp/m on ṗ"),
        ("pendulum", "H = p²/(2ml²) + mgl(1 − cos q)"),
        ("n_body", "planar gravity, H = Σ|pᵢ|²/2mᵢ − Σ g mᵢmⱼ/|qᵢ − qⱼ|"),
        ("double_well", "H = p²/2m + a(q² − b²)²"),
        ("henon_heiles", "H = (p₁² + p₂²)/2 + (q₁² + q₂²)/2 + λ(q₁²q₂ − q₂³/3)"),
        ("oscillator_chain", "n masses joined by springs between fixed walls"),
    ];

    /// The analytic Hamiltonian (for a dissipative system, its energy, with the friction in
    /// its [`time_derivatives_at`](AnalyticHamiltonian::time_derivatives_at)).
    pub fn hamiltonian(&self) -> Box<dyn AnalyticHamiltonian> {
        match self.clone() {
            System::HarmonicOscillator { m, k, q0 } => Box::new(HarmonicOscillator::new(m, k, q0)),
            System::DampedOscillator { m, k, gamma } => Box::new(DampedOscillator::new(m, k, gamma)),
            System::Pendulum { m, g, l } => Box::new(Pendulum::new(m, g, l)),
            System::NBody { masses, g } => Box::new(NBody::new(masses, g)),
            System::DoubleWell { m, a, b } => Box::new(DoubleWell::new(m, a, b)),
            System::HenonHeiles { lambda } => Box::new(HenonHeiles { lambda }),
            System::OscillatorChain { n, m, k } => Box::new(OscillatorChain::new(n, m, k)),
        }
    }

    /// Checks the parameters (positive masses, lengths, a chain of at least one mass...).
    pub fn validate(&self) -> crate::Result<()> {
        let positive = |name: &str, v: f64| {
            if v > 0.0 && v.is_finite() {
                Ok(())
            } else {
                Err(crate::Error::InvalidSetting(format!("system parameter `{name}` must be positive, got {v}")))
            }
        };
        match self {
            System::HarmonicOscillator { m, k, .. } => positive("m", *m).and(positive("k", *k)),
            System::DampedOscillator { m, k, gamma } => {
                if !(*gamma >= 0.0 && gamma.is_finite()) {
                    return Err(crate::Error::InvalidSetting(format!(
                        "system parameter `gamma` must be ≥ 0 and finite, got {gamma}"
                    )));
                }
                positive("m", *m).and(positive("k", *k))
            }
            System::Pendulum { m, g, l } => positive("m", *m).and(positive("g", *g)).and(positive("l", *l)),
            System::NBody { masses, g } => {
                if masses.len() < 2 {
                    return Err(crate::Error::InvalidSetting("an N-body system needs at least 2 masses".into()));
                }
                masses.iter().try_for_each(|m| positive("masses", *m)).and(positive("g", *g))
            }
            System::DoubleWell { m, a, b } => positive("m", *m).and(positive("a", *a)).and(positive("b", *b)),
            System::HenonHeiles { .. } => Ok(()),
            System::OscillatorChain { n, m, k } => {
                if *n == 0 {
                    return Err(crate::Error::InvalidSetting("an oscillator chain needs n ≥ 1".into()));
                }
                positive("m", *m).and(positive("k", *k))
            }
        }
    }

    /// Degrees of freedom.
    pub fn dof(&self) -> usize {
        self.hamiltonian().dof()
    }
}

/// The Hamiltonian of a configured [`System`] (any analytic system, chosen at run time), usable
/// as a tensor Hamiltonian too. Its slice dynamics are the system's own (friction included);
/// its tensor form is the Hamiltonian part J∇H, as the trait says.
pub struct SystemHamiltonian(pub Box<dyn AnalyticHamiltonian>);

impl AnalyticHamiltonian for SystemHamiltonian {
    fn dof(&self) -> usize {
        self.0.dof()
    }
    fn separable(&self) -> bool {
        self.0.separable()
    }
    fn energy_at(&self, z: &[f64]) -> f64 {
        self.0.energy_at(z)
    }
    fn grad_at(&self, z: &[f64], g: &mut [f64]) {
        self.0.grad_at(z, g)
    }
    fn hamiltonian_field_at(&self, z: &[f64], dz: &mut [f64]) {
        self.0.hamiltonian_field_at(z, dz)
    }
    fn time_derivatives_at(&self, z: &[f64], dz: &mut [f64]) {
        self.0.time_derivatives_at(z, dz)
    }
    fn is_conservative(&self) -> bool {
        self.0.is_conservative()
    }
    fn damping_rate(&self) -> Option<f64> {
        self.0.damping_rate()
    }
}
