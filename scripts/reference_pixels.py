#!/usr/bin/env python3
"""Trains the paper's own pixel-pendulum code on our frames and evaluates it as `hnn exp pixels` does.

Our pixel HNN, at the paper's settings, holds its orbit but drifts in phase after ~40 frames, and
over 200 frames the baseline's frame error ends lower (docs/src/pixels.md). Is that our implementation, or the
method? This script answers it with the reference code itself, on the same data:

- frames: `hnn data` renders exactly the dataset of `hnn exp pixels` for each seed, and the
  held-out rollout trajectories of its evaluation (10 trajectories of 200 steps, seed ^ 0xe7a1f0);
- training: the unchanged `experiment-pixels/train.py` of a clone of
  github.com/greydanus/hamiltonian-nn (its loss, MLPAutoencoder, PixelHNN, Adam 1e-3, weight decay
  1e-5, batch 200, 10 000 steps, its own seeding); only its `get_dataset` (which renders with
  OpenAI Gym) is replaced by our frames, arranged as its `make_gym_dataset` arranges them: inputs
  (frame t, frame t+1), targets one frame on, the first 20% of the trajectories held out;
- evaluation, as ours (`crates/hnn-pixels/src/experiment.rs`): encode the first pair, integrate the
  latent field with RK4 at dt 0.25 per frame (4 steps per frame) for 200 frames, decode, and take
  the per-frame MSE of the first frame of each decoded pair against the true frame; the energy MSE
  through a least-squares affine map from latent to (θ, θ̇) fitted on the training pairs, in the
  reference analysis's units 1.9(1 − cos θ) + (θ̇/4)².

It writes OUT/SEED/reference.json (curves and figures) and OUT/SEED/latent.json (for
`scripts/latent_phase_rate.py`), and prints a table beside hnn's runs of the same seeds
(`--ours`, default runs/pixels: `hnn exp pixels --seeds 0 1 2`). Needs torch, autograd and numpy
(`benches/compare.py --install --torch` makes such a venv) and a release build of `hnn`.

    .venv-bench/bin/python scripts/reference_pixels.py --paper-repo /tmp/refhnn --seeds 0 1 2
    .venv-bench/bin/python scripts/reference_pixels.py --reuse      # reprint from OUT
    .venv-bench/bin/python scripts/reference_pixels.py --paper-repo /tmp/refhnn --check-ours

--check-ours loads hnn's own pixel checkpoints into the paper's PyTorch PixelHNN and evaluates
them with this script: the curves match hnn's own evaluation, so the two evaluations measure the
same thing (and the checkpoints are readable by PyTorch code).
"""
import argparse
import importlib.util
import json
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
EVAL_SEED_XOR = 0x00E7_A1F0  # crates/hnn-pixels/src/experiment.rs: the evaluation trajectories' seed
SHOWN = [10, 25, 40, 50, 100, 150, 200]


def section_lines(text, section, values):
    """`text` (TOML) with the keys of `values` replaced inside [section] only."""
    out, current = [], None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            current = stripped.strip("[]").strip()
        key = stripped.split("=")[0].strip()
        if current == section and "=" in stripped and key in values:
            line = f"{key} = {values[key]}"
        out.append(line)
    return "\n".join(out) + "\n"


def render(hnn, config, seed, work):
    """Training frames [N, F, px] and states of `hnn exp`'s dataset, and its evaluation trajectories."""
    import tomllib

    cfg = tomllib.loads(config.read_text())
    train = work / f"train-{seed}.npz"
    subprocess.run([str(hnn), "data", str(config), "--out", str(train), "--seed", str(seed)], check=True,
                   stdout=subprocess.DEVNULL)
    eval_cfg = work / "eval.toml"
    eval_cfg.write_text(section_lines(config.read_text(), "data", {
        "trajectories": cfg["eval"]["trajectories"], "steps": cfg["eval"]["rollout_steps"]}))
    held = work / f"eval-{seed}.npz"
    subprocess.run([str(hnn), "data", str(eval_cfg), "--out", str(held), "--seed", str(seed ^ EVAL_SEED_XOR)],
                   check=True, stdout=subprocess.DEVNULL)
    return cfg, np.load(train), np.load(held)


