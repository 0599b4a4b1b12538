#!/usr/bin/env python3
"""Hostile-input campaign against the `hnn` binary: seeded corruptions of a checkpoint, a
.safetensors and an .npz dataset, a real-pendulum recording and a config, each run through the
command a user would run, under an address-space cap (8 GiB) and a time limit (20 s). Every run
is classified: clean error (exit 1 with an `error:` line), panic, abort (killed by a signal or
out of memory), hang (time limit), accepted (exit 0). An accepted corrupted checkpoint or dataset
file whose bytes differ from the original is a silent acceptance unless the output is identical
to the original's.

    python3 scripts/hostile_campaign.py [--hnn target/release/hnn] [--cases 100] [--seed 1]
"""

import argparse
import collections
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile

HOSTILE = ["18446744073709551615", "4611686018427387904", "1e308", "-1", "0", "nan", "99999999999", "1e-300"]
CAP = 8 << 30
LIMIT = 20


def corrupt(data: bytes, text_end: int, rng: random.Random) -> bytes:
    b = bytearray(data)
    kind = rng.randrange(5)
    if kind == 0:
        b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif kind == 1:
        for _ in range(rng.randrange(2, 9)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif kind == 2:
        del b[rng.randrange(len(b)):]
    elif kind == 3:
        at = rng.randrange(len(b))
        for i in range(at, min(len(b), at + rng.randrange(1, 9))):
            b[i] = rng.randrange(256)
    else:
        digits = [i for i in range(min(text_end, len(b))) if chr(b[i]).isdigit()]
        if not digits:
            b[0] ^= 1
        else:
            s = rng.choice(digits)
            while s > 0 and chr(b[s - 1]).isdigit():
                s -= 1
            e = s
            while e < len(b) and chr(b[e]).isdigit():
                e += 1
            b[s:e] = rng.choice(HOSTILE).encode()
    return bytes(b)


def limit():
    resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP))


