"""Shared fixtures: the repository, the `hnn` command (for tests that compare with it), data."""

import os
import pathlib
import shutil

import numpy as np
import pytest

import hnn

REPO = pathlib.Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def hnn_command():
    """The `hnn` binary: $HNN_BIN, else target/{release,debug}/hnn, else `hnn` on the PATH."""
    candidates = [os.environ.get("HNN_BIN"), REPO / "target/release/hnn", REPO / "target/debug/hnn", shutil.which("hnn")]
    for c in candidates:
        if c and pathlib.Path(c).is_file():
            return str(c)
    pytest.skip("no hnn binary (build it with `cargo build`, or set HNN_BIN)")


@pytest.fixture(scope="session")
def spring():
    return hnn.datasets.spring()


@pytest.fixture(scope="session")
def oscillator():
    return hnn.systems.System("harmonic_oscillator", m=1.0, k=1.0, q0=0.0)


@pytest.fixture(scope="session")
def orbits(oscillator):
    """12 oscillator trajectories at 20 times: ``(t, z)`` with z ``[20, 12, 2]``."""
    t = 0.1 * np.arange(20)
    z0 = np.random.default_rng(3).uniform(-1.0, 1.0, size=(12, 2))
    return t, oscillator.rollout(z0, t)
