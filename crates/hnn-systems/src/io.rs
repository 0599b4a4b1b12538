//! Tensor files: `.safetensors` (metadata as JSON in the header) and `.npz` (numpy's format,
//! metadata as a UTF-8 byte array `meta_json`), chosen by extension ([`write_tensors`],
//! [`read_tensors`]). Datasets hold the arrays `train_z`, `train_dz`, `test_z`, `test_dz`, each
//! `[N, 2n]`, layout "q,p". Files are written atomically: a temporary file in
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

/// Writes `bytes` to `path` atomically (temporary file in the same folder, fsync, rename),
/// creating the folder if needed (see [`prepare_target`]).
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    prepare_target(path)?;
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

/// Makes `path` writable: creates its folder where missing (refusing, by name, a regular file
/// where a folder must be) and removes temporary files that an earlier writer of the same file
/// left when it was killed (`.NAME.PID.tmp` of another process).
pub fn prepare_target(path: &Path) -> Result<()> {
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    let dir = match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => dir,
        None => Path::new("."),
    };
    if !dir.is_dir() {
        if let Some(file) = dir.ancestors().find(|a| a.is_file()) {
            return Err(io(std::io::Error::other(format!("{} is a file, not a folder", file.display()))));
        }
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let ours = temp_path(path);
    let prefix = format!(".{name}.");
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let entry_name = entry.file_name().to_string_lossy().into_owned();
            let pid = entry_name.strip_prefix(&prefix).and_then(|rest| rest.strip_suffix(".tmp"));
            if pid.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) && entry.path() != ours {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    Ok(())
}

/// A sibling temporary path for atomic writes.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

fn tensors(ds: &Dataset) -> Result<Vec<(&'static str, Tensor)>> {
    let f64 = |t: &Tensor| -> Result<Tensor> { Ok(t.to_dtype(DType::F64)?.contiguous()?) };
    let mut out = vec![
        ("train_z", f64(&ds.train.z)?),
        ("train_dz", f64(&ds.train.dz)?),
        ("test_z", f64(&ds.test.z)?),
        ("test_dz", f64(&ds.test.dz)?),
    ];
    // Sample times where known (recordings): `train_t`, `test_t`, `[N]`.
    for (name, split) in [("train_t", &ds.train), ("test_t", &ds.test)] {
        if let Some(t) = &split.t {
            out.push((name, f64(t)?));
        }
    }
    Ok(out)
}

/// Saves as `.safetensors` or `.npz`, by extension.
pub fn save(ds: &Dataset, path: &Path) -> Result<()> {
    write_tensors(path, &tensors(ds)?, META_KEY, &meta_json(&ds.meta))
}

/// Loads a `.safetensors` or `.npz` dataset, by extension, and validates it. An `.npz` made by
/// other tools may lack `meta_json`: the system is then `unknown` and the dof is read from the
/// array width.
pub fn load(path: &Path) -> Result<Dataset> {
    let (mut map, meta) = read_tensors(path, META_KEY)?;
    let meta = match (meta, format_of(path)?) {
        (Some(s), _) => parse_meta(path, &s)?,
        (None, FileFormat::Npz) => {
            let width = map.get("train_z").map(|t| t.dims().last().copied().unwrap_or(0)).unwrap_or(0);
            DatasetMeta::new("unknown", width / 2)
        }
        (None, FileFormat::Safetensors) => {
            return Err(Error::bad_file(path, format!("no `{META_KEY}` metadata: not an hnn dataset")))
        }
    };
    assemble(path, meta, |name| map.remove(name))
}

/// A tensor file's format, named by its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    /// `.safetensors`: metadata as JSON under a key of the header.
    Safetensors,
    /// numpy's `.npz`: metadata as a UTF-8 byte array `meta_json`.
    Npz,
}

/// The format a file name asks for; any other extension is an error naming the choices.
pub fn format_of(path: &Path) -> Result<FileFormat> {
    let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "safetensors" => Ok(FileFormat::Safetensors),
        "npz" => Ok(FileFormat::Npz),
        _ => Err(Error::bad_file(path, "unknown file format: use a .safetensors or .npz file name")),
    }
}

