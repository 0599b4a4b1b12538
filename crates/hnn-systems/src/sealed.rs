//! Safetensors files whose metadata carries a checksum of their whole content: hnn's
//! checkpoints, optimizer sidecars and `.safetensors` datasets.
//!
//! Each metadata entry is a JSON object that gets a leading `"checksum"` field: a CRC-32 of every
//! tensor (in name order: name, dtype, shape, bytes) and of the JSON itself. Reading verifies it,
//! so one flipped bit anywhere in the file is refused. One metadata key per file: safetensors
//! writes its metadata map in hash order, and a single key keeps files byte-for-byte
//! reproducible.

use candle_core::{Device, Tensor};
use std::collections::HashMap;

const CHECKSUM_FIELD: &str = "{\"checksum\":\"";

/// The bytes of a safetensors file of `tensors` with one metadata entry `key` = `json` (a JSON
/// object), sealed with its checksum. The error says what could not be serialized.
pub fn serialize(tensors: Vec<(String, Tensor)>, key: &str, json: &str) -> Result<Vec<u8>, String> {
    let cpu: Vec<(String, Tensor)> = tensors
        .into_iter()
        .map(|(n, t)| Ok((n, t.to_device(&Device::Cpu)?.contiguous()?)))
        .collect::<candle_core::Result<_>>()
        .map_err(|e| e.to_string())?;
    let unsealed = safetensors::serialize(cpu.clone(), None).map_err(|e| e.to_string())?;
    let views = safetensors::SafeTensors::deserialize(&unsealed).map_err(|e| e.to_string())?;
    let sealed = seal(json, content_crc(&views, json));
    safetensors::serialize(cpu, Some(HashMap::from([(key.to_string(), sealed)]))).map_err(|e| e.to_string())
}

/// Whether a file's checksum was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seal {
    /// Every metadata entry carried a checksum that matches the contents.
    Verified,
    /// Some entry had none (a file written before hnn recorded checksums, or by another tool).
    Absent,
}

/// The metadata map of a whole file with each entry's checksum verified against the contents
/// and removed. The error says what is wrong (not a safetensors file, or a mismatch).
pub fn verified_metadata(bytes: &[u8]) -> Result<(HashMap<String, String>, Seal), String> {
    let corrupt = |e: String| format!("not a valid safetensors file, truncated or corrupt ({e})");
    let (_, meta) = safetensors::SafeTensors::read_metadata(bytes).map_err(|e| corrupt(e.to_string()))?;
    let mut map = meta.metadata().clone().unwrap_or_default();
    let views = safetensors::SafeTensors::deserialize(bytes).map_err(|e| corrupt(e.to_string()))?;
    let mut seal_state = Seal::Verified;
    for json in map.values_mut() {
        match unseal(json) {
            Some((stored, plain)) => {
                let actual = content_crc(&views, &plain);
                if actual != stored {
                    return Err(format!(
                        "checksum mismatch (stored {stored:08x}, contents {actual:08x}): the file was changed or \
                         corrupted after it was written"
                    ));
                }
                *json = plain;
            }
            None => seal_state = Seal::Absent,
        }
    }
    Ok((map, seal_state))
}

/// `json` (an object) with a leading `"checksum"` field holding `crc`.
fn seal(json: &str, crc: u32) -> String {
    match json.strip_prefix('{') {
        Some(rest) if rest.trim_start() != "}" => format!("{CHECKSUM_FIELD}{crc:08x}\",{rest}"),
        _ => json.to_string(),
    }
}

/// The checksum of a [`seal`]ed JSON and the JSON without it; `None` for JSON without one.
fn unseal(json: &str) -> Option<(u32, String)> {
    let rest = json.strip_prefix(CHECKSUM_FIELD)?;
    let (hex, rest) = (rest.get(..8)?, rest.get(8..)?);
    let rest = rest.strip_prefix("\",")?;
    Some((u32::from_str_radix(hex, 16).ok()?, format!("{{{rest}")))
}

/// CRC-32 of every tensor (in name order: name, dtype, shape, bytes) and of the metadata JSON.
fn content_crc(views: &safetensors::SafeTensors, json: &str) -> u32 {
    let mut crc = crc32fast::Hasher::new();
    let mut tensors = views.tensors();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, view) in tensors {
        crc.update(name.as_bytes());
        crc.update(format!("{:?}{:?}", view.dtype(), view.shape()).as_bytes());
        crc.update(view.data());
    }
    crc.update(json.as_bytes());
    crc.finalize()
}
