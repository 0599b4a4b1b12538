#!/usr/bin/env python3
"""One gradient-matching training step on the GPU: hnn (candle, CUDA) against the reference
algorithm in PyTorch eager and JAX jit, same model, batch, precision and optimizer.

The step: H = MLP(z) (2n → 200 → 200 → 1, tanh, no bias on the last layer), ∇H, the field
J∇H, loss = mean((J∇H − target)²), parameter gradients, Adam. PyTorch and JAX take ∇H by
autograd and backpropagate through it (double backward), as the reference code does; hnn builds
∇H with an explicit VJP and needs one backward. f32 everywhere, with full-precision f32 matrix
products (no TF32: PyTorch's default; JAX is set to "highest").

hnn's figures are criterion's medians from the bench binary built with `--features cuda`
(scripts/build_cuda.sh puts it in .cuda-bundle/benches/training): `gradient_step/explicit_f32/B`,
the training path (the hand-written backward in tensor ops, hnn_core::exec::explicit), and
`gradient_step/autograd_f32/B` (candle's autograd through the explicit ∇H).

    python3 benches/gpu_compare.py --bench .cuda-bundle/benches/training --batches 1000 65536

Prints, per batch, the median milliseconds per step of each and hnn's speed-up, plus the FLOPs of
one step and the rate each reaches.
"""
import argparse, re, statistics, subprocess, time

WIDTH = 200


def step_flops(batch, dim):
    """Multiply-adds ×2 of one step: forward, the ∇H pass, and the backward of both (≈ 2×)."""
    forward = 2 * batch * (dim * WIDTH + WIDTH * WIDTH + WIDTH)
    return 3 * 2 * forward


def time_torch(batch, dim, steps, repeats):
    import torch
    torch.backends.cuda.matmul.allow_tf32 = False
    dev = torch.device("cuda")
    sizes = [dim, WIDTH, WIDTH, 1]
    layers = [torch.nn.Linear(sizes[i], sizes[i + 1], bias=i < 2).to(dev) for i in range(3)]
    for l in layers:
        torch.nn.init.orthogonal_(l.weight)
    params = [p for l in layers for p in l.parameters()]
    opt = torch.optim.Adam(params, 1e-3)
    z = torch.randn(batch, dim, device=dev)
    target = torch.randn(batch, dim, device=dev)
    n = dim // 2

    def step():
        x = z.clone().requires_grad_(True)
        a = x
        for l in layers[:-1]:
            a = torch.tanh(l(a))
        g = torch.autograd.grad(layers[-1](a).sum(), x, create_graph=True)[0]
        field = torch.cat([g[:, n:], -g[:, :n]], 1)
        loss = ((field - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(20):
        step()
    times = []
    for _ in range(repeats):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) / steps)
    return statistics.median(times)


def time_jax(batch, dim, steps, repeats):
    import jax, jax.numpy as jnp
    jax.config.update("jax_default_matmul_precision", "highest")
    key = jax.random.PRNGKey(0)
    sizes = [dim, WIDTH, WIDTH, 1]
    init = jax.nn.initializers.orthogonal()
    params = []
    for i in range(3):
        key, k = jax.random.split(key)
        params.append((init(k, (sizes[i + 1], sizes[i])), jnp.zeros(sizes[i + 1] if i < 2 else 0)))
    n = dim // 2

    def H(p, x):
        a = x
        for w, b in p[:-1]:
            a = jnp.tanh(a @ w.T + b)
        return (a @ p[-1][0].T)[0]

    def loss(p, z, target):
        g = jax.vmap(jax.grad(H, argnums=1), in_axes=(None, 0))(p, z)
        return jnp.mean((jnp.concatenate([g[:, n:], -g[:, :n]], 1) - target) ** 2)

    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 1e-3

    @jax.jit
    def step(p, m, v, t, z, target):
        l, g = jax.value_and_grad(loss)(p, z, target)
        m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
        v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
        p = jax.tree_util.tree_map(
            lambda p, m, v: p - lr * (m / (1 - b1**t)) / (jnp.sqrt(v / (1 - b2**t)) + eps), p, m, v)
        return p, m, v, l

    key, k1, k2 = jax.random.split(key, 3)
    z, target = jax.random.normal(k1, (batch, dim)), jax.random.normal(k2, (batch, dim))
    m = jax.tree_util.tree_map(jnp.zeros_like, params)
    v = m
    t = 1.0
    for _ in range(20):
        params, m, v, l = step(params, m, v, t, z, target)
        t += 1
    l.block_until_ready()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            params, m, v, l = step(params, m, v, t, z, target)
            t += 1
        l.block_until_ready()
        times.append((time.perf_counter() - t0) / steps)
    return statistics.median(times)


UNITS = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def time_hnn(bench, route, batch):
    """criterion's median for gradient_step/ROUTE_f32/BATCH, in seconds."""
    name = f"gradient_step/{route}_f32/{batch}"
    out = subprocess.run([bench, "--bench", "--warm-up-time", "2", "--measurement-time", "5", f"^{name}$"],
                         check=True, capture_output=True, text=True).stdout
    m = re.search(re.escape(name) + r"\s+time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", out)
    if not m:
        raise SystemExit(f"no criterion figure for {name} in:\n{out}")
    return float(m.group(1)) * UNITS[m.group(2)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", required=True, help="the criterion binary `training` built with --features cuda")
    ap.add_argument("--batches", type=int, nargs="+", default=[1000, 65536])
    ap.add_argument("--dim", type=int, default=2, help="phase-space dimension 2n (spring: 2)")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-jax", action="store_true")
    args = ap.parse_args()
    if args.dim != 2:
        raise SystemExit("the criterion bench times the spring model (2n = 2)")
    for batch in args.batches:
        flops = step_flops(batch, args.dim)
        ours = time_hnn(args.bench, "explicit", batch)
        rows = [("hnn-autograd", time_hnn(args.bench, "autograd", batch)),
                ("torch-eager", time_torch(batch, args.dim, args.steps, args.repeats))]
        if not args.no_jax:
            rows.append(("jax-jit", time_jax(batch, args.dim, args.steps, args.repeats)))
        print(f"batch {batch}, f32, {flops / 1e9:.2f} GFLOP/step: hnn {ours * 1e3:.3f} ms/step "
              f"({flops / ours / 1e12:.1f} TFLOP/s)")
        for name, theirs in rows:
            print(f"  {name:12s} {theirs * 1e3:8.3f} ms/step ({flops / theirs / 1e12:5.1f} TFLOP/s)"
                  f"   hnn speed-up {theirs / ours:5.2f}x")


if __name__ == "__main__":
    main()
