"""The models as scikit-learn-style estimators.

Each estimator stores its hyperparameters in ``__init__`` and nothing else; ``fit`` builds and
trains a fresh model (``model_``, the Rust :class:`hnn._hnn.Model`) and returns ``self``;
fitted attributes end in ``_``. ``get_params``/``set_params`` make ``sklearn.base.clone`` and
``GridSearchCV`` work (with scikit-learn installed the estimators are its ``BaseEstimator`` and
``RegressorMixin``; without it, the same methods are provided here).

Training runs in Rust with the GIL released; Ctrl-C stops a fit between two steps with
``KeyboardInterrupt``, and ``model_`` then holds the weights of its last whole step.
"""

import inspect
import json

import numpy as np

from . import _arrays
from . import _hnn

__all__ = ["HNN", "Baseline", "SeparableHNN", "DissipativeHNN", "LNN", "DeLaN", "load"]


class _Params:
    """``get_params``/``set_params`` as scikit-learn's ``BaseEstimator`` has them."""

    @classmethod
    def _get_param_names(cls):
        init = cls.__init__
        return sorted(p.name for p in inspect.signature(init).parameters.values() if p.name != "self")

    def get_params(self, deep=True):
        """The hyperparameters, by name."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        """Sets hyperparameters by name; an unknown name is a ``ValueError`` listing the known ones."""
        known = self._get_param_names()
        for name, value in params.items():
            if name not in known:
                raise ValueError(f"invalid parameter {name!r} for {type(self).__name__}; parameters: {', '.join(known)}")
            setattr(self, name, value)
        return self

    def __repr__(self):
        changed = {k: v for k, v in self.get_params().items() if v != _DEFAULTS.get(k)}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in changed.items())})"


try:  # scikit-learn is optional: with it, the estimators are its own kind.
    from sklearn.base import BaseEstimator as _Base
    from sklearn.base import RegressorMixin as _Regressor

    _BASES = (_Regressor, _Base)
except ImportError:  # pragma: no cover - exercised where scikit-learn is absent
    _BASES = (_Params,)


class _Estimator(*_BASES):
    """What every model shares; see the subclasses for what each learns."""

    _kind = None
    #: The activation when ``activation=None``.
    _default_activation = "tanh"

    def __init__(
        self,
        hidden=(200, 200),
        activation=None,
        dtype="float32",
        device="cpu",
        seed=0,
        steps=2000,
        batch_size=0,
        learning_rate=1e-3,
        weight_decay=0.0,
        optimizer="adam",
        schedule="constant",
        final_fraction=0.01,
        objective="gradient",
        integrator="rk4",
        substeps=10,
        backprop="stored",
        test_fraction=0.0,
        verbose=False,
    ):
        self.hidden = hidden
        self.activation = activation
        self.dtype = dtype
        self.device = device
        self.seed = seed
        self.steps = steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.schedule = schedule
        self.final_fraction = final_fraction
        self.objective = objective
        self.integrator = integrator
        self.substeps = substeps
        self.backprop = backprop
        self.test_fraction = test_fraction
        self.verbose = verbose

    # -- training ---------------------------------------------------------------------------

    def _train_settings(self):
        """The ``[train]`` table of hnn's configs, as JSON, from the hyperparameters."""
        if self.objective == "gradient":
            objective = {"mode": "gradient"}
        elif self.objective == "trajectory":
            objective = {
                "mode": "trajectory",
                "integrator": self.integrator,
                "substeps": int(self.substeps),
                "backprop": self.backprop,
            }
        else:
            raise ValueError(f"objective must be 'gradient' or 'trajectory', got {self.objective!r}")
        if self.schedule == "constant":
            schedule = {"kind": "constant"}
        elif self.schedule == "cosine":
            schedule = {"kind": "cosine", "final_fraction": float(self.final_fraction)}
        else:
            raise ValueError(f"schedule must be 'constant' or 'cosine', got {self.schedule!r}")
        return json.dumps(
            {
                "objective": objective,
                "steps": int(self.steps),
                "batch_size": int(self.batch_size),
                "optimizer": self.optimizer,
                "learning_rate": float(self.learning_rate),
                "weight_decay": float(self.weight_decay),
                "schedule": schedule,
            }
        )

    def fit(self, X, y=None, t=None):
        """Fits a fresh model and returns ``self``.

        - ``fit(z, dz)``: (z, ż) pairs, both ``[N, 2n]`` (gradient matching).
        - ``fit(z, t=t)``: trajectories ``z`` ``[T, B, 2n]`` sampled at times ``t`` ``[T]``;
          gradient matching takes ż by finite differences, ``objective="trajectory"`` integrates
          ``substeps`` steps of ``integrator`` across each interval and fits the next state.
        - ``fit(dataset)``: anything with ``.X`` and ``.y`` (a DeepChem ``NumpyDataset``,
          :class:`hnn.datasets.Dataset`), as pairs.

        ``test_fraction`` holds out the last rows (pairs) or trajectories; its loss is
        ``test_curve_``. Sets ``model_``, ``n_features_in_``, ``n_dof_``, ``train_curve_``,
        ``test_curve_``, ``fit_seconds_``.
        """
        if y is None and t is None and hasattr(X, "X") and hasattr(X, "y"):
            X, y = X.X, X.y
        settings = self._train_settings()
        if t is None:
            if y is None:
                raise ValueError("fit needs derivatives (fit(z, dz)) or sample times (fit(z, t=t))")
            if self.objective == "trajectory":
                raise ValueError("objective='trajectory' needs trajectories: fit(z, t=t) with z [T, B, 2n]")
            z = _arrays.floats(X, "z", rank=2)
            dz = _arrays.floats(y, "dz", rank=2)
            if dz.shape != z.shape:
                raise ValueError(f"dz has shape {dz.shape}, z has {z.shape}: they must match")
        else:
            z = _arrays.floats(X, "z", rank=3)
            ts = _arrays.times(t, "t", length=z.shape[0])
        if z.shape[-1] % 2:
            raise ValueError(f"states must have an even width 2n (q, then p), got shape {z.shape}")
        dof = z.shape[-1] // 2
        self.model_ = _hnn.Model(
            self._kind, dof, [int(h) for h in self.hidden], self.activation or self._default_activation, self.dtype, self.device, int(self.seed)
        )
        self.n_dof_ = dof
        self.n_features_in_ = 2 * dof
        if t is None:
            report = self.model_.fit_pairs(z, dz, float(self.test_fraction), settings, None, bool(self.verbose))
        else:
            report = self.model_.fit_trajectories(ts, z, float(self.test_fraction), settings, None, bool(self.verbose))
        report = json.loads(report)
        self.train_curve_ = np.asarray(report["train_curve"])
        # (step, held-out loss); none without a held-out split.
        held_out = float(self.test_fraction) > 0
        self.test_curve_ = [(int(s), float(v)) for s, v in report["test_curve"] if held_out and v is not None]
        self.fit_seconds_ = float(report["seconds"])
        return self

    # -- using a fitted model --------------------------------------------------------------

    def _fitted(self):
        model = getattr(self, "model_", None)
        if model is None:
            raise _not_fitted(f"this {type(self).__name__} is not fitted yet: call fit first")
        return model

    def _states(self, X, name="z"):
        model = self._fitted()
        return _arrays.floats(X, name, rank=(1, 2), width=2 * model.dof)

    def predict(self, X):
        """ż at states ``X`` ``[N, 2n]`` (or one state ``[2n]``), in the dtype of ``X``."""
        return self._fitted().predict(self._states(X))

    def rollout(self, z0, t, method="dopri5", rtol=1e-9, atol=1e-9, dt=None):
        """Trajectories ``[T, B, 2n]`` from starts ``z0`` ``[B, 2n]`` at times ``t`` ``[T]``.

        ``method``: ``"dopri5"`` or ``"dop853"`` (adaptive, ``rtol``, ``atol``) or a fixed-step
        integrator (``"leapfrog"``, ``"rk4"``, ``"yoshida4"``, ...) with step ``dt``.
        """
        model = self._fitted()
        z0 = _arrays.floats(z0, "z0", rank=2, width=2 * model.dof)
        return model.rollout(z0, _arrays.times(t, most=_hnn.MAX_ROLLOUT_TIMES), method, float(rtol), float(atol), dt)

    def score(self, X, y):
        """R² of the predicted ż against ``y`` (scikit-learn's regressor score, averaged over
        the components): 1 is perfect, 0 is predicting the mean."""
        pred = np.asarray(self.predict(X), dtype=np.float64)
        y = _arrays.floats(y, "dz", rank=2, width=pred.shape[-1]).astype(np.float64)
        ss_res = ((y - pred) ** 2).sum(axis=0)
        ss_tot = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
        return float(np.mean(1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0)))

    def save(self, path):
        """Writes the fitted model as a checkpoint (the file ``hnn eval``/``hnn rollout`` read)."""
        self._fitted().save(str(path))

    @property
    def steps_trained_(self):
        """Optimizer steps the fitted model has taken."""
        return self._fitted().steps_trained


