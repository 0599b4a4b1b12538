"""The notebook "02 • Neural Hamiltonian" with the hnn package: a neural Hamiltonian learns the
harmonic oscillator H = p²/2 + q²/2, first by gradient matching on random samples, then by
trajectory matching on 20 observed trajectories (every 50th of 200 steps of 0.01, fitted
through 50 RK4 steps per interval); each is compared with the truth over 2000 RK4 steps from
(1, 0). The same program as the Rust example `examples/notebook.rs` (the samples come from
numpy's generator instead of Rust's, so the figures agree in size, not digit for digit).

    python crates/hnn-py/examples/notebook.py
"""

import numpy as np

import hnn


def sample(n, amplitude, seed):
    """``n`` states (q, p) uniform in [−amplitude, amplitude]², as the notebook's ``sample``."""
    return np.random.default_rng(seed).uniform(-amplitude, amplitude, size=(n, 2))


def largest_error(oscillator, model):
    """The largest |Δq| or |Δp| over 2000 RK4 steps of 0.01 from (1, 0)."""
    t = 0.01 * np.arange(2001)
    z0 = np.array([[1.0, 0.0]])
    truth = oscillator.rollout(z0, t)
    learned = model.rollout(z0, t, method="rk4", dt=0.01)
    return float(np.abs(learned - truth).max())


def main():
    oscillator = hnn.systems.System("harmonic_oscillator", m=1.0, k=1.0, q0=0.0)
    settings = dict(hidden=(16, 16), dtype="float64")

    # Gradient matching: 10 000 Adam steps at 1e-3 on batches of 50 from 500 000 random states.
    z = sample(500_000, 1.5, 0)
    gradient = hnn.HNN(steps=10_000, batch_size=50, **settings).fit(z, oscillator.time_derivatives(z))
    errors = {"gradient": largest_error(oscillator, gradient)}

    # Trajectory matching: 20 starts observed at t = 0, 0.5, ..., 2; each interval is 50 RK4 steps.
    t = 0.5 * np.arange(5)
    observed = oscillator.rollout(sample(20, 1.5, 1), t)  # [5, 20, 2]
    trajectory = hnn.HNN(steps=2000, objective="trajectory", integrator="rk4", substeps=50, **settings)
    trajectory.fit(observed, t=t)
    errors["trajectory"] = largest_error(oscillator, trajectory)

    for name, error in errors.items():
        print(f"{name} matching: largest state error over 2000 steps {error:.2e}")
    return errors


if __name__ == "__main__":
    main()
