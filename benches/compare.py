#!/usr/bin/env python3
"""Side-by-side training time: hnn against the reference algorithm in JAX (jit) and, optionally,
PyTorch (eager), on identical data, model and hyperparameters.

The reference algorithm (Greydanus et al.'s code) takes ∇H by autograd inside the loss and
backpropagates through it (double backward). Same model (2n → 200 → 200 → 1, tanh, orthogonal
weights, no bias on the last layer), same data (exported by `hnn data TASK`), same optimizer
(Adam, L2 weight decay as torch.optim.Adam), same batch and step counts, test loss every
`eval_every` steps as in experiments/TASK.toml.

    python3 benches/compare.py --install            # venv with jax (CPU) under .venv-bench/
    python3 benches/compare.py --install --torch    # also torch (a ~6 GB install from PyPI)
    python3 benches/compare.py --tasks spring two_body --repeats 3
    python3 benches/compare.py --rollouts --tasks spring two_body   # also the evaluation rollouts

Prints one line per task and framework: median wall seconds of training, and hnn's speed-up.

With --paper-repo PATH (a clone of github.com/greydanus/hamiltonian-nn; not part of this
repository) it also times the paper's own HNN training scripts, unchanged
(`experiment-spring/train.py`, `experiment-2body/train.py`, default arguments: a test batch
every step), with the venv's PyTorch. Each runs once first to generate and cache its data; the
second run is timed (its data loading included).

With --rollouts it also times the evaluation rollouts: the trained HNN's batched rollouts of
every start with adaptive Dormand–Prince (`rollout_seconds` in `hnn eval`'s output) against the
reference's loop (scipy `solve_ivp` RK45 per start, the model called on one state at a time; here a
jit-compiled JAX field, which is faster per call than the reference's PyTorch, so the ratio is
conservative), same starts, span, output points and tolerances. `--method dop853` runs hnn's
rollouts with the 8(5,3) pair instead (same tolerances; the reference loop stays RK45), and
`--rollouts-only` skips the training comparison (hnn still trains once, for the checkpoint).
"""
import argparse, json, os, re, statistics, subprocess, sys, time, tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-bench"


def ensure_venv(torch: bool):
    py = VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pkgs = ["numpy", "scipy", "jax"] + (["torch", "imageio", "autograd"] if torch else [])
    subprocess.run([str(py), "-m", "pip", "install", "-q", *pkgs], check=True)
    return py


def config(task):
    with open(ROOT / "experiments" / f"{task}.toml", "rb") as f:
        return tomllib.load(f)


