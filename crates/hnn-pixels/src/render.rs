//! Our own rasterizer of a pendulum: a rod from the pivot to a disc-shaped bob, white on black,
//! anti-aliased by signed distance (a pixel's grey level is the covered fraction of a one-pixel
//! box around its centre, approximated as clamp(½ − d, 0, 1) with d the signed distance from the
//! pixel centre to the figure).
//!
//! Image coordinates: x to the right, y down, pixel (row i, column j) centred at (j + ½, i + ½);
//! the pivot is the image centre; θ = 0 hangs straight down and θ > 0 swings to the right.

use serde::{Deserialize, Serialize};

/// How frames are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendulumRenderer {
    /// Image side in pixels (square images).
    pub size: usize,
    /// Rod length as a fraction of half the image side.
    pub rod_length: f64,
    /// Bob radius in pixels.
    pub bob_radius: f64,
    /// Rod width in pixels (0: no rod).
    pub rod_width: f64,
}

impl Default for PendulumRenderer {
    /// 28 × 28, rod to 75% of the half-width, bob radius 2.5 px, rod 1 px.
    fn default() -> Self {
        Self { size: 28, rod_length: 0.75, bob_radius: 2.5, rod_width: 1.0 }
    }
}

impl PendulumRenderer {
    /// The pivot (x, y) in pixels.
    pub fn pivot(&self) -> (f64, f64) {
        let c = self.size as f64 / 2.0;
        (c, c)
    }

    /// Rod length in pixels.
    pub fn length_px(&self) -> f64 {
        self.rod_length * self.size as f64 / 2.0
    }

    /// Where the bob's centre lands for angle θ.
    pub fn bob_center(&self, theta: f64) -> (f64, f64) {
        let (cx, cy) = self.pivot();
        let l = self.length_px();
        (cx + l * theta.sin(), cy + l * theta.cos())
    }

    /// Pixels per frame.
    pub fn pixels(&self) -> usize {
        self.size * self.size
    }

    /// Draws angle θ into `out` (row-major, `size²` grey levels in [0, 1]).
    pub fn render_into(&self, theta: f64, out: &mut [f32]) {
        assert_eq!(out.len(), self.pixels(), "frame buffer size");
        let (px, py) = self.pivot();
        let (bx, by) = self.bob_center(theta);
        let (dx, dy) = (bx - px, by - py);
        let len2 = dx * dx + dy * dy;
        for i in 0..self.size {
            for j in 0..self.size {
                let (x, y) = (j as f64 + 0.5, i as f64 + 0.5);
                let d_bob = (x - bx).hypot(y - by) - self.bob_radius;
                let d = if self.rod_width > 0.0 {
                    let t = (((x - px) * dx + (y - py) * dy) / len2).clamp(0.0, 1.0);
                    let d_rod = (x - px - t * dx).hypot(y - py - t * dy) - 0.5 * self.rod_width;
                    d_bob.min(d_rod)
                } else {
                    d_bob
                };
                out[i * self.size + j] = (0.5 - d).clamp(0.0, 1.0) as f32;
            }
        }
    }

    /// A new frame for angle θ.
    pub fn render(&self, theta: f64) -> Vec<f32> {
        let mut out = vec![0.0; self.pixels()];
        self.render_into(theta, &mut out);
        out
    }

    /// Checks the settings.
    pub fn validate(&self) -> hnn_systems::Result<()> {
        let bad = |m: String| Err(hnn_systems::Error::InvalidSetting(m));
        if self.size < 4 {
            return bad(format!("renderer.size must be at least 4, got {}", self.size));
        }
        if !(self.rod_length > 0.0 && self.rod_length <= 1.0) {
            return bad(format!("renderer.rod_length must be in (0, 1], got {}", self.rod_length));
        }
        if !(self.bob_radius > 0.0 && self.bob_radius.is_finite()) || self.rod_width.is_nan() || self.rod_width < 0.0 {
            return bad("renderer.bob_radius must be positive and rod_width ≥ 0".into());
        }
        Ok(())
    }
}
