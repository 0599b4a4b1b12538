//! CPU kernels: an MLP field's gradient-matching loss with every parameter gradient in one
//! hand-written pass ([`training`]), its H and ∇ₓH (or output) for rollouts ([`inference`]), the
//! optimizer's update ([`adam`]), and what they are built from: host views of the network and
//! the forward pass ([`forward`]), strided products ([`matmul`](mod@matmul), [`small_gemm`]) and the float
//! types with their SIMD dispatch ([`real`]).
//!
//! Through candle, one HNN gradient-matching step is a graph of some forty tensor ops (forward,
//! the explicit ∇ₓH of [`crate::mlp`], the loss, then `backward` through all of it), each with
//! its own temporaries, on one thread. Here the same arithmetic is a handful of `gemm` products
//! and fused elementwise loops, with the batch split across rayon's threads and the partial
//! gradients summed. The results equal candle's autograd on the same model (tested to 1e-10 in
//! f64 for every activation and depth, and against finite differences); the activations are
//! the formulas of [`Activation::derivatives`](crate::Activation::derivatives), the same the
//! tensor path evaluates.

pub mod adam;
pub mod forward;
pub mod inference;
pub mod matmul;
pub mod real;
pub mod small_gemm;
pub mod training;

pub use adam::{adam_update, AdamStep};
pub use forward::MlpView;
pub use inference::evaluate;
pub use matmul::{add_column_sums, matmul, matmul_on, Mat};
pub use real::Real;
pub use training::{ensemble_gradient_matching, gradient_matching, EnsembleMember, MlpGradients};
