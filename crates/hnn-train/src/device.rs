//! Choosing the compute device and precision.

use crate::error::{Error, Result};
use candle_core::{DType, Device};
use serde::{Deserialize, Serialize};

/// Which device to run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum DeviceChoice {
    /// CUDA or Metal when this build supports one and the machine has it, else the CPU.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// NVIDIA GPU 0 (needs a build with `--features cuda`).
    Cuda,
    /// Apple GPU (needs a build with `--features metal`).
    Metal,
}

/// Floating-point precision of training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// 32-bit floats (default).
    #[default]
    F32,
    /// 64-bit floats (not on Metal).
    F64,
}

impl Precision {
    /// The candle dtype.
    pub fn dtype(self) -> DType {
        match self {
            Precision::F32 => DType::F32,
            Precision::F64 => DType::F64,
        }
    }

    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        }
    }
}

/// The device for a choice; errors name what is missing.
pub fn select_device(choice: DeviceChoice) -> Result<Device> {
    match choice {
        DeviceChoice::Cpu => Ok(Device::Cpu),
        DeviceChoice::Cuda => {
            if !candle_core::utils::cuda_is_available() {
                return Err(Error::Device(
                    "CUDA requested but this build has no CUDA support: rebuild with `--features cuda`".into(),
                ));
            }
            let device = Device::new_cuda(0).map_err(|e| Error::Device(format!("cannot open CUDA device 0: {e}")))?;
            keep_pool_memory(&device)?;
            Ok(device)
        }
        DeviceChoice::Metal => {
            if !candle_core::utils::metal_is_available() {
                return Err(Error::Device(
                    "Metal requested but this build has no Metal support: rebuild with `--features metal`".into(),
                ));
            }
            Device::new_metal(0).map_err(|e| Error::Device(format!("cannot open Metal device 0: {e}")))
        }
        DeviceChoice::Auto => {
            if candle_core::utils::cuda_is_available() {
                if let Ok(d) = Device::new_cuda(0) {
                    keep_pool_memory(&d)?;
                    return Ok(d);
                }
            }
            if candle_core::utils::metal_is_available() {
                if let Ok(d) = Device::new_metal(0) {
                    return Ok(d);
                }
            }
            Ok(Device::Cpu)
        }
    }
}

/// Makes a CUDA device keep the memory its tensors free, for training loops (a no-op elsewhere).
///
/// candle allocates with `cuMemAllocAsync` from the device's default memory pool, whose release
/// threshold is 0: at every synchronization (each training step reads its loss) the pool returns
/// all freed memory to the driver, and the next step maps it again. With the threshold at its
/// maximum the pool keeps what it has, as PyTorch's caching allocator does. [`select_device`]
/// calls this; call it on a CUDA device made with `Device::new_cuda`.
pub fn keep_pool_memory(device: &Device) -> Result<()> {
    #[cfg(feature = "cuda")]
    if let Device::Cuda(cuda) = device {
        use candle_core::cuda_backend::cudarc::driver::{result, sys};
        let stream = cuda.cuda_stream();
        let fail = |e| Error::Device(format!("cannot set the CUDA memory pool's release threshold: {e:?}"));
        let mut threshold = u64::MAX;
        // SAFETY: the pool is the default pool of the stream's own device, and
        // CU_MEMPOOL_ATTR_RELEASE_THRESHOLD takes a u64 (CUDA driver API).
        unsafe {
            let pool = result::device::get_default_mem_pool(stream.context().cu_device()).map_err(fail)?;
            result::mem_pool::set_attribute(
                pool,
                sys::CUmemPool_attribute::CU_MEMPOOL_ATTR_RELEASE_THRESHOLD,
                (&mut threshold as *mut u64).cast(),
            )
            .map_err(fail)?;
        }
    }
    #[cfg(not(feature = "cuda"))]
    let _ = device;
    Ok(())
}

/// Checks that the device supports the precision (Metal has no f64).
pub fn check_precision(device: &Device, precision: Precision) -> Result<()> {
    if device.is_metal() && precision == Precision::F64 {
        return Err(Error::Device("Metal does not support f64: use --dtype f32".into()));
    }
    Ok(())
}

/// A short name for logs and metrics.
pub fn device_name(device: &Device) -> &'static str {
    if device.is_cuda() {
        "cuda"
    } else if device.is_metal() {
        "metal"
    } else {
        "cpu"
    }
}
