"""Per-job wall time of a Hydra multirun (basic launcher), cold and warm compile cache.

The sweep is 100 jobs of a small experiment, the gradient of ``a * 2 + b``
(``+exp=grad``) at ``a = 0, 1, ..., 99``, with plots and the console summary off::

    python -m runner -m +exp=grad 'inputs.0=0.0,1.0,...,99.0' \\
        output.plots=false output.summary=false \\
        compile_cache=CACHE hydra.sweep.dir=TMP

Each round runs it twice with the same ``CACHE``: first with a fresh, empty
directory (cold: the first job compiles), then again (warm: the compiled program
is read from the cache). The whole command is timed, from the repository root,
including start-up and the aggregate table written at the end. A single run
(``python -m runner +exp=grad``, warm cache) is timed in the same rounds, as the
fixed cost every command pays.

Printed per variant (medians over the rounds): the command's wall time, per-job
time (wall / jobs), the marginal per-job time ((wall - single run) / (jobs - 1)),
and the median time spent inside ``runner.app.job.run_job`` per job (``seconds`` of
each job's ``run.json``: building the model, computing, writing the tables), so
the rest of each job's time is Hydra's (composing the job's config, setting up its
directory and logging). Every sweep is checked first: all jobs ok, gradient 2.

Run from the repository root (CPU only)::

    python benchmarks/multirun_overhead.py           # 3 rounds of 100 jobs, ~8 min
    python benchmarks/multirun_overhead.py --quick   # 1 round of 20 jobs, ~1 min
"""

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from _common import machine, run  # noqa: E402

OFF = ["output.plots=false", "output.summary=false"]


def check_sweep(sweep_dir, jobs):
    """Job seconds (inside ``run_job``) of a finished sweep; raise if it is wrong."""
    import pandas as pd

    frame = pd.read_csv(sweep_dir / "results.csv", keep_default_na=False)
    grads = frame[frame["quantity"] == "grad"]
    if frame["job"].nunique() != jobs or (frame["status"] != "ok").any():
        raise SystemExit(f"{sweep_dir}: expected {jobs} ok jobs")
    if len(grads) != jobs or not (grads["value"] == 2.0).all():
        raise SystemExit(f"{sweep_dir}: expected a gradient of 2.0 per job")
    from runner.results.record import read_run

    return [read_run(sweep_dir / str(j))["seconds"] for j in range(jobs)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    quick = parser.parse_args().quick
    jobs, rounds = (20, 1) if quick else (100, 3)
    values = ",".join(str(float(a)) for a in range(jobs))

    print(f"machine: {machine()}")
    print(
        f"command: python -m runner -m +exp=grad 'inputs.0=0.0,1.0,...,"
        f"{jobs - 1:.1f}' {' '.join(OFF)} compile_cache=CACHE hydra.sweep.dir=TMP"
    )
    tmp = Path(tempfile.mkdtemp(prefix="bench-multirun-"))
    walls = {"cold": [], "warm": [], "single": []}
    inside = {"cold": [], "warm": []}
    first = {"cold": [], "warm": []}
    try:
        single_cache = tmp / "single-cache"
        single = [
            sys.executable,
            "-m",
            "runner",
            "+exp=grad",
            *OFF,
            f"compile_cache={single_cache}",
        ]
        run([*single, f"hydra.run.dir={tmp / 'single-warmup'}"], "single warm-up")
        for r in range(rounds):
            cache = tmp / f"cache-{r}"
            cache.mkdir()
            steps = ["single", "cold", "warm"] if r % 2 else ["cold", "warm", "single"]
            for step in steps:
                out = tmp / f"{step}-{r}"
                if step == "single":
                    cmd = [*single, f"hydra.run.dir={out}"]
                    walls[step].append(run(cmd, step)[0])
                    continue
                cmd = [
                    sys.executable,
                    "-m",
                    "runner",
                    "-m",
                    "+exp=grad",
                    f"inputs.0={values}",
                    *OFF,
                    f"compile_cache={cache}",
                    f"hydra.sweep.dir={out}",
                ]
                walls[step].append(run(cmd, f"{step} multirun")[0])
                seconds = check_sweep(out, jobs)
                inside[step].append(statistics.median(seconds))
                first[step].append(seconds[0])
            print(f"round {r + 1}/{rounds} done", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    single_s = statistics.median(walls["single"])
    print(
        f"\n{jobs} jobs per multirun, medians of {rounds} round(s); single run "
        f"(+exp=grad, warm cache): {single_s:.2f} s"
    )
    line = "{:<14}{:>10}{:>14}{:>16}{:>16}{:>16}"
    print(
        line.format(
            "cache", "wall s", "per job ms", "marginal ms", "run_job ms", "job 0 ms"
        )
    )
    for step in ("cold", "warm"):
        wall = statistics.median(walls[step])
        print(
            line.format(
                step,
                f"{wall:.2f}",
                f"{wall / jobs * 1e3:.0f}",
                f"{(wall - single_s) / (jobs - 1) * 1e3:.0f}",
                f"{statistics.median(inside[step]) * 1e3:.0f}",
                f"{statistics.median(first[step]) * 1e3:.0f}",
            )
        )
    cold, warm = (statistics.median(walls[s]) for s in ("cold", "warm"))
    print(
        "\nper job ms = wall / jobs; marginal ms = (wall - single run) / (jobs - 1);"
        "\nrun_job ms = median time inside runner.app.job.run_job per job (run.json);"
        "\njob 0 ms = the first job's run_job time (it compiles, or reads the cache)."
        f"\ncold / warm wall: {cold / warm:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