class _Energy:
    """Models with a learned energy."""

    def energy(self, X):
        """The learned energy H(z) ``[N]`` at states ``X`` ``[N, 2n]``."""
        return self._fitted().energy(self._states(X))


class HNN(_Energy, _Estimator):
    """Hamiltonian Neural Network (Greydanus et al., 2019): an MLP H(q, p), ż = J∇H.

    H is conserved by the exact flow for any weights.
    """

    _kind = "hnn"


class SeparableHNN(_Energy, _Estimator):
    """A separable HNN, H = T(p) + V(q) from two MLPs: explicit symplectic integrators apply."""

    _kind = "separable_hnn"


class DissipativeHNN(_Energy, _Estimator):
    """ż = (J − R(z))∇H with a learned friction R = diag(0, r(z)), r ≥ 0: dH/dt ≤ 0."""

    _kind = "dissipative_hnn"

    def damping_rates(self, X):
        """The learned friction rates r(z) ``[N, n]`` (γ for a friction force −γp/m)."""
        return self._fitted().damping_rates(self._states(X))


class Baseline(_Estimator):
    """The paper's baseline: an MLP that learns ż directly (no energy)."""

    _kind = "baseline"


class LNN(_Energy, _Estimator):
    """Lagrangian Neural Network (Cranmer et al., 2020) on states (q, q̇): L = ½|q̇|² + N(q, q̇),
    q̈ by the Euler–Lagrange equations; ``energy`` is E = q̇·∂L/∂q̇ − L."""

    _kind = "lnn"
    _default_activation = "softplus"


