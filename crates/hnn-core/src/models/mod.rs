//! Learned dynamics: a Hamiltonian MLP, a separable one, a dissipative one (port-Hamiltonian),
//! the plain-MLP baseline, and two Lagrangians: the LNN's MLP L(q, q̇) and DeLaN's
//! ½q̇ᵀM(q)q̇ − V(q).

mod baseline;
mod delan;
mod dissipative;
mod lagrangian;
mod neural;
mod separable;

pub use baseline::Baseline;
pub use delan::{DeepLagrangian, MassAndPotential, MASS_FLOOR};
pub use dissipative::DissipativeHamiltonian;
pub use lagrangian::{LagrangianMlp, NeuralLagrangian};
pub use neural::NeuralHamiltonian;
pub use separable::SeparableHamiltonian;
