"""Whole-command wall time of a 1,000-point sweep: vectorized, multirun, raw JAX.

The sweep is the tutorial's Jacobian of ``f1`` (``runner.models.tutorial.f1``) at
``x = [1, 2, 3]`` for every ``y`` of ``linspace([1, 1], [10, 5], N)``, with the
function's value and its aux (``return_value`` and ``has_aux``). Every command runs
as a subprocess from the repository root and is timed from start to exit:

(a) vectorized sweep, one process, one ``jit(vmap)`` call per 1,024-point chunk::

        python -m runner +exp=jacobian_sweep sweep.inputs.1.num=N \\
            output.plots=false output.summary=false hydra.run.dir=TMP

(b) Hydra multirun, basic launcher, one job per point (plus the aggregate table)::

        python -m runner -m +exp=jacobian 'inputs.1=[y0,y1],[y0,y1],...' \\
            output.plots=false output.summary=false hydra.sweep.dir=TMP

(c) a raw-JAX script written by this benchmark to a temp file:
    ``jax.jit(jax.vmap(...))`` of ``jax.jacrev(f1, has_aux=True)`` (value and aux
    returned alongside), then the same CSV rows (``job, inputs.1[0], inputs.1[1],
    status, error, quantity, wrt, output, shape, index, value``) written with numpy
    and pyarrow.

Also timed, for reference: (a) writing CSV only (``output.formats=[csv]``, as (c)
does; (a) writes CSV and Parquet), and a single point (``+exp=jacobian``), the
fixed cost every command pays.

Every command gets the same warm JAX compilation cache (a temp directory, filled by
an untimed warm-up run of each command; ``compile_cache=`` for the runner,
``jax_compilation_cache_dir`` in the raw script), so compile time is the same
steady state on both sides. (a), (c) and the reference commands run interleaved
in rounds (the order rotates each round); medians are reported. The multirun runs
once (1,000 jobs take minutes). Its per-job time is ``(multirun - single point) /
(jobs - 1)``; the 100,000-point multirun is extrapolated from it, not measured.

Before timing, the tables are checked against each other: (b) and (c) against (a),
read with pandas, sorted by job, quantity and index, values within 1e-6 (absolute
or relative), labels and swept values equal.

Targets: multirun / vectorized >= 40 at 1,000 points, vectorized / raw <= 1.5.

Run from the repository root (CPU only)::

    python benchmarks/sweep_vectorized_vs_multirun.py           # about 20 min
    python benchmarks/sweep_vectorized_vs_multirun.py --quick   # about 2 min

``--quick``: a 50-point multirun (every 20th point of the 1,000; its time is
extrapolated to 1,000 jobs from the per-job time), 10,000 instead of 100,000
points for the large sweep, and 2 rounds instead of 5.
"""

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
from _common import machine, run  # noqa: E402

START, STOP = [1.0, 1.0], [10.0, 5.0]
MULTIRUN_TARGET, RAW_TARGET = 40.0, 1.5
COLUMNS = [
    "job",
    "inputs.1[0]",
    "inputs.1[1]",
    "status",
    "error",
    "quantity",
    "wrt",
    "output",
    "shape",
    "index",
    "value",
]
ARG_LIMIT = 120_000  # bytes; Linux refuses one argument longer than 128 KiB

RAW_SCRIPT = textwrap.dedent('''
    """Jacobian of f1, its value and aux at N values of y: raw JAX, one CSV."""
    import os
    import sys

    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax
    import jax.numpy as jnp
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv

    num, out, cache = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    jax.config.update("jax_compilation_cache_dir", cache)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


    def f1(x, y):
        a = 4 * x[1] ** 2 - 2 * x[2]
        r = jnp.asarray([x[0] * y[0], 5 * x[2] * y[1], a, x[2] * jnp.sin(x[0])])
        return r, a


    def with_value(x, y):
        r, a = f1(x, y)
        return r, (r, a)


    x = jnp.asarray([1.0, 2.0, 3.0], dtype=jnp.float32)


    @jax.jit
    @jax.vmap
    def point(y):
        jac, (value, aux) = jax.jacrev(with_value, has_aux=True)(x, y)
        return jac, value, aux


    ys = np.linspace([1.0, 1.0], [10.0, 5.0], num)
    jac, value, aux = jax.device_get(point(ys.astype(np.float32)))

    labels = (
        [("grad", "arg0", "4,3", i) for i in range(12)]
        + [("value", "", "4", i) for i in range(4)]
        + [("aux", "", "", 0)]
    )
    per = len(labels)
    values = np.concatenate(
        [jac.reshape(num, 12), value.reshape(num, 4), aux.reshape(num, 1)], axis=1
    )
    job = np.repeat(np.arange(num), per)
    tile = pa.array(np.tile(np.arange(per), num))
    quantity, wrt, shape, index = (pa.array([row[k] for row in labels])
                                   for k in range(4))
    table = pa.table({
        "job": job,
        "inputs.1[0]": pa.array(ys[:, 0]).take(pa.array(job)),
        "inputs.1[1]": pa.array(ys[:, 1]).take(pa.array(job)),
        "status": pa.repeat("ok", len(job)),
        "error": pa.repeat("", len(job)),
        "quantity": quantity.take(tile),
        "wrt": wrt.take(tile),
        "output": pa.repeat("", len(job)),
        "shape": shape.take(tile),
        "index": index.take(tile),
        "value": values.astype(np.float64).reshape(-1),
    })
    pyarrow.csv.write_csv(table, out)
''')


