"""Checks on arrays before they reach Rust: floats only, finite, of the expected rank and width.

Each problem is an exception naming the argument, its shape or dtype, and what is expected.
"""

import numpy as np


def floats(a, name, rank=None, width=None):
    """``a`` as a float32 or float64 numpy array (any layout), checked.

    Integer, boolean and complex arrays are a ``TypeError`` (a truncated state is worse than an
    error); other float widths become float64. Empty or non-finite arrays and a wrong rank or
    last dimension are a ``ValueError``.
    """
    arr = np.asarray(a)
    if arr.dtype.kind != "f":
        raise TypeError(
            f"{name} must hold floats (float32 or float64), got dtype {arr.dtype}"
            + (f": convert it with {name}.astype(float)" if arr.dtype.kind in "iub" else "")
        )
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if rank is not None and arr.ndim not in (rank if isinstance(rank, tuple) else (rank,)):
        expected = " or ".join(str(r) for r in (rank if isinstance(rank, tuple) else (rank,)))
        raise ValueError(f"{name} must have {expected} dimensions, got shape {arr.shape}")
    if width is not None and arr.shape[-1] != width:
        raise ValueError(f"{name} must have {width} columns (2 × degrees of freedom), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        bad = int(np.size(arr) - np.isfinite(arr).sum())
        raise ValueError(f"{name} holds {bad} non-finite value(s) (NaN or infinity)")
    return arr


def times(t, name="t", length=None, most=None):
    """``t`` as an increasing 1-D list of floats (integer times are exact, so they are taken);
    more than ``most`` times is a ``ValueError`` before any conversion."""
    arr = np.asarray(t)
    if most is not None and arr.size > most:
        raise ValueError(f"{name} has {arr.size} times, more than the {most} a rollout returns: roll out in pieces")
    if arr.dtype.kind in "iu":
        arr = arr.astype(np.float64)
    arr = floats(arr, name, rank=1).astype(np.float64)
    if length is not None and arr.shape[0] != length:
        raise ValueError(f"{name} has {arr.shape[0]} times, but the states have {length}")
    if arr.shape[0] > 1 and not (np.diff(arr) > 0).all():
        raise ValueError(f"{name} must increase")
    return arr.tolist()
