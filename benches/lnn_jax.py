#!/usr/bin/env python3
"""One LNN training step in JAX, the algorithm of the LNN paper (Cranmer et al. 2020) and its
reference code: q̈ = pinv(∇_q̇∇_q̇ᵀL) [∇_qL − (∇_q∇_q̇ᵀL) q̇] with `jax.hessian` / `jax.jacobian`
of an MLP L(q, q̇), vmapped over the batch; summed L1 loss on (q̇, q̈); one Adam update; all
under one `jax.jit`. The side-by-side partner of `cargo bench --bench training -- lnn_step`
(same sizes: 2 degrees of freedom, 3 softplus layers of 600, batch 512).

    python3 -m venv .venv-bench && .venv-bench/bin/pip install jax
    .venv-bench/bin/python benches/lnn_jax.py [--dtype float64] [--solve solve]
"""
import argparse
import time

import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("--width", type=int, default=600)
ap.add_argument("--layers", type=int, default=3)
ap.add_argument("--batch", type=int, default=512)
ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
ap.add_argument("--solve", choices=["pinv", "solve"], default="pinv", help="pinv: as the reference code")
ap.add_argument("--steps", type=int, default=40)
args = ap.parse_args()

import jax  # noqa: E402

if args.dtype == "float64":
    jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
from jax.example_libraries import optimizers  # noqa: E402

dtype = jnp.float64 if args.dtype == "float64" else jnp.float32


def init(key):
    widths = [4] + [args.width] * args.layers + [1]
    params = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        key, sub = jax.random.split(key)
        w = jax.random.normal(sub, (fan_in, fan_out), dtype) / np.sqrt(fan_in)
        params.append((w, jnp.zeros(fan_out, dtype)))
    return params


def lagrangian(params, q, q_t):
    x = jnp.concatenate([q, q_t])
    for w, b in params[:-1]:
        x = jax.nn.softplus(x @ w + b)
    w, b = params[-1]
    return (x @ w + b)[0]


def equations_of_motion(params, state):
    q, q_t = jnp.split(state, 2)
    mass = jax.hessian(lagrangian, 2)(params, q, q_t)
    mixed = jax.jacobian(jax.jacobian(lagrangian, 2), 1)(params, q, q_t)
    rhs = jax.grad(lagrangian, 1)(params, q, q_t) - mixed @ q_t
    q_tt = jnp.linalg.pinv(mass) @ rhs if args.solve == "pinv" else jnp.linalg.solve(mass, rhs)
    return jnp.concatenate([q_t, q_tt])


def loss(params, states, targets):
    preds = jax.vmap(lambda s: equations_of_motion(params, s))(states)
    return jnp.sum(jnp.abs(preds - targets))


opt_init, opt_update, get_params = optimizers.adam(1e-5)


@jax.jit
def step(i, opt_state, states, targets):
    return opt_update(i, jax.grad(loss)(get_params(opt_state), states, targets), opt_state)


def main():
    key = jax.random.PRNGKey(0)
    opt_state = opt_init(init(key))
    states = jax.random.normal(jax.random.PRNGKey(1), (args.batch, 4), dtype)
    targets = jax.random.normal(jax.random.PRNGKey(2), (args.batch, 4), dtype)
    opt_state = jax.block_until_ready(step(0, opt_state, states, targets))  # compile
    times = []
    for i in range(args.steps):
        t0 = time.perf_counter()
        opt_state = jax.block_until_ready(step(i + 1, opt_state, states, targets))
        times.append(time.perf_counter() - t0)
    print(f"jax {jax.__version__} {args.dtype} width {args.width}×{args.layers} batch {args.batch} "
          f"solve {args.solve}: median {np.median(times) * 1e3:.1f} ms over {args.steps} steps")


if __name__ == "__main__":
    main()