def reference_dataset(frames, test_fraction):
    """Our frames in the layout of the reference's make_gym_dataset (inputs and targets one frame on)."""
    pairs = np.concatenate([frames[:, :-1], frames[:, 1:]], axis=-1)  # [N, F-1, 2px]
    x, nxt = pairs[:, :-1], pairs[:, 1:]
    n_test = int(frames.shape[0] * test_fraction)
    flat = lambda a: a.reshape(-1, a.shape[-1]).astype(np.float32)
    return {"pixels": flat(x[n_test:]), "next_pixels": flat(nxt[n_test:]),
            "test_pixels": flat(x[:n_test]), "test_next_pixels": flat(nxt[:n_test])}


def load_reference_train(repo, data):
    """The reference's train.py as a module, with its Gym dataset swapped for `data`."""
    sys.path[:0] = [str(repo)]
    stub = types.ModuleType("data")
    stub.get_dataset = lambda *args, **kwargs: data
    sys.modules["data"] = stub
    spec = importlib.util.spec_from_file_location("reference_pixels_train", repo / "experiment-pixels" / "train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train_reference(module, seed, baseline, steps, save_dir):
    argv = ["train.py", "--seed", str(seed), "--total_steps", str(steps), "--save_dir", str(save_dir)]
    sys.argv = argv + (["--baseline"] if baseline else [])
    module.args = module.get_args()  # its loss reads the global `args`
    t0 = time.perf_counter()
    model, stats = module.train(module.args)
    return model, stats, time.perf_counter() - t0


def rollout(model, z0, frames, dt):
    """RK4 of the latent field, `round(1/dt)` steps per frame: [frames + 1, E, 2]."""
    import torch

    def field(z):
        z = z.detach().requires_grad_(True)
        return model.time_derivative(z).detach()

    substeps = round(1 / dt)
    z, path = z0, [z0]
    for _ in range(frames):
        for _ in range(substeps):
            k1 = field(z)
            k2 = field(z + 0.5 * dt * k1)
            k3 = field(z + 0.5 * dt * k2)
            k4 = field(z + dt * k3)
            z = z + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        path.append(z)
    return torch.stack(path)


def evaluate(model, cfg, train_npz, held_npz):
    import torch

    px = train_npz["frames"].shape[-1]
    steps = cfg["eval"]["rollout_steps"]
    frames, states = held_npz["frames"], held_npz["states"]
    e = frames.shape[0]
    with torch.no_grad():
        # Affine map latent → (θ, θ̇) on the training pairs (the states at each pair's first frame).
        n_test = int(train_npz["frames"].shape[0] * cfg["data"]["test_fraction"])
        tf = train_npz["frames"][n_test:]
        pairs = np.concatenate([tf[:, :-2], tf[:, 1:-1]], axis=-1).reshape(-1, 2 * px)
        z_train = model.encode(torch.tensor(pairs)).numpy().astype(np.float64)
        s_train = train_npz["states"][n_test:, :-2].reshape(-1, 2)
        a, *_ = np.linalg.lstsq(np.c_[z_train, np.ones(len(z_train))], s_train, rcond=None)
        x0 = torch.tensor(np.concatenate([frames[:, 0], frames[:, 1]], axis=-1))
        z0 = model.encode(x0)
        encoded = model.encode(torch.tensor(np.concatenate([frames[:3, :-1], frames[:3, 1:]], axis=-1)))
    zs = rollout(model, z0, steps, cfg["eval"]["dt"])
    with torch.no_grad():
        decoded = model.decode(zs.reshape(-1, 2)).reshape(steps + 1, e, 2 * px)[..., :px].numpy()
    truth = frames[:, : steps + 1].transpose(1, 0, 2)
    err = ((decoded.astype(np.float64) - truth) ** 2).mean(-1)  # [T, E]
    z = zs.numpy().astype(np.float64)
    s_hat = np.c_[z.reshape(-1, 2), np.ones(z.shape[0] * e)] @ a
    energy = lambda s: 1.9 * (1 - np.cos(s[..., 0])) + (s[..., 1] / 4) ** 2
    e_err = (energy(s_hat.reshape(steps + 1, e, 2)) - energy(states[:, : steps + 1].transpose(1, 0, 2))) ** 2
    return {
        "frame_mse": err.mean(1).tolist(),
        "frame_mse_by_trajectory": err.mean(0).tolist(),
        "energy_mse_analysis": e_err.mean(0).tolist(),
        "latent": {"rollout": z[:, :3].transpose(1, 0, 2).tolist(), "encoded": encoded.numpy().tolist()},
    }


def read_safetensors(path):
    """The tensors of a .safetensors file as numpy arrays (the format is a JSON header and raw
    little-endian data; no safetensors package needed)."""
    raw = Path(path).read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    kinds = {"F32": np.float32, "F64": np.float64}
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=kinds[t["dtype"]]).reshape(t["shape"])
    return out


