#!/usr/bin/env python3
"""Runs the paper's own training scripts over several seeds and prints their derivative losses.

The paper's Table 1 reports one run per task. Its losses are noise-dominated, so whether ours
"agree within 20%" depends on how much the reference code itself moves from seed to seed. This
script answers that: for each task it runs the reference's `train.py` (HNN and baseline) once per
seed, each seed in its own directory so that the data are drawn with that seed (as `hnn exp` does),
parses the "Final train/test loss" lines the script prints, and prints mean ± std over the seeds.
With --runs DIR (the output of `scripts/table1.sh`, default runs/table1) it puts hnn's figures for
the same seeds beside them.

The reference code is not part of this repository: pass a clone of
github.com/greydanus/hamiltonian-nn with --paper-repo. It runs unchanged; the only patch is for the
real pendulum, whose script downloads a zip from the Science website: the download is replaced by
reading the same recording (`real_pend_h_1.txt`) from --real-data. Needs torch, autograd and scipy
(`benches/compare.py --install --torch` makes such a venv).

    .venv-bench/bin/python scripts/reference_seeds.py --paper-repo /tmp/refhnn --seeds 0 1 2 --json ref.json
    python3 scripts/reference_seeds.py --reuse ref.json      # reprint against new hnn runs
"""
import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TASKS = {  # hnn experiment name → the reference's experiment directory
    "spring": "experiment-spring",
    "pendulum": "experiment-pend",
    "real_pendulum": "experiment-real",
    "two_body": "experiment-2body",
    "three_body": "experiment-3body",
}
# The paper's Table 1 (one run each; SPEC §1): (baseline, HNN) × (train, test).
PAPER = {
    "spring": {"baseline": (3.71e-2, 3.67e-2), "hnn": (3.69e-2, 3.59e-2)},
    "pendulum": {"baseline": (3.26e-2, 3.53e-2), "hnn": (3.28e-2, 3.56e-2)},
    "real_pendulum": {"baseline": (2.75e-3, 2.19e-3), "hnn": (9.24e-3, 5.96e-3)},
    "two_body": {"baseline": (3.27e-5, 2.96e-5), "hnn": (3.00e-6, 2.82e-6)},
    "three_body": {"baseline": (9.56e-2, 3.80e-1), "hnn": (8.03e-2, 4.88e-1)},
}
FINAL = re.compile(r"Final train loss (\S+) \+/- \S+\s+Final test loss (\S+) \+/- \S+")

# Runs train.py as `python train.py ARGS...` would, after pointing the real-pendulum download at a
# local copy of the recording (argv[1]; unused by the other tasks).
DRIVER = r"""
import runpy, sys, urllib.request
real = sys.argv[1]
sys.argv = ["train.py"] + sys.argv[2:]
sys.path[:0] = [".", ".."]
urllib.request.urlretrieve = lambda url, out: None
import utils
utils.read_lipson = lambda name, save_dir: str(open(real, "rb").read())
runpy.run_path("train.py", run_name="__main__")
"""


def run_reference(py, repo, task, model, seed, work, real_data):
    """(train loss, test loss, seconds) of one reference run."""
    save = work / task / str(seed)
    save.mkdir(parents=True, exist_ok=True)
    args = ["--seed", str(seed), "--save_dir", str(save)] + (["--baseline"] if model == "baseline" else [])
    t0 = time.perf_counter()
    out = subprocess.run([str(py), "-c", DRIVER, str(real_data)] + args, cwd=repo / TASKS[task],
                         capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    m = FINAL.search(out.stdout)
    if out.returncode != 0 or not m:
        sys.exit(f"reference {task} {model} seed {seed} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return float(m.group(1)), float(m.group(2)), seconds


def ours(runs, task, model, seed):
    path = runs / task / str(seed) / "metrics.json"
    if not path.exists():
        return None
    m = json.loads(path.read_text())["models"][model]["metrics"]
    return m["train_loss"]["mean"], m["test_loss"]["mean"]


def summary(values):
    if not values:
        return "—"
    mean = statistics.mean(values)
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.2e} ± {spread:.1e}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--paper-repo", type=Path, help="a clone of greydanus/hamiltonian-nn")
    ap.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--python", type=Path, default=ROOT / ".venv-bench" / "bin" / "python")
    ap.add_argument("--real-data", type=Path, default=ROOT.parent / "shared" / "data" / "real_pend_h_1.txt")
    ap.add_argument("--work", type=Path, default=Path("/tmp/reference_seeds"), help="data and models of the runs")
    ap.add_argument("--runs", type=Path, default=ROOT / "runs" / "table1", help="hnn's Table 1 runs to compare")
    ap.add_argument("--json", type=Path, help="also write every per-seed figure here")
    ap.add_argument("--reuse", type=Path, help="take the reference's figures from an earlier --json instead of running it")
    args = ap.parse_args()
    earlier = json.loads(args.reuse.read_text()) if args.reuse else {}
    if not earlier and not (args.paper_repo and (args.paper_repo / "hnn.py").exists()):
        sys.exit(f"--paper-repo {args.paper_repo} is not a clone of greydanus/hamiltonian-nn (no hnn.py)")
    if not earlier and "real_pendulum" in args.tasks and not args.real_data.exists():
        sys.exit(f"real-pendulum recording not found: {args.real_data} (pass --real-data)")

    record = {}
    print("| task | model | loss | paper | reference code, per seed | reference mean ± std | hnn, per seed | "
          "hnn mean ± std | hnn / reference | hnn / paper |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for task in args.tasks:
        for model in ("baseline", "hnn"):
            key = f"{task}/{model}"
            if key in earlier:
                ref = [tuple(r) for s, r in zip(earlier[key]["seeds"], earlier[key]["reference"]) if s in args.seeds]
            else:
                ref = [run_reference(args.python, args.paper_repo, task, model, s, args.work, args.real_data)
                       for s in args.seeds]
            mine = [ours(args.runs, task, model, s) for s in args.seeds]
            mine = [m for m in mine if m is not None]
            record[key] = {"seeds": args.seeds, "reference": ref, "hnn": mine}
            for i, name in enumerate(("train", "test")):
                r = [x[i] for x in ref]
                h = [x[i] for x in mine]
                paper = PAPER[task][model][i]
                ratio = f"{statistics.mean(h) / statistics.mean(r):.2f}" if h else "—"
                vs_paper = f"{statistics.mean(h) / paper:.2f}" if h else "—"
                print(f"| {task} | {model} | {name} | {paper:.2e} | {', '.join(f'{x:.2e}' for x in r)} | {summary(r)} | "
                      f"{', '.join(f'{x:.2e}' for x in h) or '—'} | {summary(h)} | {ratio} | {vs_paper} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
