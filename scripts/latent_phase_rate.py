#!/usr/bin/env python3
"""Phase speed of a pixel run's latent rollouts against the encoded true frames.

    python3 scripts/latent_phase_rate.py runs/pixels/0/latent.json     # needs numpy

For each model and each trajectory in `latent.json` (written by `hnn exp pixels`): the encoded
true frames are whitened (mean and covariance of their orbit) so that the orbit becomes a circle;
the same map is applied to the model's latent rollout; the unwrapped polar angle of each is fitted
with a line over the frames. The slopes are the phase speeds in radians per frame. A rollout that
is x% faster or slower than its encoded truth drifts out of phase by x% of a swing per swing. The
true pendulum's rate, from its (θ, p) states, is printed too (`--omega0`, its small-angle
frequency √(g/l), makes that orbit round; the default fits experiments/pixels.toml).
"""
import argparse, json

import numpy as np


def phase(path, reference):
    """Unwrapped polar angle of `path` after whitening by `reference`'s orbit."""
    path, reference = np.asarray(path), np.asarray(reference)
    center = reference.mean(0)
    w, v = np.linalg.eigh(np.cov((reference - center).T))
    whiten = v @ np.diag(w ** -0.5) @ v.T
    x = (path - center) @ whiten.T
    return np.unwrap(np.arctan2(x[:, 1], x[:, 0]))


def rate(angle):
    """Radians per frame: the slope of a line fitted to the angle."""
    return abs(np.polyfit(np.arange(len(angle)), angle, 1)[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("latent_json")
    ap.add_argument("--omega0", type=float, default=15.0 ** 0.5, help="small-angle frequency (rad per time unit)")
    args = ap.parse_args()
    d = json.load(open(args.latent_json))
    for j, states in enumerate(d["states"]):
        s = np.asarray(states)
        print(f"trajectory {j}: true pendulum {rate(np.unwrap(np.arctan2(-s[:, 1] / args.omega0, s[:, 0]))):.4f} rad/frame")
    for name, m in d["models"].items():
        for j, (rollout, encoded) in enumerate(zip(m["rollout"], m["encoded"])):
            n = min(len(rollout), len(encoded))
            truth, model = rate(phase(encoded[:n], encoded[:n])), rate(phase(rollout[:n], encoded[:n]))
            print(f"{name:9s} trajectory {j}: encoded frames {truth:.4f}, rollout {model:.4f} rad/frame "
                  f"({100 * (model / truth - 1):+.1f}%)")


if __name__ == "__main__":
    main()
