"""Bad input raises a clear exception naming the argument, the file or the key; nothing panics."""

import numpy as np
import pytest

import hnn


@pytest.fixture(scope="module")
def fitted(spring):
    return hnn.HNN(hidden=(8,), steps=5).fit(spring.train_z, spring.train_dz)


@pytest.mark.parametrize(
    "bad, error, match",
    [
        (np.ones((3, 3)), ValueError, "2 columns"),
        (np.ones((3, 2), dtype=np.int64), TypeError, "int64"),
        (np.ones((3, 2), dtype=bool), TypeError, "bool"),
        (np.array([[np.nan, 0.0]]), ValueError, "non-finite"),
        (np.array([[np.inf, 0.0]]), ValueError, "non-finite"),
        (np.zeros((0, 2)), ValueError, "empty"),
        (np.ones((2, 2, 2)), ValueError, "dimensions"),
        ("text", TypeError, "floats"),
    ],
)
def test_bad_states(fitted, bad, error, match):
    with pytest.raises(error, match=match):
        fitted.predict(bad)


def test_bad_fits(spring):
    z, dz = spring.train_z, spring.train_dz
    with pytest.raises(ValueError, match="must match"):
        hnn.HNN().fit(z, dz[:-1])
    with pytest.raises(ValueError, match="even width"):
        hnn.HNN().fit(np.ones((4, 3)), np.ones((4, 3)))
    with pytest.raises(ValueError, match="needs derivatives"):
        hnn.HNN().fit(z)
    with pytest.raises(ValueError, match="increase"):
        hnn.HNN().fit(np.ones((3, 2, 2)), t=[0.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="times"):
        hnn.HNN().fit(np.ones((3, 2, 2)), t=[0.0, 1.0])
    with pytest.raises(ValueError, match="steps"):
        hnn.HNN(steps=0).fit(z, dz)
    with pytest.raises(ValueError, match="adam"):
        hnn.HNN(optimizer="sgd").fit(z, dz)
    with pytest.raises(ValueError, match="objective"):
        hnn.HNN(objective="magic").fit(z, dz)
    with pytest.raises(ValueError, match="activation"):
        hnn.HNN(activation="nope").fit(z, dz)
    with pytest.raises(ValueError, match="dtype"):
        hnn.HNN(dtype="float16").fit(z, dz)
    with pytest.raises(ValueError, match="device"):
        hnn.HNN(device="tpu").fit(z, dz)
    with pytest.raises(ValueError, match="relu|twice"):
        hnn.HNN(activation="relu").fit(z, dz)


def test_unfitted_and_missing_methods(spring):
    with pytest.raises(AttributeError, match="not fitted"):
        hnn.HNN().predict(spring.test_z)
    assert not hasattr(hnn.Baseline(), "energy") and not hasattr(hnn.HNN(), "damping_rates")


def test_bad_files(tmp_path, fitted):
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        hnn.load(tmp_path / "missing.safetensors")
    path = tmp_path / "model.safetensors"
    fitted.save(path)
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0xFF  # a flipped bit in the weights
    bad = tmp_path / "flipped.safetensors"
    bad.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="flipped.safetensors"):
        hnn.load(bad)
    (tmp_path / "garbage.safetensors").write_bytes(b"\x00" * 5)
    with pytest.raises(ValueError, match="garbage.safetensors"):
        hnn.load(tmp_path / "garbage.safetensors")
    with pytest.raises(OSError, match="Is a directory"):
        fitted.save(tmp_path)
    with pytest.raises(OSError, match="not a folder"):
        fitted.save(path / "m.safetensors")  # under a file


def test_bad_systems_and_datasets(oscillator):
    with pytest.raises(ValueError, match="kinds"):
        hnn.systems.System("nope")
    with pytest.raises(ValueError, match="missing field"):
        hnn.systems.System("pendulum", m=1.0)
    with pytest.raises(ValueError):
        hnn.systems.System("pendulum", m=-1.0, g=1.0, l=1.0)
    with pytest.raises(ValueError, match="2 columns"):
        oscillator.energy(np.ones((2, 4)))
    with pytest.raises(ValueError, match="dopri5"):
        oscillator.rollout(np.ones((1, 2)), [0.0, 1.0], method="rk4")
    with pytest.raises(ValueError, match="no experiment"):
        hnn.datasets.load("no_such_experiment")
    with pytest.raises(ValueError, match="pixel"):
        hnn.datasets.load("pixels")


def test_seeded_corruptions_of_a_checkpoint_are_refused_or_harmless(tmp_path, fitted, spring):
    """200 seeded corruptions (flipped bytes, truncations, garbage headers) through hnn.load:
    each is a clean ValueError/OSError, or a file that still loads and predicts finite numbers
    (a flipped byte in padding); never a crash."""
    path = tmp_path / "good.safetensors"
    fitted.save(path)
    good = path.read_bytes()
    rng = np.random.default_rng(11)
    outcomes = {"refused": 0, "loaded": 0}
    for case in range(200):
        raw = bytearray(good)
        kind = case % 4
        if kind == 0:
            for i in rng.integers(0, len(raw), size=int(rng.integers(1, 5))):
                raw[i] ^= int(rng.integers(1, 256))
        elif kind == 1:
            raw = raw[: int(rng.integers(0, len(raw)))]
        elif kind == 2:
            raw[:8] = int(rng.integers(0, 2**63)).to_bytes(8, "little")
        else:
            start = int(rng.integers(8, 8 + int.from_bytes(good[:8], "little")))
            raw[start : start + 4] = b'"}{]'
        bad = tmp_path / f"case{case}.safetensors"
        bad.write_bytes(bytes(raw))
        try:
            model = hnn.load(bad)
        except (ValueError, OSError) as e:
            assert f"case{case}" in str(e), str(e)
            outcomes["refused"] += 1
            continue
        assert np.isfinite(model.predict(spring.test_z[:4])).all()
        outcomes["loaded"] += 1
    assert outcomes["refused"] >= 190, outcomes


def test_rollouts_too_large_to_return_are_refused_up_front(fitted, oscillator):
    with pytest.raises(ValueError, match="more than the 10000000"):
        fitted.rollout(np.zeros((1, 2)), np.arange(10_000_001, dtype=float))
    # 1000 starts × 2 numbers at 100 001 times: 2e8 numbers, above the 1e8 cap.
    with pytest.raises(ValueError, match="more than the cap"):
        fitted.rollout(np.zeros((1000, 2)), np.linspace(0.0, 1.0, 100_001))
    with pytest.raises(ValueError, match="more than the cap"):
        oscillator.rollout(np.zeros((1000, 2)), np.linspace(0.0, 1.0, 100_001))
    with pytest.raises(ValueError, match="steps"):
        fitted.rollout(np.zeros((1, 2)), [0.0, 1e6], method="rk4", dt=1e-6)
