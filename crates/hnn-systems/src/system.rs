//! [`System`]: every analytic system as one serializable value, for configs and metadata.
//!
//! A system is written once, as its struct in [`crate::analytic`] (parameters, formulas and
//! `validate`); the one list below names it for configs (`kind = "…"`) and `hnn list`.

use crate::analytic::*;
use serde::{Deserialize, Serialize};

/// Declares [`System`] from the list of analytic systems: each variant holds its struct, is
/// named in configs by its `kind`, and is described by its formula in [`System::KINDS`].
macro_rules! systems {
    ($($(#[$doc:meta])* $variant:ident($ty:ty) = $name:literal, $formula:literal;)*) => {
        /// Any of the analytic systems, tagged by `kind` in configs:
        /// `{ kind = "pendulum", m = 0.5, g = 6.0, l = 1.0 }`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "kind")]
        pub enum System {
            $($(#[$doc])* #[serde(rename = $name)] $variant($ty),)*
        }

        impl System {
            /// Every kind by its config name, with its Hamiltonian.
            pub const KINDS: &'static [(&'static str, &'static str)] = &[$(($name, $formula)),*];

            /// The analytic Hamiltonian (for a dissipative system, its energy, with the friction
            /// in its [`time_derivatives_at`](AnalyticHamiltonian::time_derivatives_at)).
            pub fn hamiltonian(&self) -> Box<dyn AnalyticHamiltonian> {
                match self {
                    $(System::$variant(s) => Box::new(s.clone()),)*
                }
            }

            /// Checks the parameters (positive masses, lengths, a chain of at least one mass...).
            pub fn validate(&self) -> crate::Result<()> {
                match self {
                    $(System::$variant(s) => s.validate(),)*
                }
            }
        }

        $(impl From<$ty> for System {
            fn from(s: $ty) -> Self {
                System::$variant(s)
            }
        })*
    };
}

systems! {
    /// H = p²/2m + k(q − q₀)²/2.
    HarmonicOscillator(HarmonicOscillator) = "harmonic_oscillator", "H = p²/2m + k(q − q₀)²/2";
    /// H = p²/2m + kq²/2 with a friction force −γp/m on ṗ (not conservative).
    DampedOscillator(DampedOscillator) = "damped_oscillator", "H = p²/2m + kq²/2, friction −γp/m on ṗ";
    /// H = p²/(2ml²) + mgl(1 − cos q).
    Pendulum(Pendulum) = "pendulum", "H = p²/(2ml²) + mgl(1 − cos q)";
    /// Planar gravity.
    NBody(NBody) = "n_body", "planar gravity, H = Σ|pᵢ|²/2mᵢ − Σ g mᵢmⱼ/|qᵢ − qⱼ|";
    /// H = p²/2m + a(q² − b²)².
    DoubleWell(DoubleWell) = "double_well", "H = p²/2m + a(q² − b²)²";
    /// Hénon–Heiles with coupling λ.
    HenonHeiles(HenonHeiles) = "henon_heiles", "H = (p₁² + p₂²)/2 + (q₁² + q₂²)/2 + λ(q₁²q₂ − q₂³/3)";
    /// N links hanging from a pivot (the double pendulum is N = 2), in angles.
    ChainPendulum(ChainPendulum) = "chain_pendulum", "N links from a pivot: L = ½q̇ᵀM(q)q̇ − V(q), states (q, p) or (q, q̇)";
    /// A chain of n oscillators between walls.
    OscillatorChain(OscillatorChain) = "oscillator_chain", "n masses joined by springs between fixed walls";
}

impl System {
    /// Degrees of freedom.
    pub fn dof(&self) -> usize {
        self.hamiltonian().dof()
    }

    /// What the second half of its states is (canonical momenta unless it says otherwise).
    pub fn coordinates(&self) -> hnn_core::Coordinates {
        self.hamiltonian().coordinates()
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
    fn coordinates(&self) -> hnn_core::Coordinates {
        self.0.coordinates()
    }
}
