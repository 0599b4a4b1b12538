// README's program: fit an HNN to a data file, predict, roll out, save. It writes
// `pendulum.npz` and `pendulum_hnn.safetensors` in the current folder; `tests/readme.rs` runs
// it and checks that README quotes it as it is.
//
// `cargo run --release --example readme`

use hnn::prelude::*;

fn main() -> hnn::Result<()> {
    // Your data from numpy: np.savez("pendulum.npz", t=t, z=z), t [T] and z [T, B, 2n] (q, then p),
    // or pairs np.savez(…, z=z, dz=dz), both [N, 2n]. Here the paper's pendulum (`hnn data pendulum --out pendulum.npz`).
    hnn::systems::io::save(&hnn::systems::TrajectoryTask::pendulum().generate(0)?, "pendulum.npz".as_ref())?;
    let data = load_dataset("pendulum.npz", &TrajectoryOptions::default())?;
    let mut model = HnnModel::new(&ModelConfig::default(), data.meta.dof)?;
    let report = model.fit(&data, TrainConfig { steps: 500, ..TrainConfig::default() })?;
    println!("train loss {:.2e}, test loss {:.2e}", report.train_curve[499], model.evaluate(&data)?.test_loss.mean);
    let z0 = Tensor::new(&[[1.0f64, 0.0]], &Device::Cpu)?;
    let (dz, h) = (model.predict_derivatives(&z0)?.to_vec2::<f64>()?, model.energy(&z0)?.to_vec1::<f64>()?);
    println!("ż(1, 0) = {dz:?}, H(1, 0) = {h:?}");
    let times: Vec<f64> = (0..=100).map(|k| 0.1 * k as f64).collect();
    let orbit = model.rollout(&z0, &times, &Solver::dopri5(1e-9, 1e-9))?; // [101, 1, 2]
    println!("z(10) = {:?}", orbit.get(100)?.to_vec2::<f64>()?);
    model.save("pendulum_hnn.safetensors")
}
