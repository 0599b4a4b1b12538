//! `DeepLagrangian`: the structured Lagrangian of Deep Lagrangian Networks (Lutter et al.
//! 2019), L = ½ q̇ᵀM(q)q̇ − V(q) with M(q) = C(q)C(q)ᵀ + εI, C lower triangular with a positive
//! diagonal, and V(q) an MLP.
//!
//! Why this form: M is positive definite for every weight and state, so the Euler–Lagrange
//! solve always has an answer (the plain LNN's ∂²L/∂q̇² may be singular), and the energy
//! ½ q̇ᵀMq̇ + V reads as kinetic plus potential. It assumes what mechanical systems satisfy:
//! a kinetic energy quadratic in the velocities.

use crate::activation::Activation;
use crate::error::Result;
use crate::lagrangian::{EulerLagrange, Lagrangian, LagrangianJet};
use crate::linalg::{small_matmul, small_matvec};
use crate::mlp::{Mlp, MlpConfig};
use crate::symplectic::{check_state, split_qp};
use candle_core::{DType, Device, Tensor, D};
use candle_nn::VarBuilder;

/// The ε of M = CCᵀ + εI: the smallest eigenvalue M can have.
pub const MASS_FLOOR: f64 = 1e-3;

/// M(q) and V(q) from two MLPs on q: the mass network `n → hidden… → n(n+1)/2` gives C's
/// lower triangle row by row (softplus on the diagonal), the potential network
/// `n → hidden… → 1` gives V. Variables: `mass.layers.*` and `potential.layers.*`.
#[derive(Debug, Clone)]
pub struct MassAndPotential {
    mass: Mlp,
    potential: Mlp,
    dof: usize,
    /// 1 at the outputs that are diagonal entries of C, `[n(n+1)/2]`.
    diagonal: Tensor,
    /// Places C's triangle in an n × n matrix: `[n(n+1)/2, n²]`, one 1 per row.
    scatter: Tensor,
}

/// The DeLaN-style model: [`EulerLagrange`] of a [`MassAndPotential`].
pub type DeepLagrangian = EulerLagrange<MassAndPotential>;

impl MassAndPotential {
    /// Two networks for `dof` degrees of freedom with the given hidden widths and activation.
    pub fn new(dof: usize, hidden: &[usize], activation: Activation, vb: VarBuilder) -> Result<Self> {
        activation.require_twice_differentiable()?;
        let entries = dof * (dof + 1) / 2;
        let mass =
            Mlp::new(&MlpConfig { input: dof, hidden: hidden.to_vec(), output: entries, activation }, vb.pp("mass"))?;
        let potential =
            Mlp::new(&MlpConfig { input: dof, hidden: hidden.to_vec(), output: 1, activation }, vb.pp("potential"))?;
        let (diagonal, scatter) = triangle(dof, vb.dtype(), vb.device())?;
        Ok(Self { mass, potential, dof, diagonal, scatter })
    }

    /// M(q) = CCᵀ + εI at z's positions, `[batch, n, n]`.
    pub fn mass_matrix(&self, z: &Tensor) -> Result<Tensor> {
        check_state(z, self.dof)?;
        let q = split_qp(z)?.0.contiguous()?;
        let c = self.factor(&self.mass.forward(&q)?)?;
        self.with_floor(&small_matmul(&c, &c.transpose(1, 2)?)?)
    }

    /// C from the mass network's outputs `[batch, n(n+1)/2]` (with `slope`, the derivative of
    /// each entry of C by its output).
    fn factor_and_slope(&self, raw: &Tensor) -> Result<(Tensor, Tensor)> {
        let diag = self.diagonal.to_dtype(raw.dtype())?;
        let (soft, sigmoid) = Activation::Softplus.apply_with_derivative(raw)?;
        let off = diag.affine(-1.0, 1.0)?;
        let entries = (raw.broadcast_mul(&off)? + soft.broadcast_mul(&diag)?)?;
        let slope = (sigmoid.broadcast_mul(&diag)?.broadcast_add(&off))?;
        Ok((self.place(&entries)?, slope))
    }

    fn factor(&self, raw: &Tensor) -> Result<Tensor> {
        Ok(self.factor_and_slope(raw)?.0)
    }