def export(task, out):
    subprocess.run([str(ROOT / "target/release/hnn"), "data", task, "--out", str(out)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# hnn's Python package (when the venv has it: `maturin develop --release -m crates/hnn-py/Cargo.toml`
# with the venv active): the same fit through `hnn.HNN().fit`, its training loop's own seconds.
# It fits on the training split alone (no held-out loss every eval_every steps, which the other
# three compute), a few evaluations less work.
HNN_PY_CODE = r"""
import json, sys, numpy as np
try:
    import hnn
except ImportError:
    print("nan"); sys.exit(0)
cfg = json.loads(sys.argv[1]); d = np.load(cfg["data"])
m = hnn.HNN(hidden=tuple(cfg["hidden"]), steps=cfg["steps"], batch_size=cfg["batch"], learning_rate=cfg["lr"],
            weight_decay=cfg["wd"])
m.fit(d["train_z"], d["train_dz"]); print(m.fit_seconds_)
"""


def run_hnn(task):
    out = subprocess.run([str(ROOT / "target/release/hnn"), "train", "--config", str(ROOT / f"experiments/{task}.toml"),
                          "--model", "hnn", "--device", "cpu", "--out", "/tmp/compare_hnn.safetensors"],
                         check=True, capture_output=True, text=True).stdout
    return float(re.search(r"in ([0-9.]+) s", out).group(1))


JAX_CODE = r'''
import json, sys, time, numpy as np, jax, jax.numpy as jnp
cfg = json.loads(sys.argv[1]); d = np.load(cfg["data"])
x, dx, tx, tdx = (jnp.asarray(d[k], jnp.float32) for k in ["train_z", "train_dz", "test_z", "test_dz"])
n = x.shape[1] // 2; hidden = cfg["hidden"]; key = jax.random.PRNGKey(0)
def ortho(key, shape):
    a = jax.random.normal(key, (max(shape), min(shape))); q, r = jnp.linalg.qr(a); q = q * jnp.sign(jnp.diag(r))
    return q if shape[0] >= shape[1] else q.T
sizes = [2 * n] + hidden + [1]; params = []
for i in range(len(sizes) - 1):
    key, k = jax.random.split(key)
    w = ortho(k, (sizes[i + 1], sizes[i])); b = jnp.zeros(sizes[i + 1] if i + 2 < len(sizes) else 0)
    params.append((w, b))
def H(p, z):  # the last layer's bias is an empty placeholder: no bias, as the reference
    a = z
    for w, b in p[:-1]: a = jnp.tanh(a @ w.T + b)
    return (a @ p[-1][0].T)[0]
def field(p, z):
    g = jax.vmap(jax.grad(H, argnums=1), in_axes=(None, 0))(p, z)
    return jnp.concatenate([g[:, n:], -g[:, :n]], 1)
def loss(p, z, dz): return jnp.mean((field(p, z) - dz) ** 2)
lr, wd, b1, b2, eps = cfg["lr"], cfg["wd"], 0.9, 0.999, 1e-8
@jax.jit
def step(p, m, v, t, z, dz):
    l, g = jax.value_and_grad(loss)(p, z, dz)
    g = jax.tree_util.tree_map(lambda g, p: g + wd * p, g, p)
    m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
    v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
    p = jax.tree_util.tree_map(lambda p, m, v: p - lr * (m / (1 - b1 ** t)) / (jnp.sqrt(v / (1 - b2 ** t)) + eps), p, m, v)
    return p, m, v, l
test_loss = jax.jit(loss)
zeros = jax.tree_util.tree_map(jnp.zeros_like, params); m, v = zeros, zeros
rng = np.random.default_rng(0); N = x.shape[0]; bs = cfg["batch"] or N
def batch():
    if bs >= N: return x, dx
    i = rng.choice(N, bs, replace=False); return x[i], dx[i]
z, dz = batch(); step(params, m, v, 1.0, z, dz)[3].block_until_ready()  # compile
t0 = time.perf_counter()
for t in range(1, cfg["steps"] + 1):
    z, dz = batch(); params, m, v, l = step(params, m, v, float(t), z, dz)
    if t % cfg["eval_every"] == 0 or t == cfg["steps"]: float(test_loss(params, tx, tdx))
l.block_until_ready(); print(time.perf_counter() - t0)
'''

TORCH_CODE = r'''
import json, sys, time, numpy as np, torch
torch.set_num_threads(int(__import__("os").environ.get("TORCH_THREADS", "2")))
cfg = json.loads(sys.argv[1]); d = np.load(cfg["data"])
x, dx, tx, tdx = (torch.tensor(d[k], dtype=torch.float32) for k in ["train_z", "train_dz", "test_z", "test_dz"])
n = x.shape[1] // 2; sizes = [2 * n] + cfg["hidden"] + [1]; layers = []
for i in range(len(sizes) - 1):
    l = torch.nn.Linear(sizes[i], sizes[i + 1], bias=i + 2 < len(sizes)); torch.nn.init.orthogonal_(l.weight); layers.append(l)
model = torch.nn.ModuleList(layers)
def H(z):
    a = z
    for l in layers[:-1]: a = torch.tanh(l(a))
    return layers[-1](a)
def field(z):
    z = z.requires_grad_(True); g = torch.autograd.grad(H(z).sum(), z, create_graph=True)[0]
    return torch.cat([g[:, n:], -g[:, :n]], 1)
opt = torch.optim.Adam(model.parameters(), cfg["lr"], weight_decay=cfg["wd"])
rng = np.random.default_rng(0); N = x.shape[0]; bs = cfg["batch"] or N
t0 = time.perf_counter()
for t in range(1, cfg["steps"] + 1):
    if bs >= N: z, dz = x, dx
    else: i = torch.tensor(rng.choice(N, bs, replace=False)); z, dz = x[i], dx[i]
    loss = ((field(z.clone()) - dz) ** 2).mean(); opt.zero_grad(); loss.backward(); opt.step()
    if t % cfg["eval_every"] == 0 or t == cfg["steps"]: ((field(tx.clone()) - tdx) ** 2).mean().item()
print(time.perf_counter() - t0)
'''


CHECKPOINT_PRELUDE = r'''
import json, struct, sys, time, numpy as np
from scipy.integrate import solve_ivp
cfg = json.loads(sys.argv[1])
raw = open(cfg["checkpoint"], "rb").read()  # safetensors: u64 header size, JSON header, data
n = struct.unpack("<Q", raw[:8])[0]; header = json.loads(raw[8:8 + n]); body = raw[8 + n:]
def array(name):
    h = header[name]; a, b = h["data_offsets"]
    return np.frombuffer(body[a:b], dtype={"F32": np.float32, "F64": np.float64}[h["dtype"]]).reshape(h["shape"]).copy()
layers = sorted({int(k.split(".")[2]) for k in header if k.startswith("hnn.layers.")})
d = np.load(cfg["data"]); starts = d["test_z"][: cfg["starts"]].astype(np.float64); dim = starts.shape[1]; k = dim // 2
def weights(convert):
    return [(convert(array(f"hnn.layers.{i}.weight")),
             convert(array(f"hnn.layers.{i}.bias")) if f"hnn.layers.{i}.bias" in header else None) for i in layers]
'''

ROLLOUT_CODE = CHECKPOINT_PRELUDE + r'''
import jax, jax.numpy as jnp
params = weights(jnp.asarray)
def H(z):
    a = z
    for w, b in params[:-1]: a = jnp.tanh(a @ w.T + b)
    return (a @ params[-1][0].T)[0]
grad = jax.jit(jax.grad(H))
def fun(t, x):  # one state per call, as the reference's integrate_model
    g = np.asarray(grad(jnp.asarray(x, jnp.float32)), np.float64)
    return np.concatenate([g[k:], -g[:k]])
fun(0.0, starts[0])  # compile
t_eval = np.linspace(0.0, cfg["t_end"], cfg["points"])
t0 = time.perf_counter()
for z0 in starts:
    solve_ivp(fun, (0.0, cfg["t_end"]), z0, t_eval=t_eval, rtol=cfg["rtol"], atol=cfg["atol"])
print(time.perf_counter() - t0)
'''


TORCH_ROLLOUT_CODE = CHECKPOINT_PRELUDE + r'''
import torch
torch.set_num_threads(int(__import__("os").environ.get("TORCH_THREADS", "2")))
params = weights(torch.tensor)
def H(z):
    a = z
    for w, b in params[:-1]: a = torch.tanh(a @ w.T + b)
    return a @ params[-1][0].T
def fun(t, np_x):  # the reference's integrate_model: one state per call, autograd for ∇H
    x = torch.tensor(np_x, requires_grad=True, dtype=torch.float32).view(1, dim)
    g = torch.autograd.grad(H(x).sum(), x)[0].detach().numpy().reshape(-1).astype(np.float64)
    return np.concatenate([g[k:], -g[:k]])
t_eval = np.linspace(0.0, cfg["t_end"], cfg["points"])
t0 = time.perf_counter()
for z0 in starts:
    solve_ivp(fun, (0.0, cfg["t_end"]), z0, t_eval=t_eval, rtol=cfg["rtol"], atol=cfg["atol"])
print(time.perf_counter() - t0)
'''


def time_hnn_eval(checkpoint, precision, method):
    """(whole `hnn eval` command, its batched model rollouts alone), seconds."""
    t0 = time.perf_counter()
    out = subprocess.run([str(ROOT / "target/release/hnn"), "eval", checkpoint, "--field-precision", precision,
                          "--method", method], check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - t0, json.loads(out)["rollout_seconds"]


PAPER_SCRIPTS = {"spring": "experiment-spring/train.py", "pendulum": "experiment-pend/train.py",
                 "two_body": "experiment-2body/train.py", "three_body": "experiment-3body/train.py"}


def time_paper(py, repo, task):
    """Wall seconds of the paper's own train.py for `task` (HNN), data cached by a first run."""
    save = Path(f"/tmp/compare_paper_{task}")
    save.mkdir(exist_ok=True)
    cmd = [str(py), PAPER_SCRIPTS[task], "--save_dir", str(save)]
    subprocess.run(cmd, cwd=repo, check=True, capture_output=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=repo, check=True, capture_output=True)
    return time.perf_counter() - t0


def run_python(py, code, cfg):
    out = subprocess.run([str(py), "-c", code, json.dumps(cfg)], check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--install", action="store_true", help="create/refresh the venv with jax (and torch with --torch)")
    ap.add_argument("--torch", action="store_true", help="also time PyTorch eager (needs it in the venv)")
    ap.add_argument("--tasks", nargs="+", default=["spring", "two_body"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rollouts", action="store_true", help="also time the evaluation rollouts")
    ap.add_argument("--field-precision", choices=["f64", "f32"], default="f64",
                    help="precision of hnn's learned field in the rollouts (f32: the reference loop's own)")
    ap.add_argument("--method", choices=["dopri5", "dop853"], default="dopri5",
                    help="hnn's adaptive rollout method (dopri5: the reference loop's RK45; dop853: order 8)")
    ap.add_argument("--rollouts-only", action="store_true",
                    help="time only the rollouts (implies --rollouts; hnn trains once for the checkpoint)")
    ap.add_argument("--paper-repo", type=Path, help="a clone of greydanus/hamiltonian-nn: also time its train.py")
    args = ap.parse_args()
    args.rollouts = args.rollouts or args.rollouts_only
    py = ensure_venv(args.torch) if args.install else VENV / "bin" / "python"
    if not py.exists():
        sys.exit("no benchmark venv: run with --install first")
    subprocess.run(["cargo", "build", "--release", "-q"], cwd=ROOT, check=True)
    for task in args.tasks:
        c = config(task); data = Path(f"/tmp/compare_{task}.npz"); export(task, data)
        cfg = dict(data=str(data), hidden=c["model"]["hidden"], lr=c["train"].get("learning_rate", 1e-3),
                   wd=c["train"].get("weight_decay", 0.0), batch=c["train"].get("batch_size", 0),
                   steps=c["train"]["steps"], eval_every=c["train"].get("eval_every", 100))
        ours = statistics.median(run_hnn(task) for _ in range(1 if args.rollouts_only else args.repeats))
        frameworks = [] if args.rollouts_only else [("hnn-python", HNN_PY_CODE), ("jax-jit", JAX_CODE)] + ([("torch-eager", TORCH_CODE)] if args.torch else [])
        print(f"{task}: {cfg['steps']} steps, batch {cfg['batch'] or 'full'}: hnn {ours:.2f} s")
        for name, code in frameworks:
            theirs = statistics.median(run_python(py, code, cfg) for _ in range(args.repeats))
            print(f"  {name:12s} {theirs:8.2f} s   hnn speed-up {theirs / ours:5.2f}x")
        if args.paper_repo and task in PAPER_SCRIPTS and not args.rollouts_only:
            theirs = time_paper(py, args.paper_repo, task)
            print(f"  {'paper train.py':12s} {theirs:8.2f} s   hnn speed-up {theirs / ours:5.2f}x "
                  f"(its own loop: test batch every step, data loading included)")
        if args.rollouts:
            e = c["eval"]
            rcfg = dict(checkpoint="/tmp/compare_hnn.safetensors", data=str(data), starts=e["starts"],
                        t_end=e["t_end"], points=e["points"], rtol=e.get("rtol", 1e-9), atol=e.get("atol", 1e-9))
            runs = [time_hnn_eval(rcfg["checkpoint"], args.field_precision, args.method) for _ in range(args.repeats)]
            whole = statistics.median(r[0] for r in runs); ours = statistics.median(r[1] for r in runs)
            print(f"  evaluation, {e['starts']} starts × {e['points']} points over [0, {e['t_end']}]: "
                  f"hnn batched model rollouts ({args.method}, {args.field_precision} field) {ours:.3f} s (whole `hnn eval` command {whole:.2f} s)")
            loops = [("jax field", ROLLOUT_CODE)] + ([("torch field", TORCH_ROLLOUT_CODE)] if args.torch else [])
            for name, code in loops:
                theirs = statistics.median(run_python(py, code, rcfg) for _ in range(args.repeats))
                print(f"  reference loop, {name:11s} {theirs:8.2f} s (model only)   hnn speed-up {theirs / ours:5.0f}x")


if __name__ == "__main__":
    main()
