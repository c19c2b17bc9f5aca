"""Does writing a vectorized sweep's parts in threads, beside computing, pay?

The tutorial's Jacobian sweep at N points (``+exp=jacobian_sweep``), chunks of
65,536 points, in this process: first where a chunk's time goes (compute,
labels, Arrow table, Parquet file), then the whole sweep written three ways,
interleaved over rounds: in the loop (what the runner does), by one writer thread
and by two (at most that many chunks waiting). The runner keeps the loop unless a
thread is measured faster here.

Run from the repository root (CPU only)::

    python benchmarks/sweep_overlap.py              # 1,000,000 points, ~1 min
    python benchmarks/sweep_overlap.py --points 200000
"""

import argparse
import collections
import os
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from _common import cpu  # noqa: E402

from runner.app.vectorized import build_sweep  # noqa: E402
from runner.results.dataset import DATASET, write_part  # noqa: E402
from runner.results.tables import arrow_table  # noqa: E402


def profile(sweep):
    """Seconds per stage over the whole sweep."""
    spent = collections.Counter()
    out = Path(tempfile.mkdtemp()) / "part.parquet"
    for chunk in range(sweep.chunks):
        t = time.perf_counter()
        start, stop, result = sweep._dispatch(chunk)
        result = jax.block_until_ready(result)
        spent["compute"] += time.perf_counter() - t
        t = time.perf_counter()
        host = jax.tree.map(lambda x, n=stop - start: np.asarray(x)[:n], result)
        columns = sweep._columns(start, stop, host)
        spent["labels"] += time.perf_counter() - t
        t = time.perf_counter()
        table = arrow_table(columns)
        spent["arrow"] += time.perf_counter() - t
        t = time.perf_counter()
        pq.write_table(table, out)
        spent["parquet"] += time.perf_counter() - t
    shutil.rmtree(out.parent)
    return spent


def write_all(sweep, threads):
    """Seconds to compute and write every chunk, with ``threads`` writers."""
    folder = Path(tempfile.mkdtemp())
    dataset = folder / DATASET
    start = time.perf_counter()
    if threads == 0:
        for chunk, columns in sweep.run():
            write_part(dataset, chunk, columns)
    else:
        with ThreadPoolExecutor(threads) as pool:
            waiting = []
            for chunk, columns in sweep.run():
                while len(waiting) >= threads:
                    waiting.pop(0).result()
                waiting.append(
                    pool.submit(write_part, folder / DATASET, chunk, columns)
                )
            for future in waiting:
                future.result()
    seconds = time.perf_counter() - start
    shutil.rmtree(folder)
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    plain = {
        "model": {"_target_": "runner.models.tutorial.f1"},
        "inputs": [[1.0, 2.0, 3.0], [10.0, 5.0]],
        "diff": {"kind": "jacobian", "return_value": True, "has_aux": True},
        "sweep": {"chunk_size": 65536, "inputs": {"1": {
            "start": [1.0, 1.0], "stop": [10.0, 5.0], "num": args.points}}},
    }  # fmt: skip
    sweep = build_sweep(plain)
    list(sweep.run([0]))  # compile
    print(f"{cpu()}; {args.points:,} points in {sweep.chunks} chunks")
    spent = profile(sweep)
    print("per stage, s: " + ", ".join(f"{k} {v:.2f}" for k, v in spent.items()))
    times = {0: [], 1: [], 2: []}
    for _ in range(args.rounds):
        for threads in times:
            times[threads].append(write_all(sweep, threads))
    for threads, seconds in times.items():
        name = "in the loop" if threads == 0 else f"{threads} writer thread(s)"
        print(f"{name:>20}: median {statistics.median(seconds):.2f} s "
              f"(min {min(seconds):.2f})")  # fmt: skip


if __name__ == "__main__":
    main()
