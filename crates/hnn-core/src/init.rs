//! Deterministic, seeded initialisation of the variables of a [`VarMap`].
//!
//! candle's own random initialisers draw from an unseeded generator, so runs would not be
//! reproducible. [`orthogonal_init`] re-initialises every variable of a map from one seed, in
//! name order (independent of hash-map order and device): 2-D `*.weight` matrices orthogonally
//! (as `torch.nn.init.orthogonal_`, the reference code's choice), `*.bias` vectors uniformly in
//! ±1/√fan_in (PyTorch's default for `Linear`).

use crate::error::{Error, Result};
use candle_core::Tensor;
use candle_nn::VarMap;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// A `rows × cols` matrix with orthonormal rows (rows ≤ cols) or columns (rows ≥ cols), drawn
/// as the Q factor of a Gaussian matrix with the sign convention that makes it Haar-distributed.
pub fn orthogonal_matrix(rows: usize, cols: usize, rng: &mut impl Rng) -> Vec<f64> {
    let (m, k) = if rows >= cols { (rows, cols) } else { (cols, rows) };
    // k column vectors of length m, orthonormalised by modified Gram–Schmidt (R's diagonal > 0,
    // which is the Haar sign fix). Columns stored contiguously.
    let mut a: Vec<f64> = (0..m * k).map(|_| rng.sample::<f64, _>(StandardNormal)).collect();
    for j in 0..k {
        for i in 0..j {
            let (done, rest) = a.split_at_mut(j * m);
            let qi = &done[i * m..(i + 1) * m];
            let aj = &mut rest[..m];
            let dot: f64 = qi.iter().zip(aj.iter()).map(|(x, y)| x * y).sum();
            aj.iter_mut().zip(qi).for_each(|(y, x)| *y -= dot * x);
        }
        let col = &mut a[j * m..(j + 1) * m];
        let norm = col.iter().map(|x| x * x).sum::<f64>().sqrt();
        col.iter_mut().for_each(|x| *x /= norm);
    }
    // a holds Q (m × k) column-major, i.e. Qᵀ row-major (k × m).
    if rows >= cols {
        // want rows × cols = m × k row-major: transpose.
        let mut out = vec![0.0; m * k];
        for j in 0..k {
            for i in 0..m {
                out[i * k + j] = a[j * m + i];
            }
        }
        out
    } else {
        a
    }
}

/// Re-initialises every variable in `varmap` from `seed` (see the module docs).
pub fn orthogonal_init(varmap: &VarMap, seed: u64) -> Result<()> {
    let data = varmap.data().lock().map_err(|_| Error::InvalidArgument("variable map lock poisoned".into()))?;
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for name in names {
        let var = &data[name];
        let dims = var.dims().to_vec();
        let values = if name.ends_with("weight") && dims.len() == 2 {
            orthogonal_matrix(dims[0], dims[1], &mut rng)
        } else if name.ends_with("bias") && dims.len() == 1 {
            let weight_name = format!("{}weight", &name[..name.len() - 4]);
            let fan_in = data.get(&weight_name).map(|w| w.dims()[w.dims().len() - 1]).unwrap_or(dims[0]);
            let bound = 1.0 / (fan_in as f64).sqrt();
            (0..dims[0]).map(|_| rng.random_range(-bound..bound)).collect()
        } else {
            // Anything else: a small Gaussian.
            let count: usize = dims.iter().product();
            (0..count).map(|_| 0.1 * rng.sample::<f64, _>(StandardNormal)).collect()
        };
        let t = Tensor::from_vec(values, dims.as_slice(), var.device())?.to_dtype(var.dtype())?;
        var.set(&t)?;
    }
    Ok(())
}
