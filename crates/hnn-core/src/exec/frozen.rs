//! Trained models for inference: [`Frozen`], a snapshot whose evaluation records no autograd
//! graph, through the CPU inference kernel where the model is an MLP field in f32/f64.

use super::host::HostRows;
use super::{cpu, flat, FieldForm, HostWeights, NetworkField};
use crate::activation::Activation;
use crate::error::Error;
use crate::error::Result;
use crate::hamiltonian::{Hamiltonian, VectorField};
use crate::symplectic::{check_rows, check_state};
use candle_core::{DType, Device, Tensor, WithDType};

/// An MLP's weights on the host in their own float type, made once when the model is frozen
/// (rollouts evaluate them at every stage of every step).
#[derive(Debug)]
enum Host {
    F32(HostWeights<f32>),
    F64(HostWeights<f64>),
}

/// The inference kernel of one MLP field.
#[derive(Debug)]
struct Kernel {
    host: Host,
    activation: Activation,
    input: usize,
    output: usize,
}

impl Kernel {
    /// The kernel for a network on the CPU whose parameters are all f32 or all f64.
    fn of(network: NetworkField<'_>) -> Result<Option<Self>> {
        network.state_width()?;
        let mlp = network.mlp;
        let dtype = mlp.layers().next().map(|(w, _)| w.dtype());
        let on_host = mlp
            .layers()
            .all(|(w, b)| w.device().is_cpu() && Some(w.dtype()) == dtype && b.is_none_or(|b| b.dtype() == w.dtype()));
        let host = match dtype {
            Some(DType::F32) if on_host => Host::F32(HostWeights::of(mlp, true)?),
            Some(DType::F64) if on_host => Host::F64(HostWeights::of(mlp, true)?),
            _ => return Ok(None),
        };
        let config = mlp.config();
        Ok(Some(Self { host, activation: config.activation, input: config.input, output: config.output }))
    }

    /// The weights' float type.
    fn dtype(&self) -> DType {
        match self.host {
            Host::F32(_) => DType::F32,
            Host::F64(_) => DType::F64,
        }
    }

    /// On host rows, computed in the weights' type: (output, and ∇ₓ of a scalar output for
    /// [`FieldForm::SymplecticGradient`]).
    fn rows(&self, form: FieldForm, x: &[f64]) -> (Vec<f64>, Vec<f64>) {
        match &self.host {
            Host::F64(h) => cpu::evaluate(form, &h.view(self.activation), x),
            Host::F32(h) => {
                let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
                let (y, g) = cpu::evaluate(form, &h.view(self.activation), &x32);
                let wide = |v: Vec<f32>| v.into_iter().map(f64::from).collect();
                (wide(y), wide(g))
            }
        }
    }

    /// On a `[batch, input]` tensor: (output `[batch, out]`, ∇ₓ `[batch, input]` for
    /// [`FieldForm::SymplecticGradient`]), in the tensor's dtype and on its device.
    fn tensors(&self, form: FieldForm, x: &Tensor) -> Result<(Tensor, Option<Tensor>)> {
        let (dtype, device) = (x.dtype(), x.device().clone());
        let own = x.to_device(&Device::Cpu)?.to_dtype(self.dtype())?;
        let (y, g) = match &self.host {
            Host::F32(h) => self.evaluate(form, h, &own)?,
            Host::F64(h) => self.evaluate(form, h, &own)?,
        };
        let back = |t: Tensor| -> Result<Tensor> { Ok(t.to_dtype(dtype)?.to_device(&device)?) };
        Ok((back(y)?, g.map(back).transpose()?))
    }

    fn evaluate<T: cpu::Real + WithDType>(
        &self,
        form: FieldForm,
        host: &HostWeights<T>,
        x: &Tensor,
    ) -> Result<(Tensor, Option<Tensor>)> {
        let rows = x.dim(0)?;
        let (y, g) = cpu::evaluate(form, &host.view(self.activation), &flat::<T>(x)?);
        let y = Tensor::from_vec(y, (rows, self.output), x.device())?;
        let g = match form {
            FieldForm::SymplecticGradient => Some(Tensor::from_vec(g, (rows, self.input), x.device())?),
            FieldForm::Output => None,
        };
        Ok((y, g))
    }
}

/// A frozen Hamiltonian network H(z) (an HNN after training): H and ∇H by the inference kernel.
#[derive(Debug)]
pub struct FrozenHamiltonian {
    kernel: Kernel,
    dof: usize,
}

impl Hamiltonian for FrozenHamiltonian {
    fn degrees_of_freedom(&self) -> usize {
        self.dof
    }

    fn energy(&self, z: &Tensor) -> Result<Tensor> {
        check_state(z, self.dof)?;
        Ok(self.kernel.tensors(FieldForm::Output, z)?.0.squeeze(1)?)
    }

    fn grad(&self, z: &Tensor) -> Result<Tensor> {
        check_state(z, self.dof)?;
        Ok(self.kernel.tensors(FieldForm::SymplecticGradient, z)?.1.expect("the gradient form returns ∇H"))
    }
}

