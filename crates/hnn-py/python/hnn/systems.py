"""Analytic systems for ground truth: their exact energy, time derivatives and trajectories.

>>> pendulum = hnn.systems.System("pendulum", m=0.5, g=6.0, l=1.0)
>>> pendulum.energy(np.array([[1.0, 0.0]]))      # 3(1 − cos 1)
array([1.37909308])

The parameters are those of the ``[data.task.system]`` tables of hnn's configs;
:func:`kinds` lists every kind with its Hamiltonian.
"""

import json

import numpy as np

from . import _arrays
from . import _hnn

__all__ = ["System", "kinds"]


def kinds():
    """Every kind of system, with its Hamiltonian: ``{kind: formula}``."""
    return dict(_hnn.System.kinds())


class System:
    """An analytic system of hnn: ``System(kind, **parameters)``."""

    def __init__(self, kind, **parameters):
        self._system = _hnn.System(json.dumps({"kind": kind, **parameters}))

    @property
    def kind(self):
        """The kind's config name."""
        return self._system.kind

    @property
    def parameters(self):
        """The parameters, as hnn reads them (defaults filled in)."""
        settings = json.loads(self._system.settings)
        settings.pop("kind", None)
        return settings

    @property
    def dof(self):
        """Degrees of freedom n (states have 2n columns)."""
        return self._system.dof

    @property
    def conservative(self):
        """Whether it conserves its energy (no friction)."""
        return self._system.conservative

    def _z(self, z, name="z"):
        return _arrays.floats(z, name, rank=(1, 2), width=2 * self.dof)

    def energy(self, z):
        """H(z) ``[N]`` at states ``z`` ``[N, 2n]``."""
        return self._system.energy(self._z(z))

    def time_derivatives(self, z):
        """ż(z) ``[N, 2n]``, friction included."""
        return self._system.time_derivatives(self._z(z))

    def rollout(self, z0, t, method="dopri5", rtol=1e-10, atol=1e-10):
        """Exact trajectories ``[T, B, 2n]`` from starts ``z0`` ``[B, 2n]`` at times ``t``
        (adaptive ``"dopri5"`` or ``"dop853"``)."""
        return self._system.rollout(self._z(z0, "z0"), _arrays.times(t, most=_hnn.MAX_ROLLOUT_TIMES), method, float(rtol), float(atol))

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in self.parameters.items())
        return f"System({self.kind!r}, {params})"