/// Writes named tensors and a metadata JSON string atomically, in the format of `path`'s
/// extension: in a `.safetensors` header under `key`, or in an `.npz` as the array `meta_json`.
pub fn write_tensors(path: &Path, tensors: &[(&str, Tensor)], key: &str, meta: &str) -> Result<()> {
    match format_of(path)? {
        FileFormat::Safetensors => {
            // Sealed with a checksum of the whole content, verified by `read_tensors`.
            let owned = tensors.iter().map(|(n, t)| (n.to_string(), t.clone())).collect();
            let bytes = crate::sealed::serialize(owned, key, meta)
                .map_err(|e| Error::bad_file(path, format!("cannot serialize: {e}")))?;
            atomic_write(path, &bytes)
        }
        FileFormat::Npz => {
            let meta = Tensor::from_vec(meta.as_bytes().to_vec(), meta.len(), &Device::Cpu)?;
            let mut refs: Vec<(&str, &Tensor)> = tensors.iter().map(|(n, t)| (*n, t)).collect();
            refs.push(("meta_json", &meta));
            prepare_target(path)?;
            let tmp = temp_path(path);
            Tensor::write_npz(&refs, &tmp).map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                Error::bad_file(path, format!("cannot write npz ({e})"))
            })?;
            std::fs::rename(&tmp, path).map_err(|source| {
                let _ = std::fs::remove_file(&tmp);
                Error::Io { path: path.to_path_buf(), source }
            })
        }
    }
}

/// The most bytes one `.npz` member may hold once decompressed (16 GiB): a larger claim is a
/// corrupt or hostile file, refused before anything of that size is read or allocated.
pub const MAX_NPZ_MEMBER_BYTES: u64 = 16 << 30;

/// Reads every member of an `.npz` archive to its end, which makes the zip reader check each
/// member's CRC-32: a flipped bit is refused naming the member (candle's reader stops at the
/// array's length and would not notice). Each member's `.npy` header must describe exactly the
/// bytes that follow it, so a header claiming a huge shape is refused before candle's reader
/// allocates that shape.
fn verify_npz(path: &Path) -> Result<()> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    let mut archive =
        zip::ZipArchive::new(file).map_err(|e| Error::bad_file(path, format!("not a readable .npz file ({e})")))?;
    for i in 0..archive.len() {
        let mut member =
            archive.by_index(i).map_err(|e| Error::bad_file(path, format!("not a readable .npz file ({e})")))?;
        let name = member.name().map(|n| n.to_string()).unwrap_or_else(|_| format!("#{i}"));
        let bad = |problem: String| Error::bad_file(path, format!("member `{name}` {problem}"));
        if member.size() > MAX_NPZ_MEMBER_BYTES {
            return Err(bad(format!("claims {} bytes, more than the limit of {MAX_NPZ_MEMBER_BYTES}", member.size())));
        }
        let mut head = Vec::with_capacity(4096);
        (&mut member).take(65_536 + 12).read_to_end(&mut head).map_err(|e| bad(format!("is corrupt ({e})")))?;
        let (header_len, claimed) = npy_header(&head).map_err(|p| bad(format!("has no valid .npy header ({p})")))?;
        let rest = std::io::copy(&mut member, &mut std::io::sink()).map_err(|e| bad(format!("is corrupt ({e})")))?;
        let held = (head.len() - header_len) as u128 + rest as u128;
        if claimed != held {
            return Err(bad(format!("has a header describing {claimed} bytes of data, but holds {held}")));
        }
    }
    Ok(())
}

/// The length of an `.npy` header and the number of data bytes its shape and dtype describe.
fn npy_header(bytes: &[u8]) -> std::result::Result<(usize, u128), String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("no magic string".into());
    }
    let (len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        v => return Err(format!("version {v}")),
    };
    let text = bytes.get(start..start + len).ok_or("a truncated header")?;
    let text = std::str::from_utf8(text).map_err(|_| "a header that is not text")?;
    let field = |key: &str| text.find(key).map(|at| &text[at + key.len()..]);
    let descr = field("'descr':").ok_or("no descr")?;
    let descr = descr.trim_start().trim_start_matches(['\'', '"']);
    let digits: String = descr.chars().skip(2).take_while(|c| c.is_ascii_digit()).collect();
    // `<f8`, `|u1`, …: the byte order, the kind, then the item size.
    let item: u128 =
        digits.parse().map_err(|_| format!("an unknown dtype `{}`", descr.chars().take(4).collect::<String>()))?;
    let shape = field("'shape':").ok_or("no shape")?;
    let open = shape.find('(').ok_or("no shape tuple")?;
    let close = shape.find(')').ok_or("no shape tuple")?;
    let mut count: u128 = 1;
    for dim in shape[open + 1..close].split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let d: u128 = dim.parse().map_err(|_| format!("a shape entry `{dim}`"))?;
        count = count.checked_mul(d).ok_or("a shape too large to count")?;
    }
    Ok((start + len, count.checked_mul(item).ok_or("a shape too large to count")?))
}

