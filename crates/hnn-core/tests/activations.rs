//! Each activation is one formula (`Activation::derivatives`) evaluated on two backends: candle
//! tensors (the tensor path, differentiable) and plain f32/f64 (the CPU kernels). Here the two
//! are held against each other, and σ′, σ″ against finite differences of σ and σ′.

use candle_core::{DType, Device, Tensor};
use hnn_core::activation::Order;
use hnn_core::Activation;

/// Points across the range the networks see, including 0, tiny and saturating inputs.
fn points() -> Vec<f64> {
    let mut u: Vec<f64> = (-60..=60).map(|i| i as f64 * 0.125).collect();
    u.extend([1e-5, -1e-5, 3e-4, 12.0, -12.0, 25.0]);
    u
}

fn tensor_path(act: Activation, u: &[f64], dtype: DType) -> [Vec<f64>; 3] {
    let t = Tensor::new(u, &Device::Cpu).unwrap().to_dtype(dtype).unwrap();
    let (a, d1, d2) = act.apply_with_two_derivatives(&t).unwrap();
    let host = |t: Tensor| t.to_dtype(DType::F64).unwrap().to_vec1::<f64>().unwrap();
    // The cheaper orders give the same numbers as the full one.
    let (a1, d11) = act.apply_with_derivative(&t).unwrap();
    assert_eq!(host(a1), host(a.clone()), "{act}: σ from apply_with_derivative");
    assert_eq!(host(d11), host(d1.clone()), "{act}: σ′ from apply_with_derivative");
    assert_eq!(host(act.apply(&t).unwrap()), host(a.clone()), "{act}: σ from apply");
    [host(a), host(d1), host(d2)]
}

fn scalar_path(act: Activation, u: &[f64], dtype: DType) -> [Vec<f64>; 3] {
    let mut out = [vec![], vec![], vec![]];
    for &x in u {
        let (a, d1, d2) = match dtype {
            DType::F32 => {
                let (a, d1, d2) = act.at(x as f32, Order::Second);
                (a as f64, d1 as f64, d2 as f64)
            }
            _ => act.at(x, Order::Second),
        };
        out[0].push(a);
        out[1].push(d1);
        out[2].push(d2);
    }
    out
}

#[test]
fn tensor_path_and_kernel_scalars_evaluate_the_same_formula() {
    let u = points();
    for act in Activation::ALL {
        for (dtype, tol) in [(DType::F64, 1e-14), (DType::F32, 2e-6)] {
            let tensors = tensor_path(act, &u, dtype);
            let scalars = scalar_path(act, &u, dtype);
            for (k, name) in ["σ", "σ′", "σ″"].iter().enumerate() {
                for (i, (a, b)) in tensors[k].iter().zip(&scalars[k]).enumerate() {
                    let err = (a - b).abs() / (1.0 + b.abs());
                    assert!(err <= tol, "{act} {dtype:?} {name}({}) : tensor {a} vs scalar {b}", u[i]);
                }
            }
        }
    }
}

#[test]
fn derivatives_match_finite_differences() {
    let h = 1e-5;
    for act in Activation::ALL {
        for &x in &points() {
            if act == Activation::Relu && x.abs() < 2.0 * h {
                continue; // the kink
            }
            let (_, d1, d2) = act.at(x, Order::Second);
            let (ap, d1p, _) = act.at(x + h, Order::Second);
            let (am, d1m, _) = act.at(x - h, Order::Second);
            let (fd1, fd2) = ((ap - am) / (2.0 * h), (d1p - d1m) / (2.0 * h));
            assert!((fd1 - d1).abs() < 1e-7 * (1.0 + d1.abs()), "{act}: σ′({x}) = {d1}, differences {fd1}");
            assert!((fd2 - d2).abs() < 1e-6 * (1.0 + d2.abs()), "{act}: σ″({x}) = {d2}, differences {fd2}");
        }
    }
}

#[test]
fn only_relu_lacks_curvature() {
    for act in Activation::ALL {
        assert_eq!(act.is_twice_differentiable(), act != Activation::Relu, "{act}");
        assert_eq!(act.name().parse::<Activation>().unwrap(), act);
    }
    assert!("swish".parse::<Activation>().is_err());
}