def cell(y):
    return json.dumps([float(v) for v in y], separators=(",", ":"))


class Commands:
    """The command lines, each writing into its own fresh directory under ``tmp``."""

    def __init__(self, tmp, raw_script):
        self.tmp, self.raw_script, self.count = Path(tmp), raw_script, 0
        self.cache = self.tmp / "jax-cache"
        self.off = ["output.plots=false", "output.summary=false"]

    def fresh(self, name):
        self.count += 1
        return self.tmp / f"{name}-{self.count}"

    def runner(self, *args):
        return [
            sys.executable,
            "-m",
            "runner",
            *args,
            *self.off,
            f"compile_cache={self.cache}",
        ]

    def vectorized(self, num, csv_only=False):
        out = self.fresh(f"vec{num}")
        extra = ["output.formats=[csv]"] if csv_only else []
        cmd = self.runner(
            "+exp=jacobian_sweep",
            f"sweep.inputs.1.num={num}",
            *extra,
            f"hydra.run.dir={out}",
        )
        return cmd, out / "results.csv"

    def raw(self, num):
        out = self.fresh(f"raw{num}")
        out.mkdir()
        cmd = [
            sys.executable,
            str(self.raw_script),
            str(num),
            str(out / "results.csv"),
            str(self.cache / "raw"),
        ]
        return cmd, out / "results.csv"

    def single(self):
        out = self.fresh("single")
        return self.runner("+exp=jacobian", f"hydra.run.dir={out}"), None

    def multirun(self, ys):
        out = self.fresh("multirun")
        sweep = "inputs.1=" + ",".join(cell(y) for y in ys)
        if len(sweep) > ARG_LIMIT:
            raise SystemExit(
                f"the multirun override is {len(sweep)} bytes, over "
                f"{ARG_LIMIT}; sweep fewer points."
            )
        cmd = self.runner("-m", "+exp=jacobian", sweep, f"hydra.sweep.dir={out}")
        return cmd, out / "results.csv"


def read_table(path, jobs=None):
    """A table sorted by job, quantity and index, with ``inputs.1`` as numbers.

    ``jobs`` renumbers a multirun's jobs to the points they ran (job k -> jobs[k]).
    """
    import pandas as pd

    frame = pd.read_csv(path, keep_default_na=False, dtype={"shape": str})[COLUMNS]
    if jobs is not None:
        frame["job"] = np.asarray(jobs)[frame["job"].to_numpy()]
    pairs = frame[["inputs.1[0]", "inputs.1[1]"]].to_numpy(dtype=float)
    frame["inputs.1"] = list(map(tuple, pairs))
    return frame.sort_values(["job", "quantity", "index"], ignore_index=True)


def compare(name, got, want):
    """Raise unless ``got`` has the rows of ``want``: labels equal, values close."""
    problems = []
    if len(got) != len(want):
        problems.append(f"{len(got)} rows, expected {len(want)}")
    else:
        labels = ["job", "status", "error", "quantity", "wrt", "output", "shape"]
        for column in [*labels, "index"]:
            if not (got[column].astype(str) == want[column].astype(str)).all():
                problems.append(f"column {column} differs")
        got_in = np.array(got["inputs.1"].tolist(), dtype=float)
        want_in = np.array(want["inputs.1"].tolist(), dtype=float)
        if not np.allclose(got_in, want_in, rtol=1e-6, atol=1e-6):
            problems.append("inputs.1 differs")
        a, b = got["value"].to_numpy(float), want["value"].to_numpy(float)
        worst = float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))))
        if worst > 1e-6:
            problems.append(f"values differ (worst scaled error {worst:.2e})")
    if problems:
        raise SystemExit(f"{name}: tables differ: {'; '.join(problems)}")
    return f"{name}: {len(got)} rows equal"