class DeLaN(_Energy, _Estimator):
    """Deep Lagrangian Network (after Lutter et al., 2019) on states (q, q̇):
    L = ½q̇ᵀM(q)q̇ − V(q) with M = CCᵀ + 10⁻³I positive definite."""

    _kind = "delan"
    _default_activation = "softplus"


_DEFAULTS = {
    name: p.default for name, p in inspect.signature(_Estimator.__init__).parameters.items() if name != "self"
}
_CLASSES = {cls._kind: cls for cls in (HNN, Baseline, SeparableHNN, DissipativeHNN, LNN, DeLaN)}


def _not_fitted(message):
    try:
        from sklearn.exceptions import NotFittedError

        return NotFittedError(message)
    except ImportError:  # pragma: no cover
        return AttributeError(message)


def load(path):
    """A fitted estimator from a checkpoint (written by ``save``, ``hnn exp`` or ``hnn fit``), of
    the class of its model kind, with ``hidden``, ``activation`` and ``dtype`` from the file."""
    model = _hnn.Model.load(str(path))
    cls = _CLASSES.get(model.kind)
    if cls is None:
        raise ValueError(f"{path}: model kind {model.kind!r} has no Python estimator (known: {', '.join(_CLASSES)})")
    est = cls(hidden=tuple(model.hidden), activation=model.activation, dtype=model.dtype)
    est.model_ = model
    est.n_dof_ = model.dof
    est.n_features_in_ = 2 * model.dof
    return est
