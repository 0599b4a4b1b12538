"""hnn: Hamiltonian Neural Networks and their relatives, with a Rust core.

Estimators in scikit-learn's conventions (constructor hyperparameters, ``fit`` returns
``self``, fitted attributes end in ``_``), numpy arrays in and out::

    import numpy as np, hnn
    data = hnn.datasets.spring()
    model = hnn.HNN(steps=500).fit(data.train_z, data.train_dz)
    dz = model.predict(data.test_z)                    # ż, [N, 2n]
    orbit = model.rollout(np.array([[1.0, 0.0]]), np.linspace(0, 10, 101))  # [101, 1, 2]
    model.save("spring_hnn.safetensors")               # the checkpoint `hnn eval` reads

States are ``[N, 2n]``: the coordinates q first, then the momenta p (for ``LNN`` and
``DeLaN``, q then q̇).

Modules: :mod:`hnn.estimators` (the models), :mod:`hnn.datasets` (the paper's data, as
``hnn data NAME`` writes them), :mod:`hnn.systems` (analytic systems for ground truth),
:mod:`hnn.torch` (a checkpoint as a ``torch.nn.Module``; needs torch).
"""

from ._hnn import __version__
from . import datasets, systems
from .estimators import HNN, Baseline, DeLaN, DissipativeHNN, LNN, SeparableHNN, load

__all__ = [
    "HNN",
    "Baseline",
    "SeparableHNN",
    "DissipativeHNN",
    "LNN",
    "DeLaN",
    "load",
    "datasets",
    "systems",
    "__version__",
]
