//! Analytic Hamiltonians written out by hand for the tests, and small helpers.
#![allow(dead_code)]

use candle_core::{DType, Device, Tensor};
use hnn_core::symplectic::{join_qp, split_qp};
use hnn_core::{Hamiltonian, Result};

/// H = p²/2m + k q²/2 (any number of independent oscillators).
pub struct Oscillator {
    pub m: f64,
    pub k: f64,
    pub n: usize,
}

impl Hamiltonian for Oscillator {
    fn degrees_of_freedom(&self) -> usize {
        self.n
    }
    fn energy(&self, z: &Tensor) -> Result<Tensor> {
        let (q, p) = split_qp(z)?;
        Ok(((p.sqr()? * (0.5 / self.m))? + (q.sqr()? * (0.5 * self.k))?)?.sum(1)?)
    }
    fn grad(&self, z: &Tensor) -> Result<Tensor> {
        let (q, p) = split_qp(z)?;
        join_qp(&(q * self.k)?, &(p / self.m)?)
    }
    fn is_separable(&self) -> bool {
        true
    }
}

/// The reference pendulum H = 3(1 − cos q) + p².
pub struct Pendulum;

impl Hamiltonian for Pendulum {
    fn degrees_of_freedom(&self) -> usize {
        1
    }
    fn energy(&self, z: &Tensor) -> Result<Tensor> {
        let (q, p) = split_qp(z)?;
        Ok(((q.cos()?.affine(-3.0, 3.0))? + p.sqr()?)?.sum(1)?)
    }
    fn grad(&self, z: &Tensor) -> Result<Tensor> {
        let (q, p) = split_qp(z)?;
        join_qp(&(q.sin()? * 3.0)?, &(p * 2.0)?)
    }
    fn is_separable(&self) -> bool {
        true
    }
}

/// Hénon–Heiles: H = (p₁² + p₂²)/2 + (q₁² + q₂²)/2 + q₁²q₂ − q₂³/3. Separable, chaotic, 2 dof.
pub struct HenonHeiles;

impl Hamiltonian for HenonHeiles {
    fn degrees_of_freedom(&self) -> usize {
        2
    }
    fn energy(&self, z: &Tensor) -> Result<Tensor> {
        let (q, p) = split_qp(z)?;
        let (q1, q2) = (q.narrow(1, 0, 1)?, q.narrow(1, 1, 1)?);
        let kinetic = (p.sqr()?.sum(1)? * 0.5)?;
        let v = ((q.sqr()?.sum_keepdim(1)? * 0.5)? + (q1.sqr()? * &q2)? - (q2.powf(3.0)? / 3.0)?)?;
        Ok((kinetic + v.squeeze(1)?)?)
    }
    fn grad(&self, z: &Tensor) -> Result<Tensor> {
        let (q, p) = split_qp(z)?;
        let (q1, q2) = (q.narrow(1, 0, 1)?, q.narrow(1, 1, 1)?);
        let g1 = (&q1 + (&q1 * &q2)? * 2.0)?;
        let g2 = ((&q2 + q1.sqr()?)? - q2.sqr()?)?;
        join_qp(&Tensor::cat(&[g1, g2], 1)?, &p)
    }
    fn is_separable(&self) -> bool {
        true
    }
}

/// A non-separable Hamiltonian: H = (q² + 1)(p² + 1)/2 (one dof per column, summed).
pub struct NonSeparable;

impl Hamiltonian for NonSeparable {
    fn degrees_of_freedom(&self) -> usize {
        1
    }
    fn energy(&self, z: &Tensor) -> Result<Tensor> {
        let (q, p) = split_qp(z)?;
        Ok((((q.sqr()? + 1.0)? * (p.sqr()? + 1.0)?)? * 0.5)?.sum(1)?)
    }
    fn grad(&self, z: &Tensor) -> Result<Tensor> {
        let (q, p) = split_qp(z)?;
        let gq = (&q * (p.sqr()? + 1.0)?)?;
        let gp = (&p * (q.sqr()? + 1.0)?)?;
        join_qp(&gq, &gp)
    }
}

/// Planar two-body gravity, m = G = 1: z = (x₁, y₁, x₂, y₂, px₁, py₁, px₂, py₂),
/// H = |p|²/2 − 1/r.
pub struct Kepler;

impl Kepler {
    fn separation(q: &Tensor) -> Result<(Tensor, Tensor)> {
        let d = (q.narrow(1, 0, 2)? - q.narrow(1, 2, 2)?)?;
        let r = d.sqr()?.sum_keepdim(1)?.sqrt()?;
        Ok((d, r))
    }
}

impl Hamiltonian for Kepler {
    fn degrees_of_freedom(&self) -> usize {
        4
    }
    fn energy(&self, z: &Tensor) -> Result<Tensor> {
        let (q, p) = split_qp(z)?;
        let (_, r) = Self::separation(&q)?;
        Ok(((p.sqr()?.sum(1)? * 0.5)? - r.recip()?.squeeze(1)?)?)
    }
    fn grad(&self, z: &Tensor) -> Result<Tensor> {
        let (q, p) = split_qp(z)?;
        let (d, r) = Self::separation(&q)?;
        let f = d.broadcast_div(&r.powf(3.0)?)?; // ∂H/∂q₁ = d/r³, ∂H/∂q₂ = −d/r³
        join_qp(&Tensor::cat(&[&f, &f.neg()?], 1)?, &p)
    }
    fn is_separable(&self) -> bool {
        true
    }
}

/// A tensor from rows of f64.
pub fn tensor(rows: &[Vec<f64>], dtype: DType) -> Tensor {
    let cols = rows[0].len();
    let flat: Vec<f64> = rows.concat();
    Tensor::from_vec(flat, (rows.len(), cols), &Device::Cpu).unwrap().to_dtype(dtype).unwrap()
}

/// Tensor to Vec<Vec<f64>>.
pub fn rows(t: &Tensor) -> Vec<Vec<f64>> {
    t.to_dtype(DType::F64).unwrap().to_vec2::<f64>().unwrap()
}

/// max |a − b|.
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a.to_dtype(DType::F64).unwrap() - b.to_dtype(DType::F64).unwrap())
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f64>()
        .unwrap()
}

/// Least-squares slope of log(err) against log(dt).
pub fn loglog_slope(dts: &[f64], errs: &[f64]) -> f64 {
    let xs: Vec<f64> = dts.iter().map(|d| d.ln()).collect();
    let ys: Vec<f64> = errs.iter().map(|e| e.ln()).collect();
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    sxy / sxx
}
