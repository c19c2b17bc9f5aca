"""Sweeps past memory: wall time and peak memory at 10^6 and 10^7 points.

The sweep is the tutorial's Jacobian of ``f1`` (``+exp=jacobian_sweep``: value and
aux too, 17 rows per point), written as Parquet. Side by side in one run, each a
whole process timed from start to exit, peak resident memory read from the
kernel's accounting of that process (``os.wait4``):

(a) the runner, streaming chunks to the dataset ``results.parquet/``::

        python -m runner +exp=jacobian_sweep sweep.inputs.1.num=N \\
            'output.formats=[parquet]' output.plots=false hydra.run.dir=TMP

(b) a hand-written script: ``jax.jit(jax.vmap(jax.jacrev(f1, has_aux=True)))``
    over all N points at once, the same long table built with numpy and pyarrow,
    written as one Parquet file.

Both get a warm JAX compilation cache (an untimed warm-up run each). After the
numbers are printed the two tables are compared (labels equal, values within
1e-6) at a tenth of the smaller size. Targets at 10^6 points: (a) / (b) wall
time <= 1.3, and (a) peak RSS <= 1 GB; at 10^7 points (a) must complete within
the same memory bound ((b) is run too, for reference, unless ``--skip-raw-10m``).

Run from the repository root (CPU only)::

    python benchmarks/sweep_scale.py            # about 3 min
    python benchmarks/sweep_scale.py --quick    # 10^5 and 10^6 points
"""

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from _common import ROOT, machine

RAW = textwrap.dedent('''
    """Jacobian of f1, its value and aux at N values of y: one Parquet file."""
    import os
    import sys

    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax
    import jax.numpy as jnp
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    num, out, cache = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    jax.config.update("jax_compilation_cache_dir", cache)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


    def f1(x, y):
        a = 4 * x[1] ** 2 - 2 * x[2]
        r = jnp.asarray([x[0] * y[0], 5 * x[2] * y[1], a, x[2] * jnp.sin(x[0])])
        return r, (r, a)


    x = jnp.asarray([1.0, 2.0, 3.0], dtype=jnp.float32)
    point = jax.jit(jax.vmap(lambda y: jax.jacrev(f1, has_aux=True)(x, y)))
    ys = np.linspace([1.0, 1.0], [10.0, 5.0], num)
    jac, (value, aux) = jax.device_get(point(ys.astype(np.float32)))
    labels = ([("grad", "arg0", "4,3", i) for i in range(12)]
              + [("value", "", "4", i) for i in range(4)] + [("aux", "", "", 0)])
    per = len(labels)
    values = np.concatenate([jac.reshape(num, 12), value.reshape(num, 4),
                             aux.reshape(num, 1)], axis=1).reshape(-1)
    text = {name: pa.array([lab[k] for lab in labels])
            for k, name in enumerate(("quantity", "wrt", "shape"))}
    index = np.tile(np.arange(per), num)
    table = pa.table({
        "job": np.repeat(np.arange(num), per),
        "inputs.1[0]": np.repeat(ys[:, 0], per),
        "inputs.1[1]": np.repeat(ys[:, 1], per),
        "status": pa.array(["ok"]).take(np.zeros(num * per, dtype=np.int32)),
        "error": pa.array([""]).take(np.zeros(num * per, dtype=np.int32)),
        **{k: v.take(index) for k, v in text.items()},
        "output": pa.array([""]).take(np.zeros(num * per, dtype=np.int32)),
        "index": np.tile([lab[3] for lab in labels], num),
        "value": values.astype(np.float64),
    })
    pq.write_table(table, out)
''')


def measure(cmd, env):
    """Run ``cmd``; return (wall seconds, peak RSS in MB) of that process."""
    with tempfile.TemporaryFile() as err:  # a file: a pipe could fill and block
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=err)  # fmt: skip
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            tail = err.read().decode()[-2000:]
            raise SystemExit(f"{cmd[:4]} failed ({code}):\n{tail}")
    return seconds, usage.ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip-raw-10m", action="store_true")
    args = parser.parse_args()
    sizes = [100_000, 1_000_000] if args.quick else [1_000_000, 10_000_000]
    tmp = Path(tempfile.mkdtemp(prefix="sweep-scale-"))
    raw = tmp / "raw.py"
    raw.write_text(RAW)
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    cache = tmp / "cache"

    def runner(num, out):
        return [sys.executable, "-m", "runner", "+exp=jacobian_sweep",
                f"sweep.inputs.1.num={num}", "output.formats=[parquet]",
                "output.plots=false", "output.summary=false",
                f"compile_cache={cache / 'runner'}",
                f"hydra.run.dir={out}"]  # fmt: skip

    def script(num, out):
        return [sys.executable, str(raw), str(num), str(out), str(cache / "raw")]

    measure(runner(1000, tmp / "warm-a"), env)  # warm compile caches
    measure(script(1000, tmp / "warm-b.parquet"), env)
    print(machine())
    print(
        f"{'points':>12} {'runner s':>9} {'script s':>9} {'ratio':>6} "
        f"{'runner MB':>10} {'script MB':>10}"
    )
    for num in sizes:
        a = measure(runner(num, tmp / f"a{num}"), env)
        skip = args.skip_raw_10m and num >= 10**7
        b = (
            (float("nan"), float("nan"))
            if skip
            else measure(script(num, tmp / f"b{num}.parquet"), env)
        )
        print(
            f"{num:>12,} {a[0]:>9.1f} {b[0]:>9.1f} {a[0] / b[0]:>6.2f} "
            f"{a[1]:>10.0f} {b[1]:>10.0f}"
        )
    print(
        "targets at 10^6 points: ratio <= 1.3, runner peak <= 1024 MB; "
        "at 10^7 points: runner completes, peak <= 1024 MB"
    )
    # Last: a forked child counts its parent's memory until it execs, so this
    # process stays small while the others are measured.
    check(runner, script, sizes[0] // 10, tmp, env)
    print(f"tables equal at {sizes[0] // 10:,} points")


def check(runner, script, num, tmp, env):
    """The two tables hold the same rows (labels equal, values within 1e-6)."""
    import numpy as np
    import pandas as pd

    measure(runner(num, tmp / "check-a"), env)
    measure(script(num, tmp / "check-b.parquet"), env)
    a = pd.read_parquet(tmp / "check-a" / "results.parquet")
    b = pd.read_parquet(tmp / "check-b.parquet")
    keys = ["job", "quantity", "index"]
    a, b = (
        a.sort_values(keys).reset_index(drop=True),
        b.sort_values(keys).reset_index(drop=True),
    )
    for column in ("job", "quantity", "wrt", "shape", "index"):
        if not (a[column].astype(str) == b[column].astype(str)).all():
            raise SystemExit(f"check: column {column} differs")
    if not np.allclose(a["value"], b["value"], rtol=1e-6, atol=1e-6):
        raise SystemExit("check: values differ")


if __name__ == "__main__":
    main()
