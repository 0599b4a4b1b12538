//! Learned dynamics: a Hamiltonian MLP, a separable one, and the plain-MLP baseline.

mod baseline;
mod neural;
mod separable;

pub use baseline::Baseline;
pub use neural::NeuralHamiltonian;
pub use separable::SeparableHamiltonian;
