//! The README's usage snippet, compiled and run, so that the README stays true.

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use hnn::core::{init, Activation, NeuralHamiltonian, PhaseSpace, VectorField};

#[test]
fn readme_snippet_runs() -> anyhow::Result<()> {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let h = NeuralHamiltonian::new(1, &[200, 200], Activation::Tanh, vb.pp("hnn"))?;
    init::orthogonal_init(&varmap, 42)?;
    let z = Tensor::new(&[[1.0f32, 0.0]], &Device::Cpu)?;
    let dz = h.time_derivatives(&z)?;
    let (q, p) = (z.narrow(1, 0, 1)?, z.narrow(1, 1, 1)?);
    let (q1, p1) = h.step(&q, &p, 0.01)?;
    assert_eq!(dz.dims(), &[1, 2]);
    // One implicit-midpoint step moves the state by about dt·ż.
    let moved = Tensor::cat(&[&q1, &p1], 1)?;
    let delta = ((moved - &z)? - (dz * 0.01)?)?.abs()?.max_all()?.to_scalar::<f32>()?;
    assert!(delta < 1e-3, "step deviates from dt·ż by {delta}");
    Ok(())
}
