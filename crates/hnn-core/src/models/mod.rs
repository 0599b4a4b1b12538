//! Learned dynamics: a Hamiltonian MLP, a separable one, a dissipative one (port-Hamiltonian),
//! and the plain-MLP baseline.

mod baseline;
mod dissipative;
mod neural;
mod separable;

pub use baseline::Baseline;
pub use dissipative::DissipativeHamiltonian;
pub use neural::NeuralHamiltonian;
pub use separable::SeparableHamiltonian;
