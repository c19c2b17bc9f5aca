"""Every speed target of the project, measured side by side in one run.

* start-up: ``python -m runner +exp=jacobian`` (plots on, the default, and
  ``output.plots=false``) against ``python -c "import jax, hydra"``; target <= 1.5
  with plots on. Warm compile cache; the commands interleave in rounds.
* ``-m`` per job: the marginal cost of one more job, ``(wall(N jobs) - wall(1
  job)) / (N - 1)``, of ``python -m runner -m +exp=grad 'inputs.0=...'`` (plots and
  summary off) against a bare ``@hydra.main`` app that does nothing, both on
  Hydra's basic launcher; target <= 2.
* core: the jitted tiny model (``bm.jit(bm.grad(Linear.update, ...))``) against
  ``jax.jit(jax.grad(twin))`` (see ``core_overhead.py``); target <= 1.10.

Run from the repository root (CPU only)::

    python benchmarks/ratios.py           # about 4 min
    python benchmarks/ratios.py --quick   # about 1 min
"""

import argparse
import shutil
import statistics
import sys
import tempfile
import textwrap
from pathlib import Path

import core_overhead
import jax
from _common import machine, run

BARE_APP = textwrap.dedent(
    """
    import hydra

    @hydra.main(version_base="1.3", config_path=None, config_name=None)
    def main(cfg):
        return 0

    if __name__ == "__main__":
        main()
    """
)


def startup(tmp, rounds):
    """Median wall seconds of the three start-up commands."""
    cache = f"compile_cache={tmp / 'cache'}"
    count = iter(range(10**6))

    def runner(*extra):
        out = tmp / "run"
        return lambda: [sys.executable, "-m", "runner", "+exp=jacobian", *extra,
                        cache, f"hydra.run.dir={out}-{next(count)}"]  # fmt: skip

    commands = {
        "import jax, hydra": lambda: [sys.executable, "-c", "import jax, hydra"],
        "runner +exp=jacobian (plots on)": runner(),
        "runner +exp=jacobian output.plots=false": runner("output.plots=false"),
    }
    names = list(commands)
    for name in names:  # warm-up: the compile cache, disk caches
        run(commands[name](), name)
    times = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % 3 :] + names[: r % 3]:
            times[name].append(run(commands[name](), name)[0])
    return {name: statistics.median(t) for name, t in times.items()}


def multirun(tmp, jobs, rounds):
    """Median marginal seconds per job: the runner's and the bare app's."""
    app = tmp / "bare_app.py"
    app.write_text(BARE_APP)
    count = iter(range(10**6))
    values = ",".join(str(float(a)) for a in range(jobs))
    off = ["output.plots=false", "output.summary=false", f"compile_cache={tmp / 'c'}"]

    def bare(n):
        points = ",".join(str(i) for i in range(n))
        return [sys.executable, str(app), "-m", f"+x={points}",
                f"hydra.sweep.dir={tmp / f'bare-{next(count)}'}"]  # fmt: skip

    def ours(n):
        points = values if n == jobs else "0.0"
        return [sys.executable, "-m", "runner", "-m", "+exp=grad",
                f"inputs.0={points}", *off,
                f"hydra.sweep.dir={tmp / f'ours-{next(count)}'}"]  # fmt: skip

    run(ours(1), "runner warm-up")
    walls = {(name, n): [] for name in ("bare", "ours") for n in (1, jobs)}
    for _ in range(rounds):
        for (name, n), out in walls.items():
            out.append(run((bare if name == "bare" else ours)(n), name)[0])
    med = {k: statistics.median(v) for k, v in walls.items()}
    return {
        name: (med[(name, jobs)] - med[(name, 1)]) / (jobs - 1)
        for name in ("bare", "ours")
    }


def core(plan):
    """(ours µs, raw µs) of the jitted tiny-model cases."""
    found = {}
    for name, ours, raw, a_ours, a_raw in core_overhead.cases():
        if not name.startswith("linear"):
            continue
        o, r = core_overhead.bm.jit(ours), jax.jit(raw)
        core_overhead.check_equal(name, o(*a_ours), r(*a_raw))
        for _ in range(plan[2]):
            jax.block_until_ready((o(*a_ours), r(*a_raw)))
        found[name] = core_overhead.measure(o, a_ours, r, a_raw, *plan[:2])
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    quick = parser.parse_args().quick
    rounds, jobs, mrounds = (3, 10, 1) if quick else (7, 30, 3)
    plan = (10, 10, 50) if quick else (100, 10, 50)
    print(f"machine: {machine()}")
    tmp = Path(tempfile.mkdtemp(prefix="bench-ratios-"))
    try:
        starts = startup(tmp, rounds)
        per_job = multirun(tmp, jobs, mrounds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    cores = core(plan)

    line = "{:<58}{:>10}{:>10}{:>8}{:>8}"
    print(line.format("measure", "ours", "reference", "ratio", "target"))
    base = starts["import jax, hydra"]
    for name in list(starts)[1:]:
        target = "1.50" if "plots on" in name else "-"
        cells = (f"{starts[name]:.2f} s", f"{base:.2f} s", f"{starts[name] / base:.2f}")
        print(line.format(name, *cells, target))
    cells = (f"{per_job['ours'] * 1e3:.0f} ms", f"{per_job['bare'] * 1e3:.0f} ms",
             f"{per_job['ours'] / per_job['bare']:.2f}")  # fmt: skip
    print(line.format(f"-m job, marginal ({jobs} jobs vs 1, bare Hydra app)", *cells,
                      "2.00"))  # fmt: skip
    for name, (o, r) in cores.items():
        cells = (f"{o:.1f} µs", f"{r:.1f} µs", f"{o / r:.3f}")
        print(line.format(f"core, jitted {name}", *cells, "1.10"))
    print(f"\nstart-up: medians of {rounds} interleaved rounds (warm compile cache); "
          f"-m: medians of {mrounds} round(s); core: medians of "
          f"{plan[0] * plan[1]} calls per side.")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