/// Every array of a `.safetensors` or `.npz` file by name (any tool's file; no metadata needed).
pub fn read_arrays(path: impl AsRef<Path>) -> Result<HashMap<String, Tensor>> {
    Ok(read_tensors(path.as_ref(), "")?.0)
}

/// Reads the tensors of a file written by [`write_tensors`] (or by another tool in the same
/// layout), with its metadata string when there is one: in a `.safetensors` header under
/// `key`; in an `.npz`, the array `meta_json` (whatever `key` is).
pub fn read_tensors(path: &Path, key: &str) -> Result<(HashMap<String, Tensor>, Option<String>)> {
    let format = format_of(path)?;
    if !path.exists() {
        return Err(Error::Io { path: path.to_path_buf(), source: std::io::ErrorKind::NotFound.into() });
    }
    match format {
        FileFormat::Safetensors => {
            let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
            // Files written before hnn sealed datasets (or by other tools) have no checksum.
            let (mut header, seal) = crate::sealed::verified_metadata(&bytes).map_err(|e| Error::bad_file(path, e))?;
            let meta = header.remove(key);
            if meta.is_some() && seal == crate::sealed::Seal::Absent {
                tracing::warn!(
                    "{}: written without a checksum (before hnn recorded them); not verified",
                    path.display()
                );
            }
            let map = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu)
                .map_err(|e| Error::bad_file(path, format!("cannot read tensors ({e})")))?;
            Ok((map, meta))
        }
        FileFormat::Npz => {
            verify_npz(path)?;
            let entries =
                Tensor::read_npz(path).map_err(|e| Error::bad_file(path, format!("not a readable .npz file ({e})")))?;
            let mut map: HashMap<String, Tensor> = entries.into_iter().collect();
            let meta = match map.remove("meta_json") {
                Some(t) => {
                    let bytes: Vec<u8> = t.to_dtype(DType::U8)?.flatten_all()?.to_vec1()?;
                    Some(String::from_utf8(bytes).map_err(|_| Error::bad_file(path, "meta_json is not UTF-8"))?)
                }
                None => None,
            };
            Ok((map, meta))
        }
    }
}

fn meta_json(meta: &DatasetMeta) -> String {
    serde_json::to_string(meta).expect("dataset metadata serializes")
}

fn parse_meta(path: &Path, s: &str) -> Result<DatasetMeta> {
    serde_json::from_str(s).map_err(|e| Error::bad_file(path, format!("dataset metadata is not valid ({e})")))
}

fn assemble(path: &Path, meta: DatasetMeta, mut take: impl FnMut(&str) -> Option<Tensor>) -> Result<Dataset> {
    let mut get = |name: &str| -> Result<Tensor> {
        let t = take(name).ok_or_else(|| Error::bad_file(path, format!("array `{name}` is missing")))?;
        if !t.dtype().is_float() {
            // Converting would keep the integer part of every value without a word.
            return Err(Error::bad_file(
                path,
                format!("array `{name}` holds {:?} integers; states and derivatives must be floating point", t.dtype()),
            ));
        }
        Ok(t.to_dtype(DType::F64)?)
    };
    let [a, b, c, d] = NAMES;
    let (train_z, train_dz, test_z, test_dz) = (get(a)?, get(b)?, get(c)?, get(d)?);
    let mut times = |name: &str, rows: usize| -> Result<Option<Tensor>> {
        let Some(t) = take(name) else { return Ok(None) };
        if !t.dtype().is_float() || t.dims() != [rows] {
            return Err(Error::bad_file(
                path,
                format!(
                    "array `{name}` must hold {rows} float times, one per sample, but is {:?} {:?}",
                    t.dtype(),
                    t.dims()
                ),
            ));
        }
        Ok(Some(t.to_dtype(DType::F64)?))
    };
    let (train_t, test_t) = (times("train_t", train_z.dims()[0])?, times("test_t", test_z.dims()[0])?);
    let ds = Dataset {
        train: Split { z: train_z, dz: train_dz, t: train_t },
        test: Split { z: test_z, dz: test_dz, t: test_t },
        meta,
    };
    ds.validate(&path.display().to_string())?;
    Ok(ds)
}
