#!/usr/bin/env bash
# The pictures of README and the book, made by the project's own commands (seed 0) and copied
# into docs/src/figures/ (tests/docs.rs checks that every file there is named below):
#   docs/src/figures/two_body_orbits.png        held-out two-body orbits: truth, HNN, baseline (README's picture)
#   docs/src/figures/two_body_energy.png        the energy along those rollouts
#   docs/src/figures/notebook_gradient.png      the tutorial: q, p over 2000 steps after gradient matching
#   docs/src/figures/notebook_trajectory.png    the same after trajectory matching
#   docs/src/figures/damped_spring_energy.png   true energy along a rollout: the damped truth, HNN, dissipative HNN, baseline
#   docs/src/figures/damped_spring_phase.png    the same rollouts in the (q, p) plane
#   docs/src/figures/double_well_kT0.25.png     positions under the BAOAB thermostat on the learned and true H, with exp(−V/kT)
#   docs/src/figures/double_well_kT1.png        the same at kT = 1 (the barrier's height)
#   docs/src/figures/real_pendulum_energy.png   energy along the held-out recording: measured, HNN, dissipative HNN, baseline
#                                               (central differences: experiments/real_pendulum_friction.toml)
# Takes about 7 minutes on 2 cores. Usage: scripts/assets.sh [--data PATH_TO_real_pend_h_1.txt]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin hnn --example notebook
hnn=./target/release/hnn
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
figures=docs/src/figures
mkdir -p "$figures"
"$hnn" exp two_body --out "$out"
./target/release/examples/notebook "$out"
"$hnn" exp damped_spring --out "$out"
"$hnn" exp double_well --out "$out"
"$hnn" exp real_pendulum_friction --out "$out" "$@"
cp "$out/two_body/0/orbits.png" docs/src/figures/two_body_orbits.png
cp "$out/two_body/0/energy.png" docs/src/figures/two_body_energy.png
cp "$out/notebook_gradient.png" docs/src/figures/notebook_gradient.png
cp "$out/notebook_trajectory.png" docs/src/figures/notebook_trajectory.png
cp "$out/damped_spring/0/energy.png" docs/src/figures/damped_spring_energy.png
cp "$out/damped_spring/0/phase.png" docs/src/figures/damped_spring_phase.png
cp "$out/double_well/0/thermostat_kT0.25.png" docs/src/figures/double_well_kT0.25.png
cp "$out/double_well/0/thermostat_kT1.png" docs/src/figures/double_well_kT1.png
cp "$out/real_pendulum_friction/0/energy_recording.png" docs/src/figures/real_pendulum_energy.png
ls -l "$figures"
