//! A checkpoint read by a plain candle program (examples/load_checkpoint.rs, which uses no hnn
//! crate and candle's own autograd for ∇H) agrees with hnn's model.

#[allow(dead_code)]
#[path = "../examples/load_checkpoint.rs"]
mod plain;

use candle_core::{DType, Device, Tensor};
use hnn::core::{Hamiltonian, VectorField};
use hnn::train::checkpoint::{self, TrainingInfo};
use hnn::train::{ModelKind, ModelSpec, ModelState};

#[test]
fn plain_candle_reads_checkpoints_and_agrees_to_1e6() {
    let dir = tempfile::tempdir().unwrap();
    for dtype in [DType::F32, DType::F64] {
        let spec =
            ModelSpec { kind: ModelKind::HNN, dof: 2, hidden: vec![64, 48], activation: hnn_core::Activation::Tanh };
        let state = ModelState::new(spec, dtype, &Device::Cpu, 11).unwrap();
        let path = dir.path().join(format!("hnn_{dtype:?}.safetensors"));
        checkpoint::save(&state, &TrainingInfo::default(), &path).unwrap();

        let plain = plain::PlainHnn::load(&path, &Device::Cpu).unwrap();
        let (ours, _) = checkpoint::load(&path, &Device::Cpu, Some(DType::F64), None).unwrap();
        let z = Tensor::randn(0f64, 1.0, (16, 4), &Device::Cpu).unwrap();
        let h = ours.model.downcast_ref::<hnn::core::NeuralHamiltonian>().expect("an HNN");
        let (e1, e2) = (plain.energy(&z).unwrap(), h.energy(&z).unwrap());
        let (f1, f2) = (plain.time_derivatives(&z).unwrap(), ours.model.time_derivatives(&z).unwrap());
        let rel = |a: &Tensor, b: &Tensor| {
            let d = (a - b).unwrap().sqr().unwrap().sum_all().unwrap().to_scalar::<f64>().unwrap().sqrt();
            d / b.sqr().unwrap().sum_all().unwrap().to_scalar::<f64>().unwrap().sqrt()
        };
        assert!(rel(&e1, &e2) < 1e-6, "{dtype:?}: energy differs by {:.2e}", rel(&e1, &e2));
        assert!(rel(&f1, &f2) < 1e-6, "{dtype:?}: field differs by {:.2e}", rel(&f1, &f2));
    }
}