def rotate(items, r):
    r %= len(items)
    return items[r:] + items[:r]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    quick = parser.parse_args().quick
    points, large = 1000, 10_000 if quick else 100_000
    rounds = 2 if quick else 5
    step = 20 if quick else 1  # the multirun runs every step-th point
    ys = np.linspace(START, STOP, points)
    jobs = np.arange(0, points, step)

    print(f"machine: {machine()}")
    tmp = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    try:
        raw_script = tmp / "raw_jacobian_sweep.py"
        raw_script.write_text(RAW_SCRIPT)
        cmds = Commands(tmp, raw_script)
        print(
            f"multirun command: python -m runner -m +exp=jacobian "
            f"'inputs.1={cell(ys[0])},...' ({len(jobs)} values) "
            f"{' '.join(cmds.off)} compile_cache=... hydra.sweep.dir=..."
        )

        # warm-up (fills the compile cache) and the cross-checks, untimed
        checks, tables = [], {}
        for key, (cmd, csv) in {
            "vectorized": cmds.vectorized(points),
            "vectorized-large": cmds.vectorized(large),
            "vectorized-csv": cmds.vectorized(points, csv_only=True),
            "raw": cmds.raw(points),
            "raw-large": cmds.raw(large),
            "single": cmds.single(),
        }.items():
            run(cmd, key)
            tables[key] = csv
        want = read_table(tables["vectorized"])
        checks.append(
            compare(f"(c) raw, {points} points", read_table(tables["raw"]), want)
        )
        checks.append(
            compare(
                f"(c) raw, {large} points",
                read_table(tables["raw-large"]),
                read_table(tables["vectorized-large"]),
            )
        )
        checks.append(
            compare("(a) csv only", read_table(tables["vectorized-csv"]), want)
        )

        # the multirun, once; its table is checked against (a)
        cmd, csv = cmds.multirun(ys[jobs])
        t_multi = run(cmd, "multirun")[0]
        subset = want[want["job"].isin(jobs)].reset_index(drop=True)
        checks.append(
            compare(f"(b) multirun, {len(jobs)} jobs", read_table(csv, jobs), subset)
        )
        for line in checks:
            print(f"check {line}")

        cases = {
            "vec": lambda: cmds.vectorized(points),
            "vec-csv": lambda: cmds.vectorized(points, csv_only=True),
            "raw": lambda: cmds.raw(points),
            "single": cmds.single,
            "vec-large": lambda: cmds.vectorized(large),
            "raw-large": lambda: cmds.raw(large),
        }
        times = {key: [] for key in cases}
        for r in range(rounds):
            for key in rotate(list(cases), r):
                cmd, _ = cases[key]()
                times[key].append(run(cmd, key)[0])
            print(f"round {r + 1}/{rounds} done", file=sys.stderr, flush=True)
        med = {key: statistics.median(ts) for key, ts in times.items()}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    per_job = (t_multi - med["single"]) / (len(jobs) - 1)
    multi_pts = t_multi if step == 1 else med["single"] + (points - 1) * per_job
    multi_large = med["single"] + (large - 1) * per_job

    star = "*" if step > 1 else ""
    print(
        f"\nwall time per command (s): medians of {rounds} interleaved runs; "
        f"the multirun measured once, * extrapolated"
    )
    row = "{:<46}{:>14}{:>14}"
    print(row.format("command", f"{points:,} pts", f"{large:,} pts"))
    print(
        row.format(
            "(a) vectorized sweep (csv + parquet)",
            f"{med['vec']:.2f}",
            f"{med['vec-large']:.2f}",
        )
    )
    print(
        row.format(
            "(a) vectorized sweep, output.formats=[csv]", f"{med['vec-csv']:.2f}", ""
        )
    )
    print(
        row.format(
            "(b) multirun, basic launcher",
            f"{multi_pts:.1f}{star}",
            f"{multi_large:.0f}*",
        )
    )
    print(
        row.format(
            "(c) raw JAX script (csv)", f"{med['raw']:.2f}", f"{med['raw-large']:.2f}"
        )
    )
    print(row.format("single point, +exp=jacobian", f"{med['single']:.2f}", ""))
    print(
        f"\nmultirun: {len(jobs)} jobs measured in {t_multi:.1f} s; per job "
        f"(multirun - single point) / (jobs - 1) = {per_job * 1e3:.0f} ms"
    )

    ratio_multi = multi_pts / med["vec"]
    ratio_raw = med["vec"] / med["raw"]
    verdicts = [ratio_multi >= MULTIRUN_TARGET, ratio_raw <= RAW_TARGET]
    rline = "{:<46}{:>10}{:>10}  {}"
    print("\n" + rline.format("ratio", "measured", "target", "result"))
    print(
        rline.format(
            f"multirun / vectorized, {points:,} pts",
            f"{ratio_multi:.1f}{star}",
            f">= {MULTIRUN_TARGET:g}",
            "pass" if verdicts[0] else "MISS",
        )
    )
    print(
        rline.format(
            f"vectorized / raw, {points:,} pts",
            f"{ratio_raw:.2f}",
            f"<= {RAW_TARGET:g}",
            "pass" if verdicts[1] else "MISS",
        )
    )
    print(
        rline.format(
            f"vectorized (csv only) / raw, {points:,} pts",
            f"{med['vec-csv'] / med['raw']:.2f}",
            "",
            "",
        )
    )
    print(
        rline.format(
            f"vectorized / raw, {large:,} pts",
            f"{med['vec-large'] / med['raw-large']:.2f}",
            "",
            "",
        )
    )
    print(
        rline.format(
            f"multirun / vectorized, {large:,} pts",
            f"{multi_large / med['vec-large']:.0f}*",
            "",
            "",
        )
    )
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