def run(hnn, args, cwd):
    try:
        p = subprocess.run([hnn] + args, cwd=cwd, capture_output=True, timeout=LIMIT, preexec_fn=limit)
    except subprocess.TimeoutExpired:
        return "hang", b"", b""
    err = p.stderr.decode(errors="replace")
    if "panicked" in err or p.returncode == 101:
        return "panic", p.stdout, p.stderr
    if p.returncode < 0 or "memory allocation" in err or "out of memory" in err:
        return "abort", p.stdout, p.stderr
    if p.returncode == 0:
        return "accepted", p.stdout, p.stderr
    if "error:" in err:
        return "clean error", p.stdout, p.stderr
    return "unclear exit %d" % p.returncode, p.stdout, p.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hnn", default="target/release/hnn")
    ap.add_argument("--cases", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    hnn = os.path.abspath(a.hnn)
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    rng = random.Random(a.seed)
    work = tempfile.mkdtemp(prefix="hnn-hostile-")
    counts = collections.OrderedDict()
    examples = {}

    def tally(kind, outcome, detail):
        counts.setdefault(kind, collections.Counter())[outcome] += 1
        if outcome not in ("clean error", "accepted") and (kind, outcome) not in examples:
            # The first run of each other outcome, to read.
            examples[(kind, outcome)] = detail

    # The originals: a spring run's checkpoint, its data in both formats, a recording, configs.
    small = os.path.join(work, "small.toml")
    with open(os.path.join(repo, "experiments/spring.toml")) as f:
        cfg = f.read()
    cfg = cfg.replace("steps = 2000", "steps = 20")
    with open(small, "w") as f:
        f.write(cfg)
    subprocess.run([hnn, "exp", small, "--no-plots", "--out", "runs"], cwd=work, capture_output=True, check=True)
    ckpt = os.path.join(work, "runs/spring/0/hnn.safetensors")
    for ext in ("safetensors", "npz"):
        subprocess.run([hnn, "data", "spring", "--out", "data." + ext], cwd=work, capture_output=True, check=True)
    lines = ["%o v"]
    for trial in range(3):
        for k in range(60):
            t = 5.0 + k / 60.0
            amp = 1.0 + 0.1 * trial
            import math
            lines.append("  %.16e  %.16e  %.16e  %.16e" % (trial, t, amp * math.cos(3 * t), -3 * amp * math.sin(3 * t)))
    recording = ("\n".join(lines) + "\n").encode()

    rollout = ["--z0", "0.5,0", "--t-end", "1", "--points", "5"]
    original_rollout = subprocess.run([hnn, "rollout", ckpt] + rollout, capture_output=True).stdout
    ckpt_bytes = open(ckpt, "rb").read()
    header_end = 8 + int.from_bytes(ckpt_bytes[:8], "little")

    for i in range(a.cases):
        # Checkpoint: hnn rollout (and every 10th case hnn eval) on the corrupted file.
        bad = os.path.join(work, "case.safetensors")
        data = corrupt(ckpt_bytes, header_end, rng)
        open(bad, "wb").write(data)
        outcome, out, err = run(hnn, ["rollout", bad] + rollout, work)
        if outcome == "accepted" and out != original_rollout:
            outcome = "silent acceptance"
        tally("checkpoint (hnn rollout)", outcome, err[-300:])
        if i % 10 == 0:
            outcome, out, err = run(hnn, ["eval", bad], work)
            if outcome == "accepted" and data != ckpt_bytes:
                outcome = "accepted (identical outcome expected)"
            tally("checkpoint (hnn eval)", outcome, err[-300:])

        # Datasets: hnn fit on the corrupted file.
        for ext in ("safetensors", "npz"):
            original = open(os.path.join(work, "data." + ext), "rb").read()
            end = 8 + int.from_bytes(original[:8], "little") if ext == "safetensors" else 0
            bad = os.path.join(work, "case." + ext)
            data = corrupt(original, end, rng)
            open(bad, "wb").write(data)
            outcome, out, err = run(hnn, ["fit", "--data", bad, "--steps", "2", "--hidden", "8", "--out", "fit"], work)
            if outcome == "accepted" and data != original:
                outcome = "accepted, bytes changed"
            tally("dataset ." + ext + " (hnn fit)", outcome, err[-300:])

        # A recording: the real-pendulum experiment on it.
        bad = os.path.join(work, "rec.txt")
        open(bad, "wb").write(corrupt(recording, len(recording), rng))
        outcome, out, err = run(hnn, ["exp", "real_pendulum", "--data", bad, "--steps", "2", "--no-plots", "--out", "rp"], work)
        tally("recording (hnn exp real_pendulum --data)", outcome, err[-300:])

        # A config: hnn train for two steps.
        bad = os.path.join(work, "cfg.toml")
        open(bad, "wb").write(corrupt(cfg.encode(), len(cfg), rng))
        outcome, out, err = run(hnn, ["train", "--config", bad, "--steps", "2", "--out", "t/hnn.safetensors"], work)
        tally("config (hnn train)", outcome, err[-300:])

    # "accepted": a file that still parses (or a corruption that changed no byte); "accepted,
    # bytes changed" for a dataset is counted under "other" and listed below.
    print("| kind | runs | " + " | ".join(["clean error", "accepted", "panic", "abort", "hang", "silent acceptance"]) + " | other |")
    print("|---|---|---|---|---|---|---|---|---|")
    for kind, c in counts.items():
        known = ["clean error", "accepted", "panic", "abort", "hang", "silent acceptance"]
        other = sum(v for k, v in c.items() if k not in known)
        print("| %s | %d | %s | %d |" % (kind, sum(c.values()), " | ".join(str(c[k]) for k in known), other))
    for (kind, outcome), detail in examples.items():
        print("\n%s, %s:\n%s" % (kind, outcome, detail.decode(errors="replace") if isinstance(detail, bytes) else detail))
    shutil.rmtree(work)


if __name__ == "__main__":
    sys.exit(main())
