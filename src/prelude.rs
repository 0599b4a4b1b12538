//! What a program that fits and uses models needs, in one `use hnn::prelude::*;`.

pub use candle_core::{DType, Device, Tensor};
pub use hnn_core::integrators::{ImplicitMidpoint, Leapfrog, Rk4, Yoshida4};
pub use hnn_core::{rollout, Activation, Hamiltonian, Integrator, IntegratorKind, Solver, VectorField};
pub use hnn_systems::derivatives::DerivativeSettings;
pub use hnn_systems::import::{
    load as load_dataset, pairs, trajectories, trajectories_on_grid, Trajectory, TrajectoryOptions,
};
pub use hnn_systems::{Dataset, System};
pub use hnn_train::device::{DeviceChoice, Precision};
pub use hnn_train::model::ModelKind;
pub use hnn_train::training::{Objective, Schedule, TrainConfig, TrainReport};
pub use hnn_train::{Evaluation, FitOptions, HnnModel, ModelConfig};
