"""Chunks of a vectorized sweep on 1, 2 and 4 local Ray workers: points per second.

The sweep is the tutorial's Jacobian of ``f1`` (``+exp=jacobian_sweep``) at N
points in chunks of 16,384, written as Parquet. Each command is a whole process,
timed from start to exit:

- ``local``: ``sweep.executor=local`` (this process computes every chunk);
- ``ray N``: ``sweep.executor=ray sweep.ray.num_cpus=N`` (a Ray instance started
  for the sweep, N workers, each compiling once and writing its own parts).

Printed: wall seconds, points per second, and the job's own seconds from its
``run.json`` (which leaves out the interpreter's start). This machine has 2
cores: past 2 workers, the workers share them, so the curve says what Ray costs
here (start-up, one compile per worker, scheduling), not how a cluster scales.

Run from the repository root (CPU only)::

    python benchmarks/sweep_ray.py              # 1,000,000 points, about 3 min
    python benchmarks/sweep_ray.py --points 200000
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, machine


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sweep-ray-"))
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "RAY_USAGE_STATS_ENABLED": "0"}
    print(machine())
    print(f"{args.points:,} points, chunks of 16,384")
    print(f"{'executor':>10} {'wall s':>8} {'job s':>8} {'points/s':>10}")
    for name, extra in [("local", []), *[
            (f"ray {n}", ["sweep.executor=ray", f"sweep.ray.num_cpus={n}"])
            for n in (1, 2, 4)]]:  # fmt: skip
        out = tmp / name.replace(" ", "")
        cmd = [sys.executable, "-m", "runner", "+exp=jacobian_sweep",
               f"sweep.inputs.1.num={args.points}", "sweep.chunk_size=16384",
               "output.formats=[parquet]", "output.plots=false",
               "output.summary=false", f"hydra.run.dir={out}", *extra]  # fmt: skip
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"{name} failed:\n{proc.stderr[-2000:]}")
        job = json.loads((out / "run.json").read_text())["seconds"]
        print(f"{name:>10} {wall:>8.1f} {job:>8.1f} {args.points / wall:>10,.0f}")


if __name__ == "__main__":
    main()
