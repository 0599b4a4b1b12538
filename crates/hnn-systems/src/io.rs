//! Dataset files: `.safetensors` (metadata as JSON in the header) and `.npz` (numpy's format,
//! metadata as a UTF-8 byte array `meta_json`). Arrays: `train_z`, `train_dz`, `test_z`,
//! `test_dz`, each `[N, 2n]`, layout "q,p". Files are written atomically: a temporary file in
//! the same folder, then a rename, so an existing file is never left half-written.

use crate::dataset::{Dataset, DatasetMeta, Split};
use crate::error::{Error, Result};
use candle_core::{DType, Device, Tensor};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Metadata key holding the dataset's JSON in a safetensors header.
pub const META_KEY: &str = "hnn.dataset";

const NAMES: [&str; 4] = ["train_z", "train_dz", "test_z", "test_dz"];

/// Writes `bytes` to `path` atomically (temporary file in the same folder, fsync, rename).
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(bytes).and_then(|_| f.sync_all()).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

/// A sibling temporary path for atomic writes.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

fn tensors(ds: &Dataset) -> [(&'static str, &Tensor); 4] {
    [("train_z", &ds.train.z), ("train_dz", &ds.train.dz), ("test_z", &ds.test.z), ("test_dz", &ds.test.dz)]
}

/// Saves as `.safetensors` or `.npz`, by extension.
pub fn save(ds: &Dataset, path: &Path) -> Result<()> {
    match extension(path)?.as_str() {
        "safetensors" => save_safetensors(ds, path),
        _ => save_npz(ds, path),
    }
}

/// Loads a `.safetensors` or `.npz` dataset, by extension, and validates it.
pub fn load(path: &Path) -> Result<Dataset> {
    match extension(path)?.as_str() {
        "safetensors" => load_safetensors(path),
        _ => load_npz(path),
    }
}

fn extension(path: &Path) -> Result<String> {
    let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "safetensors" | "npz" => Ok(ext),
        _ => Err(Error::bad_file(path, "unknown dataset format: use a .safetensors or .npz file name")),
    }
}

fn meta_json(meta: &DatasetMeta) -> String {
    serde_json::to_string(meta).expect("dataset metadata serializes")
}

/// Saves with the metadata JSON in the safetensors header.
pub fn save_safetensors(ds: &Dataset, path: &Path) -> Result<()> {
    let data: Vec<(&str, Tensor)> =
        tensors(ds).into_iter().map(|(n, t)| Ok((n, t.to_dtype(DType::F64)?.contiguous()?))).collect::<Result<_>>()?;
    // A single key: safetensors writes the metadata map in hash order.
    let metadata = HashMap::from([(META_KEY.to_string(), meta_json(&ds.meta))]);
    let bytes = safetensors::serialize(data, Some(metadata))
        .map_err(|e| Error::bad_file(path, format!("cannot serialize dataset: {e}")))?;
    atomic_write(path, &bytes)
}

/// Loads a safetensors dataset written by [`save_safetensors`] (or by anyone using the same
/// names and metadata).
pub fn load_safetensors(path: &Path) -> Result<Dataset> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| Error::bad_file(path, format!("not a valid safetensors file ({e})")))?;
    let meta_str = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get(META_KEY))
        .ok_or_else(|| Error::bad_file(path, format!("no `{META_KEY}` metadata: not an hnn dataset")))?;
    let meta = parse_meta(path, meta_str)?;
    let mut map = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu)
        .map_err(|e| Error::bad_file(path, format!("cannot read tensors ({e})")))?;
    assemble(path, meta, |name| map.remove(name))
}

/// Saves as numpy `.npz`.
pub fn save_npz(ds: &Dataset, path: &Path) -> Result<()> {
    let meta = meta_json(&ds.meta).into_bytes();
    let meta = Tensor::from_vec(meta.clone(), meta.len(), &Device::Cpu)?;
    let mut entries: Vec<(&str, Tensor)> =
        tensors(ds).into_iter().map(|(n, t)| Ok((n, t.to_dtype(DType::F64)?))).collect::<Result<_>>()?;
    entries.push(("meta_json", meta));
    let refs: Vec<(&str, &Tensor)> = entries.iter().map(|(n, t)| (*n, t)).collect();
    let tmp = temp_path(path);
    Tensor::write_npz(&refs, &tmp).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::bad_file(path, format!("cannot write npz ({e})"))
    })?;
    std::fs::rename(&tmp, path).map_err(|source| Error::Io { path: path.to_path_buf(), source })
}

/// Loads a numpy `.npz` dataset. `meta_json` is optional for files made by other tools: without
/// it the system is `unknown` and the dof is read from the array width.
pub fn load_npz(path: &Path) -> Result<Dataset> {
    if !path.exists() {
        return Err(Error::Io { path: path.to_path_buf(), source: std::io::ErrorKind::NotFound.into() });
    }
    let entries =
        Tensor::read_npz(path).map_err(|e| Error::bad_file(path, format!("not a readable .npz file ({e})")))?;
    let mut map: HashMap<String, Tensor> = entries.into_iter().collect();
    let meta = match map.remove("meta_json") {
        Some(t) => {
            let bytes: Vec<u8> = t.to_dtype(DType::U8)?.flatten_all()?.to_vec1()?;
            let s = String::from_utf8(bytes).map_err(|_| Error::bad_file(path, "meta_json is not UTF-8"))?;
            parse_meta(path, &s)?
        }
        None => {
            let width = map.get("train_z").map(|t| t.dims().last().copied().unwrap_or(0)).unwrap_or(0);
            DatasetMeta::new("unknown", width / 2)
        }
    };
    assemble(path, meta, |name| map.remove(name))
}

fn parse_meta(path: &Path, s: &str) -> Result<DatasetMeta> {
    serde_json::from_str(s).map_err(|e| Error::bad_file(path, format!("dataset metadata is not valid ({e})")))
}

fn assemble(path: &Path, meta: DatasetMeta, mut take: impl FnMut(&str) -> Option<Tensor>) -> Result<Dataset> {
    let mut get = |name: &str| -> Result<Tensor> {
        let t = take(name).ok_or_else(|| Error::bad_file(path, format!("array `{name}` is missing")))?;
        Ok(t.to_dtype(DType::F64)?)
    };
    let [a, b, c, d] = NAMES;
    let ds = Dataset { train: Split { z: get(a)?, dz: get(b)? }, test: Split { z: get(c)?, dz: get(d)? }, meta };
    ds.validate(&path.display().to_string())?;
    Ok(ds)
}
