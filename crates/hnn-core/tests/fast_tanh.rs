//! The fast f32 tanh: accuracy over the f32 range, special values, and gradients through it.

use candle_core::{DType, Device, Tensor, Var};
use hnn_core::fast_tanh::{tanh, tanh_f32};

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
    // f64 uses candle's own tanh, exactly.
    let x64 = x.to_dtype(DType::F64).unwrap();
    assert_eq!(tanh(&x64).unwrap().to_vec2::<f64>().unwrap(), x64.tanh().unwrap().to_vec2::<f64>().unwrap());
}
