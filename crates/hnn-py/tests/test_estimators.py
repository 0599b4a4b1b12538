"""The estimators: shapes and dtypes, the physics they promise, files shared with the command."""

import subprocess

import numpy as np
import pytest

import hnn
from hnn.checkpoint import read

SMALL = dict(hidden=(32, 32), steps=200)


def test_fit_returns_self_and_predicts_in_the_inputs_dtype(spring):
    model = hnn.HNN(**SMALL)
    assert model.fit(spring.train_z, spring.train_dz) is model
    assert model.n_features_in_ == 2 and model.n_dof_ == 1 and model.steps_trained_ == 200
    assert model.train_curve_.shape == (200,) and model.train_curve_[-1] < model.train_curve_[0]
    for dtype in (np.float32, np.float64):
        z = spring.test_z.astype(dtype)
        assert model.predict(z).dtype == dtype and model.predict(z).shape == z.shape
        assert model.energy(z).shape == (len(z),)
    # One state in, one state out.
    assert model.predict(spring.test_z[0]).shape == (2,)
    # A non-contiguous view reads as its logical order.
    view = np.asfortranarray(spring.test_z)[::2]
    np.testing.assert_array_equal(model.predict(view), model.predict(np.ascontiguousarray(view)))


def test_a_fitted_hnn_keeps_its_own_energy_along_its_rollouts(spring):
    model = hnn.HNN(**SMALL, dtype="float64").fit(spring.train_z, spring.train_dz)
    z0 = spring.test_z[:4]
    orbit = model.rollout(z0, np.linspace(0.0, 10.0, 51), rtol=1e-10, atol=1e-10)
    assert orbit.shape == (51, 4, 2)
    h = np.stack([model.energy(z) for z in orbit])
    assert np.abs(h - h[0]).max() < 1e-6 * np.abs(h[0]).max()
    # A fixed-step symplectic method needs dt, and keeps H within O(dt²).
    with pytest.raises(ValueError, match="give dt"):
        model.rollout(z0, [0.0, 1.0], method="implicit_midpoint")
    fixed = model.rollout(z0, np.linspace(0.0, 10.0, 51), method="implicit_midpoint", dt=0.01)
    hf = np.stack([model.energy(z) for z in fixed])
    assert np.abs(hf - hf[0]).max() < 1e-3 * np.abs(hf[0]).max()


def test_it_learns_the_spring(spring):
    model = hnn.HNN(hidden=(64, 64), steps=1000, learning_rate=3e-3).fit(spring.train_z, spring.train_dz)
    # The data carry noise σ = 0.1 on ż of size ~1: R² well above 0.9 is the signal.
    assert model.score(spring.test_z, spring.test_dz) > 0.9


def test_trajectories_by_finite_differences_and_by_trajectory_matching(orbits, oscillator):
    t, z = orbits
    by_gradient = hnn.HNN(hidden=(32, 32), steps=300, learning_rate=3e-3).fit(z, t=t)
    by_trajectory = hnn.HNN(
        hidden=(32, 32), steps=300, learning_rate=3e-3, objective="trajectory", integrator="leapfrog", substeps=5
    )
    with pytest.raises(ValueError, match="not separable|separable"):
        by_trajectory.fit(z, t=t)  # leapfrog needs a separable H
    sep = hnn.SeparableHNN(
        hidden=(32, 32), steps=300, learning_rate=3e-3, objective="trajectory", integrator="leapfrog", substeps=5
    ).fit(z, t=t)
    truth = oscillator.time_derivatives(z[:, 0])
    for model in (by_gradient, sep):
        assert model.score(z[:, 0], truth) > 0.8
    with pytest.raises(ValueError, match="needs trajectories"):
        hnn.HNN(objective="trajectory").fit(z[0], oscillator.time_derivatives(z[0]))


def test_dissipative_rates_and_lagrangian_models(orbits):
    t, z = orbits
    dis = hnn.DissipativeHNN(hidden=(16, 16), steps=50).fit(z, t=t)
    r = dis.damping_rates(z[0])
    assert r.shape == (12, 1) and (r >= 0).all()
    for cls in (hnn.LNN, hnn.DeLaN):  # (q, q̇) of the unit oscillator are its (q, p)
        m = cls(hidden=(16, 16), steps=20).fit(z, t=t)
        assert m.predict(z[0]).shape == (12, 2) and m.energy(z[0]).shape == (12,)
        assert m.get_params()["activation"] is None and m.model_.activation == "softplus"


def test_save_and_load_give_the_same_model(spring, tmp_path):
    for cls in (hnn.HNN, hnn.Baseline, hnn.SeparableHNN):
        model = cls(hidden=(16, 16), steps=20).fit(spring.train_z, spring.train_dz)
        path = tmp_path / f"{cls.__name__}.safetensors"
        model.save(path)
        loaded = hnn.load(path)
        assert type(loaded) is cls and loaded.hidden == (16, 16) and loaded.n_dof_ == 1
        np.testing.assert_array_equal(loaded.predict(spring.test_z), model.predict(spring.test_z))
        tensors, meta = read(path)
        assert meta["model"]["kind"] == model.model_.kind and all(v.dtype == np.float32 for v in tensors.values())


def test_datasets_are_what_hnn_data_writes(hnn_command, tmp_path):
    out = tmp_path / "pendulum.npz"
    subprocess.run([hnn_command, "data", "pendulum", "--out", str(out), "--seed", "3"], check=True, capture_output=True)
    written = np.load(out)
    ours = hnn.datasets.pendulum(seed=3)
    for key in ("train_z", "train_dz", "test_z", "test_dz"):
        np.testing.assert_array_equal(getattr(ours, key), written[key])
    assert ours.meta["seed"] == 3


def test_fit_is_bit_for_bit_the_commands_fit(spring, hnn_command, tmp_path):
    data = tmp_path / "pairs.npz"
    np.savez(data, z=spring.train_z, dz=spring.train_dz)
    args = ["--steps", "60", "--hidden", "32,32", "--test-fraction", "0", "--seed", "5", "--learning-rate", "0.002"]
    out = tmp_path / "fit"
    subprocess.run([hnn_command, "fit", "--data", str(data), "--out", str(out), *args], check=True, capture_output=True)
    command, _ = read(out / "hnn.safetensors")
    model = hnn.HNN(hidden=(32, 32), steps=60, seed=5, learning_rate=0.002).fit(spring.train_z, spring.train_dz)
    model.save(tmp_path / "python.safetensors")
    python, _ = read(tmp_path / "python.safetensors")
    assert command.keys() == python.keys()
    for name in command:
        np.testing.assert_array_equal(python[name], command[name], err_msg=name)
    # And the command reads the Python file.
    run = subprocess.run(
        [hnn_command, "rollout", str(tmp_path / "python.safetensors"), "--z0", "0.5,0", "--t-end", "1", "--points", "3"],
        check=True,
        capture_output=True,
        text=True,
    )
    assert run.stdout.splitlines()[0].startswith("t,")
