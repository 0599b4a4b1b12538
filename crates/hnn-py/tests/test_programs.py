"""README's "From Python" program and the notebook script run, and reach their figures."""

import pathlib
import re
import runpy

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]


def test_readme_program_runs(tmp_path, monkeypatch):
    readme = (REPO / "README.md").read_text()
    section = readme.split("## From Python", 1)[1]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "README's 'From Python' section has no python program"
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    assert (tmp_path / "spring_hnn.safetensors").is_file()


def test_the_notebook_reaches_the_rust_examples_errors():
    errors = runpy.run_path(str(REPO / "crates/hnn-py/examples/notebook.py"))["main"]()
    # The Rust example (examples/notebook.rs) ends at 3.3e-2 and 1.0e-1; the same program with
    # numpy's samples ends at 1.7e-2 and 9.4e-2. Twice the Rust figures bound both.
    assert errors["gradient"] < 6.6e-2, errors
    assert errors["trajectory"] < 2.0e-1, errors


def test_torch_module_agrees_with_the_rust_model(tmp_path):
    torch = pytest.importorskip("torch")
    import numpy as np

    import hnn
    import hnn.torch

    data = hnn.datasets.spring()
    z = data.test_z[:50]
    for dtype, tol in (("float32", 1e-6), ("float64", 1e-12)):
        for cls in (hnn.HNN, hnn.SeparableHNN, hnn.Baseline):
            model = cls(hidden=(32, 32), steps=30, dtype=dtype).fit(data.train_z, data.train_dz)
            path = tmp_path / f"{cls.__name__}-{dtype}.safetensors"
            model.save(path)
            module = hnn.torch.module(path)
            zt = torch.tensor(z, dtype=torch.float32 if dtype == "float32" else torch.float64)
            ours = model.predict(z.astype(np.float32 if dtype == "float32" else np.float64))
            theirs = module.time_derivatives(zt).detach().numpy()
            scale = max(1.0, float(np.abs(ours).max()))
            assert np.abs(ours - theirs).max() <= tol * scale, (cls.__name__, dtype, np.abs(ours - theirs).max())
            if cls is not hnn.Baseline:
                np.testing.assert_allclose(module(zt).detach().numpy(), model.energy(z), rtol=tol, atol=tol * scale)
