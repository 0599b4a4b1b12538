//! `exec::matmul` (hnn's CPU product as a candle op) against candle's own matmul: values on
//! dense, transposed and narrowed operands, large products on several threads, and the
//! gradients autograd takes through it.

use candle_core::{DType, Device, Tensor, Var};
use hnn_core::exec;

fn random(rows: usize, cols: usize, dtype: DType, seed: u64) -> Tensor {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let v: Vec<f64> = (0..rows * cols).map(|_| rng.random_range(-1.0..1.0)).collect();
    Tensor::from_vec(v, (rows, cols), &Device::Cpu).unwrap().to_dtype(dtype).unwrap()
}

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.dims(), b.dims());
    let d = (a.to_dtype(DType::F64).unwrap() - b.to_dtype(DType::F64).unwrap()).unwrap();
    d.abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f64>().unwrap()
}

#[test]
fn products_equal_candles_on_every_layout() {
    for (dtype, tol) in [(DType::F64, 1e-12), (DType::F32, 1e-4)] {
        for &(m, k, n) in &[(1, 1, 1), (3, 2, 1), (80, 64, 64), (7, 200, 3), (1000, 200, 200)] {
            let a = random(m, k, dtype, 1);
            let b = random(k, n, dtype, 2);
            let want = a.matmul(&b).unwrap();
            assert!(max_diff(&exec::matmul(&a, &b).unwrap(), &want) < tol, "{m}×{k}×{n} {dtype:?}");
            // Transposed views, as the layers use them (x Wᵀ), and a narrowed (offset) operand.
            let bt = b.t().unwrap().contiguous().unwrap();
            assert!(max_diff(&exec::matmul(&a, &bt.t().unwrap()).unwrap(), &want) < tol);
            let wide = random(m, k + 3, dtype, 3);
            let narrow = wide.narrow(1, 2, k).unwrap();
            let want = narrow.contiguous().unwrap().matmul(&b).unwrap();
            assert!(max_diff(&exec::matmul(&narrow, &b).unwrap(), &want) < tol);
        }
    }
    // Above the threshold for threads (64 M multiply–adds), in a pool of 2.
    let (a, b) = (random(2048, 256, DType::F64, 4), random(256, 256, DType::F64, 5));
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    let got = pool.install(|| exec::matmul(&a, &b).unwrap());
    assert!(max_diff(&got, &a.matmul(&b).unwrap()) < 1e-12);
}

#[test]
fn gradients_through_it_equal_candles() {
    let a = Var::from_tensor(&random(5, 4, DType::F64, 6)).unwrap();
    let b = Var::from_tensor(&random(4, 3, DType::F64, 7)).unwrap();
    let weights = random(5, 3, DType::F64, 8);
    let loss = |y: Tensor| (y.tanh().unwrap() * &weights).unwrap().sum_all().unwrap();
    let ours = loss(exec::matmul(a.as_tensor(), b.as_tensor()).unwrap()).backward().unwrap();
    let theirs = loss(a.matmul(&b).unwrap()).backward().unwrap();
    for v in [&a, &b] {
        let (g1, g2) = (ours.get(v).unwrap(), theirs.get(v).unwrap());
        assert!(max_diff(g1, g2) < 1e-13);
    }
    // Second order: the input gradient of an MLP is itself differentiated in training.
    let x = Var::from_tensor(&random(5, 4, DType::F64, 9)).unwrap();
    let grad_of = |mm: &dyn Fn(&Tensor, &Tensor) -> Tensor| {
        let h = mm(x.as_tensor(), b.as_tensor()).tanh().unwrap();
        let slope = (1.0 - h.sqr().unwrap()).unwrap();
        let g = mm(&slope, &b.t().unwrap()); // ∂(Σ tanh(xB))/∂x
        g.sqr().unwrap().sum_all().unwrap().backward().unwrap()
    };
    let ours = grad_of(&|p, q| exec::matmul(p, q).unwrap());
    let theirs = grad_of(&|p, q| p.matmul(q).unwrap());
    for v in [&x, &b] {
        assert!(max_diff(ours.get(v).unwrap(), theirs.get(v).unwrap()) < 1e-12);
    }
}

#[test]
fn other_shapes_and_dtypes_fall_back_to_candle() {
    let a = random(2, 3, DType::F64, 10).to_dtype(DType::F16).unwrap();
    let b = random(3, 2, DType::F64, 11).to_dtype(DType::F16).unwrap();
    assert_eq!(exec::matmul(&a, &b).unwrap().dims(), &[2, 2]);
    let x = Tensor::zeros((4, 2, 3), DType::F32, &Device::Cpu).unwrap();
    let y = Tensor::zeros((4, 3, 5), DType::F32, &Device::Cpu).unwrap();
    assert_eq!(exec::matmul(&x, &y).unwrap().dims(), &[4, 2, 5]);
    assert!(exec::matmul(&random(2, 3, DType::F32, 1), &random(2, 3, DType::F32, 2)).is_err());
}