def paper_model_with_our_weights(repo, checkpoint, baseline):
    """The paper's PixelHNN (PyTorch) carrying the weights of one of our pixel checkpoints: our
    `ae.encoder.i` / `ae.decoder.i` are its autoencoder's linear1–4 / linear5–8; our HNN's scalar
    output row is its second output F2 (the solenoidal field J∇F2 it uses; F1 is unused and set to
    zero); our baseline's layers are its MLP's."""
    import torch

    sys.path[:0] = [str(repo)]
    from hnn import PixelHNN
    from nn_models import MLPAutoencoder

    w = read_safetensors(checkpoint)
    prefix = "baseline" if baseline else "hnn"
    hidden, width = w["ae.encoder.0.weight"].shape
    model = PixelHNN(2, w[f"{prefix}.layers.0.weight"].shape[0],
                     autoencoder=MLPAutoencoder(width, hidden, 2, nonlinearity="relu"),
                     nonlinearity="tanh", baseline=baseline)
    state = {}
    for i in range(4):
        for part, k in (("encoder", i + 1), ("decoder", i + 5)):
            state[f"autoencoder.linear{k}.weight"] = w[f"ae.{part}.{i}.weight"]
            state[f"autoencoder.linear{k}.bias"] = w[f"ae.{part}.{i}.bias"]
    for i in range(2):
        state[f"hnn.differentiable_model.linear{i + 1}.weight"] = w[f"{prefix}.layers.{i}.weight"]
        state[f"hnn.differentiable_model.linear{i + 1}.bias"] = w[f"{prefix}.layers.{i}.bias"]
    last = w[f"{prefix}.layers.2.weight"]
    state["hnn.differentiable_model.linear3.weight"] = last if baseline else np.vstack([np.zeros_like(last), last])
    model.load_state_dict({k: torch.tensor(np.array(v, dtype=np.float32)) for k, v in state.items()})
    return model.eval()


def check_ours(args):
    """Our checkpoints in the paper's classes, evaluated here: the same curves as hnn's own
    evaluation shows that the checkpoints load in PyTorch and that the two evaluations agree."""
    for seed in args.seeds:
        out = args.out / str(seed)
        out.mkdir(parents=True, exist_ok=True)
        cfg, train_npz, held_npz = render(args.hnn, args.config.resolve(), seed, out)
        mine = ours(args.ours, seed)
        for name in ("hnn", "baseline"):
            model = paper_model_with_our_weights(args.paper_repo.resolve(), args.ours / str(seed) / f"{name}.safetensors",
                                                 name == "baseline")
            r = evaluate(model, cfg, train_npz, held_npz)
            a, b = np.array(r["frame_mse"]), np.array(mine[name]["frame_mse"])
            e = np.mean(r["energy_mse_analysis"])
            print(f"seed {seed} {name}: frame MSE, paper's classes {a.mean():.6f} / hnn {b.mean():.6f} over all "
                  f"frames, largest difference at a frame {np.abs(a - b).max():.1e}; energy MSE {e:.4e} / "
                  f"{mine[name]['energy_mse_analysis']:.4e}", flush=True)
        for f in out.glob("*.npz"):
            f.unlink()


def ours(runs, seed):
    path = runs / str(seed) / "frame_mse.json"
    metrics = runs / str(seed) / "metrics.json"
    if not path.exists():
        return None
    curves = json.loads(path.read_text())
    m = json.loads(metrics.read_text())["models"] if metrics.exists() else {}
    energy = {k: v["metrics"].get("energy_mse_analysis", {}).get("mean") for k, v in m.items()}
    return {k: {"frame_mse": c, "energy_mse_analysis": energy.get(k)} for k, c in curves.items()}


