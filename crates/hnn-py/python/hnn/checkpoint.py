"""Reading hnn's checkpoints with numpy alone: the safetensors layout (an 8-byte header length,
a JSON header of names, dtypes, shapes and byte ranges, then the bytes) and hnn's metadata.

hnn itself verifies each file's checksum when it reads it (``hnn.load``); this reader is for
looking inside a file, and for :mod:`hnn.torch`.
"""

import json
import struct

import numpy as np

__all__ = ["read"]

_DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "BF16": None}


def read(path):
    """``(tensors, meta)``: every tensor of the file as a numpy array by name, and the ``hnn``
    metadata (model kind, dof, hidden sizes, activation, training) as a dict."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: not a safetensors file ({len(raw)} bytes)")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise ValueError(f"{path}: header of {n} bytes does not fit in the file's {len(raw)}")
    header = json.loads(raw[8 : 8 + n])
    body = raw[8 + n :]
    meta = json.loads(header.pop("__metadata__", {}).get("hnn", "{}"))
    tensors = {}
    for name, entry in header.items():
        dtype = _DTYPES.get(entry["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: tensor {name} has dtype {entry['dtype']}, which this reader does not take")
        start, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(body[start:end], dtype=dtype).reshape(entry["shape"]).copy()
    return tensors, meta
