"""An hnn checkpoint as a ``torch.nn.Module`` (needs torch; nothing else in hnn does).

>>> module = hnn.torch.module("runs/spring/0/hnn.safetensors")
>>> H = module(z)                           # the learned energy [N] (a baseline: ż)
>>> dz = module.time_derivatives(z)         # J∇H by torch's autograd, [N, 2n]

It agrees with hnn's own model within 1e-6 in float32 and 1e-12 in float64 (the test suite
checks it where torch is installed). Kinds: ``hnn``, ``separable_hnn`` and ``baseline``.
"""

import math

from .checkpoint import read

__all__ = ["module"]


def _activation(torch, name):
    table = {
        "tanh": torch.tanh,
        "softplus": torch.nn.functional.softplus,
        "sin": torch.sin,
        "silu": torch.nn.functional.silu,
        "gelu": lambda u: 0.5 * u * (1.0 + torch.erf(u / math.sqrt(2.0))),
        "relu": torch.relu,
    }
    if name not in table:
        raise ValueError(f"activation {name!r} has no torch form here (known: {', '.join(table)})")
    return table[name]


def module(path, dtype=None):
    """The model in the checkpoint at ``path`` as a ``torch.nn.Module`` (its weights in the
    file's dtype, or ``dtype``)."""
    import torch

    tensors, meta = read(path)
    model = meta.get("model", {})
    kind, dof, act = model.get("kind"), model.get("dof"), _activation(torch, model.get("activation", "tanh"))
    if dtype is None:
        dtype = torch.float64 if meta.get("dtype") == "f64" else torch.float32

    class Mlp(torch.nn.Module):
        def __init__(self, prefix):
            super().__init__()
            self.weights = torch.nn.ParameterList()
            self.biases = torch.nn.ParameterList()
            i = 0
            while f"{prefix}.layers.{i}.weight" in tensors:
                self.weights.append(torch.nn.Parameter(torch.tensor(tensors[f"{prefix}.layers.{i}.weight"], dtype=dtype)))
                bias = tensors.get(f"{prefix}.layers.{i}.bias")
                self.biases.append(torch.nn.Parameter(torch.tensor(bias, dtype=dtype) if bias is not None else torch.zeros(0, dtype=dtype)))
                i += 1
            if i == 0:
                raise ValueError(f"{path}: no tensors {prefix}.layers.*")

        def forward(self, x):
            last = len(self.weights) - 1
            for i, (w, b) in enumerate(zip(self.weights, self.biases)):
                x = x @ w.T + (b if b.numel() else 0.0)
                if i < last:
                    x = act(x)
            return x

    class Hamiltonian(torch.nn.Module):
        """H(z) of an ``hnn`` or ``separable_hnn`` checkpoint; ``time_derivatives`` is J∇H."""

        def __init__(self):
            super().__init__()
            if kind == "hnn":
                self.h = Mlp("hnn")
            elif kind == "separable_hnn":
                self.kinetic, self.potential = Mlp("separable_hnn.kinetic"), Mlp("separable_hnn.potential")
            else:
                raise ValueError(f"{path}: kind {kind!r}")

        def forward(self, z):
            if kind == "hnn":
                return self.h(z).squeeze(-1)
            return (self.kinetic(z[..., dof:]) + self.potential(z[..., :dof])).squeeze(-1)

        def time_derivatives(self, z):
            z = z if z.requires_grad else z.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(self.forward(z).sum(), z, create_graph=torch.is_grad_enabled())
            return torch.cat([g[..., dof:], -g[..., :dof]], dim=-1)

    class Field(torch.nn.Module):
        """ż(z) of a ``baseline`` checkpoint."""

        def __init__(self):
            super().__init__()
            self.f = Mlp("baseline")

        def forward(self, z):
            return self.f(z)

        def time_derivatives(self, z):
            return self.f(z)

    if kind in ("hnn", "separable_hnn"):
        return Hamiltonian()
    if kind == "baseline":
        return Field()
    raise ValueError(f"{path}: model kind {kind!r} has no torch form here (hnn, separable_hnn, baseline)")
