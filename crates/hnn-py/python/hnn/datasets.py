"""The data of hnn's experiments, as ``hnn data NAME --out FILE`` writes them: the same
generator, the same seed, the same numbers (float64).

>>> data = hnn.datasets.spring()          # the paper's spring task, seed 0
>>> data.train_z.shape, data.meta["system"]
((750, 2), 'spring')
"""

import json
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from . import _hnn

__all__ = ["Dataset", "load", "names", "spring", "pendulum", "real_pendulum", "two_body", "three_body"]


@dataclass
class Dataset:
    """An experiment's train and test splits, states ``[N, 2n]`` (q first, then p) and their
    time derivatives; ``X``/``y`` are the training pairs, so ``estimator.fit(dataset)`` works."""

    train_z: np.ndarray
    train_dz: np.ndarray
    test_z: np.ndarray
    test_dz: np.ndarray
    meta: dict
    train_t: Optional[np.ndarray] = None
    test_t: Optional[np.ndarray] = None
    name: str = field(default="")

    @property
    def X(self):
        """The training states."""
        return self.train_z

    @property
    def y(self):
        """The training derivatives."""
        return self.train_dz


def load(name, seed=0, data=None):
    """The data of experiment ``name`` (built in, ``experiments/NAME.toml`` here or above, or a
    path to a config) for ``seed``; ``data``: the recording, for experiments that read one."""
    d = _hnn.dataset(name, int(seed), None if data is None else str(data))
    return Dataset(
        train_z=d["train_z"],
        train_dz=d["train_dz"],
        test_z=d["test_z"],
        test_dz=d["test_dz"],
        meta=json.loads(d["meta"]),
        train_t=d.get("train_t"),
        test_t=d.get("test_t"),
        name=name,
    )


def names():
    """The experiments hnn has built in, with the first sentence of each description."""
    return dict(_hnn.experiments())


def spring(seed=0):
    """The paper's mass-spring task (noisy, σ = 0.1)."""
    return load("spring", seed)


def pendulum(seed=0):
    """The paper's pendulum task (noisy, σ = 0.1)."""
    return load("pendulum", seed)


def real_pendulum(seed=0, data=None):
    """The Schmidt & Lipson pendulum recording (not shipped: give ``data``, or see the book's
    "Data files" chapter for where hnn looks)."""
    return load("real_pendulum", seed, data)


def two_body(seed=0):
    """The paper's two-body task."""
    return load("two_body", seed)


def three_body(seed=0):
    """The paper's three-body task."""
    return load("three_body", seed)