impl HostRows for FrozenOutput {
    fn time_derivatives_rows(&self, z: &[f64], dz: &mut [f64], width: usize) -> Result<()> {
        check_width(width, self.dof)?;
        check_rows(z, dz, width)?;
        dz.copy_from_slice(&self.kernel.rows(FieldForm::Output, z).0);
        Ok(())
    }
}

/// A frozen network whose output is ż (the baseline after training).
#[derive(Debug)]
pub struct FrozenOutput {
    kernel: Kernel,
    dof: usize,
}

impl VectorField for FrozenOutput {
    fn time_derivatives(&self, z: &Tensor) -> Result<Tensor> {
        check_state(z, self.dof)?;
        Ok(self.kernel.tensors(FieldForm::Output, z)?.0)
    }

    fn host_rows(&self) -> Option<&dyn HostRows> {
        Some(self)
    }
}

/// A trained model for inference (see [`freeze`](super::freeze)): an MLP field run by the CPU
/// inference kernel, or any field as the tensor ops of a detached copy.
pub enum Frozen {
    /// An HNN's H on the kernel.
    Hamiltonian(FrozenHamiltonian),
    /// A baseline's ż on the kernel.
    Output(FrozenOutput),
    /// Any other model (or device), as plain tensor ops on detached weights of this dtype.
    Tensors(Box<dyn VectorField + Send + Sync>, DType),
}

impl std::fmt::Debug for Frozen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Frozen::Hamiltonian(h) => f.debug_tuple("Frozen::Hamiltonian").field(h).finish(),
            Frozen::Output(o) => f.debug_tuple("Frozen::Output").field(o).finish(),
            Frozen::Tensors(_, dtype) => write!(f, "Frozen::Tensors({dtype:?})"),
        }
    }
}

impl Frozen {
    /// The kernel form of a network field on the CPU in f32/f64, or `None`.
    pub(super) fn of_network(network: NetworkField<'_>, dof: usize) -> Result<Option<Self>> {
        let Some(kernel) = Kernel::of(network)? else { return Ok(None) };
        Ok(Some(match network.form {
            FieldForm::SymplecticGradient => Frozen::Hamiltonian(FrozenHamiltonian { kernel, dof }),
            FieldForm::Output => Frozen::Output(FrozenOutput { kernel, dof }),
        }))
    }

    /// Whether the inference kernel evaluates it.
    pub fn is_kernel(&self) -> bool {
        !matches!(self, Frozen::Tensors(..))
    }
}

impl HostRows for Frozen {
    fn time_derivatives_rows(&self, z: &[f64], dz: &mut [f64], width: usize) -> Result<()> {
        match self {
            Frozen::Hamiltonian(h) => {
                let n = h.dof;
                check_width(width, n)?;
                check_rows(z, dz, width)?;
                let (_, g) = h.kernel.rows(FieldForm::SymplecticGradient, z);
                dz.copy_from_slice(&g);
                crate::symplectic::apply_j_rows(dz, n);
                Ok(())
            }
            Frozen::Output(o) => o.time_derivatives_rows(z, dz, width),
            // Rows in the weights' dtype (the trait's default builds f64 rows, which an f32
            // model would refuse).
            Frozen::Tensors(f, dtype) => {
                check_rows(z, dz, width)?;
                let t = Tensor::from_slice(z, (z.len() / width, width), &Device::Cpu)?.to_dtype(*dtype)?;
                let d = f.time_derivatives(&t)?.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?;
                dz.copy_from_slice(&d);
                Ok(())
            }
        }
    }
}

impl VectorField for Frozen {
    fn time_derivatives(&self, z: &Tensor) -> Result<Tensor> {
        match self {
            Frozen::Hamiltonian(h) => h.time_derivatives(z),
            Frozen::Output(o) => o.time_derivatives(z),
            Frozen::Tensors(f, _) => f.time_derivatives(z),
        }
    }

    fn host_rows(&self) -> Option<&dyn HostRows> {
        Some(self)
    }

    fn hamiltonian(&self) -> Option<&dyn Hamiltonian> {
        match self {
            Frozen::Hamiltonian(h) => Some(h),
            Frozen::Output(_) => None,
            Frozen::Tensors(f, _) => f.hamiltonian(),
        }
    }

    fn energy_function(&self) -> Option<&dyn Hamiltonian> {
        match self {
            Frozen::Tensors(f, _) => f.energy_function(),
            _ => self.hamiltonian(),
        }
    }

    fn damping_rates(&self, z: &Tensor) -> Result<Option<Tensor>> {
        match self {
            Frozen::Tensors(f, _) => f.damping_rates(z),
            _ => Ok(None),
        }
    }
}

/// Errors unless host rows are `2n` wide.
fn check_width(width: usize, dof: usize) -> Result<()> {
    if width != 2 * dof {
        return Err(Error::StateShape { got: vec![width], expected: format!("rows of {} values (q, p)", 2 * dof) });
    }
    Ok(())
}