    /// The entries `[.., n(n+1)/2]` as lower-triangular matrices `[.., n, n]`.
    fn place(&self, entries: &Tensor) -> Result<Tensor> {
        let n = self.dof;
        let scatter = self.scatter.to_dtype(entries.dtype())?;
        let mut dims = entries.dims().to_vec();
        let k = dims.pop().expect("entries have a last axis");
        let lead: usize = dims.iter().product();
        let flat = crate::exec::matmul(&entries.contiguous()?.reshape((lead, k))?, &scatter)?;
        dims.extend([n, n]);
        Ok(flat.reshape(dims)?)
    }

    fn with_floor(&self, m: &Tensor) -> Result<Tensor> {
        let eye = Tensor::eye(self.dof, m.dtype(), m.device())?;
        Ok(m.broadcast_add(&(eye * MASS_FLOOR)?)?)
    }
}

/// The diagonal mask and the scatter matrix of an n × n lower triangle stored row by row.
fn triangle(n: usize, dtype: DType, device: &Device) -> Result<(Tensor, Tensor)> {
    let entries = n * (n + 1) / 2;
    let mut diagonal = vec![0f64; entries];
    let mut scatter = vec![0f64; entries * n * n];
    let mut e = 0;
    for i in 0..n {
        for j in 0..=i {
            diagonal[e] = if i == j { 1.0 } else { 0.0 };
            scatter[e * n * n + i * n + j] = 1.0;
            e += 1;
        }
    }
    Ok((
        Tensor::from_vec(diagonal, entries, device)?.to_dtype(dtype)?,
        Tensor::from_vec(scatter, (entries, n * n), device)?.to_dtype(dtype)?,
    ))
}

impl DeepLagrangian {
    /// A DeLaN-style model for `dof` degrees of freedom.
    pub fn from_networks(dof: usize, hidden: &[usize], activation: Activation, vb: VarBuilder) -> Result<Self> {
        Ok(EulerLagrange::new(MassAndPotential::new(dof, hidden, activation, vb)?))
    }
}

impl Lagrangian for MassAndPotential {
    fn degrees_of_freedom(&self) -> usize {
        self.dof
    }

    fn lagrangian(&self, z: &Tensor) -> Result<Tensor> {
        Ok(self.jet(z)?.value)
    }

    /// With M = CCᵀ + εI: ∂L/∂q̇ = Mq̇, ∂²L/∂q̇² = M, ∂²L/∂q̇ᵢ∂qⱼ = (∂M/∂qⱼ q̇)ᵢ and
    /// ∂L/∂qⱼ = ½ q̇ᵀ(∂M/∂qⱼ)q̇ − ∂V/∂qⱼ, where ∂M/∂qⱼ = ĊⱼCᵀ + CĊⱼᵀ from the mass network's
    /// tangents along each eⱼ.
    fn jet(&self, z: &Tensor) -> Result<LagrangianJet> {
        check_state(z, self.dof)?;
        let n = self.dof;
        let (q, v) = split_qp(z)?;
        let q = q.contiguous()?;
        let eye = Tensor::eye(n, z.dtype(), z.device())?;
        let (raw, raw_dot) = self.mass.forward_with_tangents(&q, &eye)?; // [b, k], [b, n, k]
        let (c, slope) = self.factor_and_slope(&raw)?;
        let c_dot = self.place(&raw_dot.broadcast_mul(&slope.unsqueeze(1)?)?)?; // [b, n, n, n]: Ċⱼ
        let ct = c.transpose(1, 2)?.unsqueeze(1)?; // [b, 1, n, n]
        let half = small_matmul(&c_dot, &ct.broadcast_as(c_dot.dims())?.contiguous()?)?; // ĊⱼCᵀ
        let dm = (&half + half.transpose(2, 3)?)?; // [b, j, n, n]
        let mass = self.with_floor(&small_matmul(&c, &c.transpose(1, 2)?)?)?;
        let (potential, dv_dq) = self.potential.value_and_input_grad(&q)?;
        let momentum = small_matvec(&mass, &v)?;
        let dm_v = small_matvec(&dm, &v.unsqueeze(1)?)?; // [b, j, i] = (∂M/∂qⱼ q̇)ᵢ
        let kinetic = ((&v * &momentum)?.sum(D::Minus1)? * 0.5)?;
        let dt_dq = ((dm_v.broadcast_mul(&v.unsqueeze(1)?)?.sum(D::Minus1)?) * 0.5)?;
        Ok(LagrangianJet {
            value: (kinetic - potential)?,
            dl_dq: (dt_dq - dv_dq)?,
            dl_dv: momentum,
            mass,
            mixed: dm_v.transpose(1, 2)?.contiguous()?,
        })
    }

    fn mass_name(&self) -> &'static str {
        "the learned mass matrix M(q)"
    }
}
