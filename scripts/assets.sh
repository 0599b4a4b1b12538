#!/usr/bin/env bash
# README's pictures, made by the project's own commands (seed 0) and copied into assets/:
#   damped_spring_energy.png   true energy along a rollout: the damped truth, HNN, dissipative HNN, baseline
#   damped_spring_phase.png    the same rollouts in the (q, p) plane
#   double_well_kT0.25.png     positions under the BAOAB thermostat on the learned and true H, with exp(−V/kT)
#   double_well_kT1.png        the same at kT = 1 (the barrier's height)
#   real_pendulum_energy.png   energy along the held-out recording: measured, HNN, dissipative HNN, baseline
#                              (central differences: experiments/real_pendulum_friction.toml)
# Takes about 6 minutes on 2 cores. Usage: scripts/assets.sh [--data PATH_TO_real_pend_h_1.txt]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
hnn=./target/release/hnn
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$hnn" exp damped_spring --out "$out"
"$hnn" exp double_well --out "$out"
"$hnn" exp real_pendulum_friction --out "$out" "$@"
mkdir -p assets
cp "$out/damped_spring/0/energy.png" assets/damped_spring_energy.png
cp "$out/damped_spring/0/phase.png" assets/damped_spring_phase.png
cp "$out/double_well/0/thermostat_kT0.25.png" assets/double_well_kT0.25.png
cp "$out/double_well/0/thermostat_kT1.png" assets/double_well_kT1.png
cp "$out/real_pendulum_friction/0/energy_recording.png" assets/real_pendulum_energy.png
ls -l assets
