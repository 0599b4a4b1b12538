"""HNN().fit from Python against `hnn fit` on the same work: the same data file, model, settings
and seed (so the same arithmetic: tests/test_estimators.py checks the weights come out bit for
bit equal). Times the fit alone on the Python side (the estimator's `fit_seconds_`, and the
wall time of the call) and the whole command on the other (which also loads the file, evaluates
and writes), so the command's figure is an upper bound of its fit.

    python benches/python_vs_cli.py --hnn target/release/hnn [--rounds 5]

with the package installed in release mode (`pip install ./crates/hnn-py`).
"""

import argparse
import json
import pathlib
import statistics
import subprocess
import tempfile
import time

import numpy as np

import hnn

TASKS = {
    # name: (dataset, steps, batch size), the experiments' own settings.
    "spring": ("spring", 2000, 0),
    "two_body": ("two_body", 10000, 200),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hnn", default="target/release/hnn")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    for task, (name, steps, batch) in TASKS.items():
        data = hnn.datasets.load(name)
        with tempfile.TemporaryDirectory() as tmp:
            path = pathlib.Path(tmp) / "pairs.npz"
            np.savez(path, z=data.train_z, dz=data.train_dz)
            flags = ["--steps", str(steps), "--batch-size", str(batch), "--test-fraction", "0", "--seed", "0"]
            py, py_fit, cli, cli_fit = [], [], [], []
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                model = hnn.HNN(steps=steps, batch_size=batch, seed=0).fit(data.train_z, data.train_dz)
                py.append(time.perf_counter() - t0)
                py_fit.append(model.fit_seconds_)
                t0 = time.perf_counter()
                subprocess.run(
                    [args.hnn, "fit", "--data", str(path), "--out", f"{tmp}/out", *flags], check=True, capture_output=True
                )
                cli.append(time.perf_counter() - t0)
                metrics = json.loads((pathlib.Path(tmp) / "out" / "metrics.json").read_text())
                cli_fit.append(metrics["models"]["hnn"]["train_seconds"])
        m = statistics.median
        print(
            f"{task}: {steps} steps, batch {batch or 'full'}: Python fit() {m(py):.2f} s (its training loop {m(py_fit):.2f} s), "
            f"hnn fit {m(cli):.2f} s end to end (its training loop {m(cli_fit):.2f} s); median of {args.rounds}; "
            f"training loops Python / command = {m(py_fit) / m(cli_fit):.3f}"
        )


if __name__ == "__main__":
    main()