def row(label, curves, energies):
    c = np.mean(curves, axis=0)
    cells = " | ".join(f"{c[t]:.4f}" for t in SHOWN)
    per_seed = ", ".join(f"{np.mean(x):.4f}" for x in curves)
    e = f"{np.mean(energies):.2e}" if all(v is not None for v in energies) else "—"
    return f"| {label} | {cells} | {np.mean(c):.4f} ({per_seed}) | {e} |"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--paper-repo", type=Path, help="a clone of greydanus/hamiltonian-nn")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--steps", type=int, default=10000, help="training steps (the paper's: 10 000)")
    ap.add_argument("--config", type=Path, default=ROOT / "experiments" / "pixels.toml")
    ap.add_argument("--hnn", type=Path, default=ROOT / "target" / "release" / "hnn")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "reference_pixels")
    ap.add_argument("--ours", type=Path, default=ROOT / "runs" / "pixels", help="hnn exp pixels runs to compare")
    ap.add_argument("--reuse", action="store_true", help="print from OUT without training")
    ap.add_argument("--check-ours", action="store_true",
                    help="load hnn's checkpoints (--ours) into the paper's PyTorch classes and evaluate them here")
    args = ap.parse_args()
    if args.check_ours:
        return check_ours(args)

    if not args.reuse:
        if not (args.paper_repo and (args.paper_repo / "experiment-pixels" / "train.py").exists()):
            sys.exit(f"--paper-repo {args.paper_repo} is not a clone of greydanus/hamiltonian-nn")
        if not args.hnn.exists():
            sys.exit(f"{args.hnn} not found: run `cargo build --release` first")
        import torch

        for seed in args.seeds:
            out = args.out / str(seed)
            out.mkdir(parents=True, exist_ok=True)
            cfg, train_npz, held_npz = render(args.hnn, args.config.resolve(), seed, out)
            data = reference_dataset(train_npz["frames"], cfg["data"]["test_fraction"])
            module = load_reference_train(args.paper_repo.resolve(), data)
            result, latent = {}, {}
            for name, baseline in (("hnn", False), ("baseline", True)):
                model, stats, seconds = train_reference(module, seed, baseline, args.steps, out)
                model.eval()
                r = evaluate(model, cfg, train_npz, held_npz)
                latent[name] = r.pop("latent")
                r.update(train_seconds=seconds, final_train_loss=stats["train_loss"][-1], steps=args.steps,
                         torch_threads=torch.get_num_threads())
                result[name] = r
                print(f"seed {seed} {name}: {seconds:.0f} s, frame MSE over 200 frames "
                      f"{np.mean(r['frame_mse']):.4f}, at 200 {r['frame_mse'][-1]:.4f}", flush=True)
            (out / "reference.json").write_text(json.dumps(result))
            states = held_npz["states"][:3].tolist()
            (out / "latent.json").write_text(json.dumps({"models": latent, "states": states}))
            for f in out.glob("*.npz"):
                f.unlink()

    print(f"\nFrame MSE (mean over the held-out trajectories and seeds {args.seeds}) at frames "
          f"{' / '.join(map(str, SHOWN))}; mean over all frames (per seed); energy MSE (reference's units)\n")
    print("| run | " + " | ".join(map(str, SHOWN)) + " | all frames (per seed) | energy MSE |")
    print("|---|" + "---|" * (len(SHOWN) + 2))
    ref = {s: json.loads((args.out / str(s) / "reference.json").read_text()) for s in args.seeds}
    mine = {s: ours(args.ours, s) for s in args.seeds}
    for name, label in (("hnn", "HNN"), ("baseline", "baseline")):
        print(row(f"the paper's train.py, {label}", [ref[s][name]["frame_mse"] for s in args.seeds],
                  [np.mean(ref[s][name]["energy_mse_analysis"]) for s in args.seeds]))
        if all(mine[s] for s in args.seeds):
            print(row(f"hnn (ours), {label}", [mine[s][name]["frame_mse"] for s in args.seeds],
                      [mine[s][name]["energy_mse_analysis"] for s in args.seeds]))


if __name__ == "__main__":
    main()
