//! The affine map from latent states to the pendulum's (θ, p), fitted by least squares, through
//! which latent rollouts get a physical energy.

/// Least squares S ≈ [Z, 1]·A for Z `[N, 2]`, S `[N, 2]`: returns A (3 × 2).
pub(super) fn fit_linear_map(z: &[Vec<f64>], s: &[Vec<f64>]) -> [[f64; 2]; 3] {
    let mut xtx = [[0.0; 3]; 3];
    let mut xts = [[0.0; 2]; 3];
    for (zi, si) in z.iter().zip(s) {
        let x = [zi[0], zi[1], 1.0];
        for a in 0..3 {
            for b in 0..3 {
                xtx[a][b] += x[a] * x[b];
            }
            for c in 0..2 {
                xts[a][c] += x[a] * si[c];
            }
        }
    }
    // Solve the 3×3 system by Gauss–Jordan with partial pivoting.
    let mut m = [[0.0; 5]; 3];
    for a in 0..3 {
        m[a][..3].copy_from_slice(&xtx[a]);
        m[a][3..].copy_from_slice(&xts[a]);
    }
    for col in 0..3 {
        let piv = (col..3).max_by(|&i, &j| m[i][col].abs().total_cmp(&m[j][col].abs())).expect("rows");
        m.swap(col, piv);
        let p = m[col][col];
        if p.abs() < 1e-300 {
            continue;
        }
        m[col].iter_mut().for_each(|v| *v /= p);
        let pivot_row = m[col];
        for (r, row) in m.iter_mut().enumerate() {
            if r != col {
                let f = row[col];
                row.iter_mut().zip(pivot_row).for_each(|(v, pv)| *v -= f * pv);
            }
        }
    }
    [[m[0][3], m[0][4]], [m[1][3], m[1][4]], [m[2][3], m[2][4]]]
}

pub(super) fn map_state(a: &[[f64; 2]; 3], z: &[f64]) -> [f64; 2] {
    [a[0][0] * z[0] + a[1][0] * z[1] + a[2][0], a[0][1] * z[0] + a[1][1] * z[1] + a[2][1]]
}
