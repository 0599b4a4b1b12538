//! The fast f32 and f64 tanh: accuracy over the f32 range and a dense f64 sweep, special values,
//! and gradients through the candle op.

use candle_core::{DType, Device, Tensor, Var};
use hnn_core::fast_tanh::{tanh, tanh_f32, tanh_f64};

fn ulp_error(x: f32) -> f64 {
    let exact = (x as f64).tanh();
    let got = tanh_f32(x) as f64;
    let ulp = {
        let e = (exact.abs() as f32).max(f32::MIN_POSITIVE);
        (f32::from_bits(e.to_bits() + 1) - e) as f64
    };
    (got - exact).abs() / ulp
}

#[test]
fn accurate_to_a_few_ulp_over_the_whole_range() {
    let mut worst: f64 = 0.0;
    let mut sum = 0.0;
    let mut n = 0u64;
    // Every 97th f32 bit pattern: all magnitudes, both signs, subnormals included.
    for bits in (0..u32::MAX).step_by(97) {
        let x = f32::from_bits(bits);
        if !x.is_finite() {
            continue;
        }
        let e = ulp_error(x);
        worst = worst.max(e);
        sum += e;
        n += 1;
    }
    assert!(worst <= 7.5, "max error {worst:.2} ulp");
    assert!(sum / (n as f64) < 1.0, "mean error {:.3} ulp", sum / n as f64);
}

#[test]
fn special_values() {
    assert_eq!(tanh_f32(f32::INFINITY), 1.0);
    assert_eq!(tanh_f32(f32::NEG_INFINITY), -1.0);
    assert!(tanh_f32(f32::NAN).is_nan());
    assert_eq!(tanh_f32(0.0).to_bits(), 0f32.to_bits());
    assert_eq!(tanh_f32(-0.0).to_bits(), (-0f32).to_bits());
    assert_eq!(tanh_f32(1e-30), 1e-30);
    assert_eq!(tanh_f32(f32::MIN_POSITIVE / 4.0), f32::MIN_POSITIVE / 4.0, "subnormal");
    assert_eq!(tanh_f32(100.0), 1.0);
    assert_eq!(tanh_f32(-100.0), -1.0);
    for x in [-3.0f32, -0.5, 0.001, 0.7, 2.0] {
        assert_eq!(tanh_f32(-x), -tanh_f32(x), "odd");
    }
}

#[test]
fn the_candle_op_matches_and_differentiates() {
    let x = Tensor::randn(0f32, 2.0, (64, 50), &Device::Cpu).unwrap();
    let fast = tanh(&x).unwrap();
    let reference = x.to_dtype(DType::F64).unwrap().tanh().unwrap().to_dtype(DType::F32).unwrap();
    let diff = (&fast - &reference).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
    assert!(diff < 1e-6, "{diff}");
    // Backward: d/dx Σ tanh(x) = 1 − tanh²(x).
    let v = Var::from_tensor(&x).unwrap();
    let grads = tanh(v.as_tensor()).unwrap().sum_all().unwrap().backward().unwrap();
    let g = grads.get(v.as_tensor()).unwrap();
    let expected = (1.0 - reference.sqr().unwrap()).unwrap();
    let diff = (g - expected).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
    assert!(diff < 1e-6, "{diff}");
    // A non-contiguous input works too.
    let t = x.t().unwrap();
    assert_eq!(tanh(&t).unwrap().dims(), &[50, 64]);
    // f64: the op is tanh_f64 element by element, within 1e-15 of libm's tanh.
    let x64 = x.to_dtype(DType::F64).unwrap();
    let got = tanh(&x64).unwrap().flatten_all().unwrap().to_vec1::<f64>().unwrap();
    for (g, v) in got.iter().zip(x64.flatten_all().unwrap().to_vec1::<f64>().unwrap()) {
        assert_eq!(*g, tanh_f64(v));
        assert!((g - v.tanh()).abs() < 1e-15);
    }
}

/// Error of `tanh_f64(x)` in units in the last place of libm's tanh(x) (itself within ~1 ulp).
fn ulp_error_f64(x: f64) -> f64 {
    let exact = x.tanh();
    let e = exact.abs().max(f64::MIN_POSITIVE);
    let ulp = f64::from_bits(e.to_bits() + 1) - e;
    (tanh_f64(x) - exact).abs() / ulp
}

#[test]
fn f64_accurate_to_a_few_ulp() {
    let mut worst: f64 = 0.0;
    let mut worst_at = 0.0;
    let mut check = |x: f64| {
        let e = ulp_error_f64(x);
        if e > worst {
            worst = e;
            worst_at = x;
        }
    };
    // Densely where tanh is not ±1 or x: 2·10⁶ points on [−25, 25], both branches and the seam.
    for i in 0..=2_000_000 {
        check(-25.0 + 50.0 * i as f64 / 2e6);
    }
    // Around the branch point 0.625, bit by bit.
    let seam = 0.625f64.to_bits();
    for b in seam - 50_000..seam + 50_000 {
        check(f64::from_bits(b));
        check(-f64::from_bits(b));
    }
    // Every magnitude: a stride through all positive finite bit patterns, both signs.
    for b in (0..0x7ff0_0000_0000_0000u64).step_by(0x0000_1000_0000_0007) {
        check(f64::from_bits(b));
        check(-f64::from_bits(b));
    }
    assert!(worst <= 3.0, "max error {worst:.2} ulp at x = {worst_at:e}");
}

#[test]
fn f64_special_values() {
    assert_eq!(tanh_f64(f64::INFINITY), 1.0);
    assert_eq!(tanh_f64(f64::NEG_INFINITY), -1.0);
    assert!(tanh_f64(f64::NAN).is_nan());
    assert_eq!(tanh_f64(0.0).to_bits(), 0f64.to_bits());
    assert_eq!(tanh_f64(-0.0).to_bits(), (-0f64).to_bits());
    assert_eq!(tanh_f64(1e-300), 1e-300);
    assert_eq!(tanh_f64(f64::MIN_POSITIVE / 8.0), f64::MIN_POSITIVE / 8.0, "subnormal");
    assert_eq!(tanh_f64(f64::MAX), 1.0);
    assert_eq!(tanh_f64(-30.0), -1.0);
    for x in [-3.0f64, -0.5, 0.001, 0.625, 0.7, 2.0, 19.0] {
        assert_eq!(tanh_f64(-x), -tanh_f64(x), "odd");
    }
}
