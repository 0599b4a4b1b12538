//! The Dormand–Prince 5(4) pair (scipy's `RK45`, what the reference code evaluates with): its
//! tableau, its 4th-order error estimate and Shampine's quartic dense output.

use super::pair::Pair;
use super::state_ops::StateOps;
use crate::error::Result;

/// Nodes c of the Dormand–Prince tableau (7 stages, FSAL).
pub const C: [f64; 7] = [0.0, 1.0 / 5.0, 3.0 / 10.0, 4.0 / 5.0, 8.0 / 9.0, 1.0, 1.0];

/// Coupling coefficients a (row i uses the first i stages).
pub const A: [[f64; 6]; 7] = [
    [0.0; 6],
    [1.0 / 5.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [3.0 / 40.0, 9.0 / 40.0, 0.0, 0.0, 0.0, 0.0],
    [44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0, 0.0, 0.0, 0.0],
    [19372.0 / 6561.0, -25360.0 / 2187.0, 64448.0 / 6561.0, -212.0 / 729.0, 0.0, 0.0],
    [9017.0 / 3168.0, -355.0 / 33.0, 46732.0 / 5247.0, 49.0 / 176.0, -5103.0 / 18656.0, 0.0],
    [35.0 / 384.0, 0.0, 500.0 / 1113.0, 125.0 / 192.0, -2187.0 / 6784.0, 11.0 / 84.0],
];

/// 5th-order weights b (equal to the last row of A: first same as last).
pub const B: [f64; 7] = [35.0 / 384.0, 0.0, 500.0 / 1113.0, 125.0 / 192.0, -2187.0 / 6784.0, 11.0 / 84.0, 0.0];

/// Error weights b − b̂ (5th minus embedded 4th order).
pub const E: [f64; 7] =
    [-71.0 / 57600.0, 0.0, 71.0 / 16695.0, -71.0 / 1920.0, 17253.0 / 339200.0, -22.0 / 525.0, 1.0 / 40.0];

/// Shampine's quartic dense output: `y(t + θh) = y + h Σᵢ kᵢ Σⱼ P[i][j] θ^(j+1)`.
pub const P: [[f64; 4]; 7] = [
    [1.0, -8048581381.0 / 2820520608.0, 8663915743.0 / 2820520608.0, -12715105075.0 / 11282082432.0],
    [0.0, 0.0, 0.0, 0.0],
    [0.0, 131558114200.0 / 32700410799.0, -68118460800.0 / 10900136933.0, 87487479700.0 / 32700410799.0],
    [0.0, -1754552775.0 / 470086768.0, 14199869525.0 / 1410260304.0, -10690763975.0 / 1880347072.0],
    [0.0, 127303824393.0 / 49829197408.0, -318862633887.0 / 49829197408.0, 701980252875.0 / 199316789632.0],
    [0.0, -282668133.0 / 205662961.0, 2019193451.0 / 616988883.0, -1453857185.0 / 822651844.0],
    [0.0, 40617522.0 / 29380423.0, -110615467.0 / 29380423.0, 69997945.0 / 29380423.0],
];

/// The 5(4) pair: 7 stages (first same as last), the error from b − b̂, quartic dense output.
pub struct Dopri5;

impl Pair for Dopri5 {
    const ERROR_ORDER: f64 = 4.0;
    const STEP_STAGES: usize = 7;

    /// The seven stages of one step from y with first stage k1; returns (y_new, [k1..k7]).
    fn stages<O: StateOps>(ops: &mut O, y: &O::State, k1: &O::State, h: f64) -> Result<(O::State, Vec<O::State>)> {
        let mut k: Vec<O::State> = Vec::with_capacity(7);
        k.push(k1.clone());
        for (i, row) in A.iter().enumerate().skip(1) {
            let terms: Vec<(f64, &O::State)> = row.iter().take(i).zip(&k).map(|(a, k)| (h * a, k)).collect();
            let yi = ops.lincomb(Some(y), &terms)?;
            if i == 6 {
                // The 7th stage point is the 5th-order solution itself (FSAL).
                let k7 = ops.derivative(&yi)?;
                k.push(k7);
                return Ok((yi, k));
            }
            k.push(ops.derivative(&yi)?);
        }
        unreachable!("the tableau has seven stages")
    }

    fn error_norms<O: StateOps>(
        ops: &O,
        k: &[O::State],
        h: f64,
        y: &O::State,
        y_new: &O::State,
        rtol: f64,
        atol: f64,
    ) -> Result<Vec<f64>> {
        // The error h Σ eᵢ kᵢ, scaled: RMS per trajectory.
        let error = ops.lincomb(None, &E.map(|e| h * e).iter().zip(k).map(|(e, k)| (*e, k)).collect::<Vec<_>>())?;
        let (sums, n) = ops.scaled_row_sums(&error, y, y_new, rtol, atol)?;
        Ok(sums.iter().map(|s| (s / n as f64).sqrt()).collect())
    }

    fn dense<O: StateOps>(
        _: &mut O,
        _: &O::State,
        _: &O::State,
        _: &mut Vec<O::State>,
        _: f64,
    ) -> Result<Vec<O::State>> {
        // The quartic reads the step's own stages.
        Ok(vec![])
    }

    /// y + h Σᵢ kᵢ Σⱼ P[i][j] θ^{j+1}, from the step's stages.
    fn dense_at<O: StateOps>(
        ops: &O,
        y: &O::State,
        k: &[O::State],
        _: &[O::State],
        h: f64,
        theta: f64,
    ) -> Result<O::State> {
        let terms: Vec<(f64, &O::State)> = (0..7)
            .map(|i| {
                let p = &P[i];
                (h * (theta * (p[0] + theta * (p[1] + theta * (p[2] + theta * p[3])))), &k[i])
            })
            .collect();
        ops.lincomb(Some(y), &terms)
    }
}
