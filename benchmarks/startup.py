"""Start-up cost of a single run against importing its two big dependencies.

Three commands, timed from start to exit as subprocesses from the repository root:

* baseline: ``python -c "import jax, hydra"``;
* ``python -m runner +exp=jacobian output.plots=false hydra.run.dir=TMP``;
* ``python -m runner +exp=jacobian hydra.run.dir=TMP`` (plots on, the default).

Both runner commands get ``compile_cache=CACHE``, a temp directory warmed by an
untimed run first, so no run compiles. The three commands run interleaved in
rounds (the order rotates each round) and the medians are compared; the target for
runner / baseline is <= 1.5 (no plots).

Then, per runner command, which heavy optional modules the run imports
(matplotlib, pyarrow, pandas, ray, joblib, submitit, and also rich, yaml, scipy):
``runner`` runs through ``runpy`` under a small import hook that records, for each
module's first import, the innermost line of this project whose call led to it and
the line that imported it (the same line when the import happened inside a C
extension, e.g. pyarrow importing pandas). Last, the cumulative import time
(``python -X importtime``, medians of 3 runs of each command) of those modules, of
jax, hydra, omegaconf, rich.console and ``runner.app.cli``, and of all imports together.

Run from the repository root (CPU only)::

    python benchmarks/startup.py           # 7 rounds, about 2 min
    python benchmarks/startup.py --quick   # 2 rounds, under a minute
"""

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import textwrap
from pathlib import Path

from _common import machine, run  # noqa: E402

TARGET = 1.5
HEAVY = [
    "matplotlib",
    "pyarrow",
    "pandas",
    "ray",
    "joblib",
    "submitit",
    "rich",
    "yaml",
    "scipy",
]
TIMED = ["jax", "hydra", "omegaconf", "runner.app.cli", "rich.console", *HEAVY]
MARK = "@@imports@@"

# Runs the runner's main() on ARGS in this process, then prints, for every module of
# HEAVY that got imported, where its first import came from.
SPY = textwrap.dedent(
    """
    import json, os, sys, traceback
    HEAVY, MARK, ARGS = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3:]
    first = {}

    ROOT = os.getcwd()

    def where(frame):
        name = frame.filename.split("/site-packages/")[-1]
        if name.startswith(ROOT + "/"):
            name = name[len(ROOT) + 1 :]
        return f"{name}:{frame.lineno} `{frame.line}`"

    class Spy:
        def find_spec(self, name, path=None, target=None):
            if name in HEAVY and name not in first:
                stack = [f for f in traceback.extract_stack()[:-1]
                         if not f.filename.startswith("<frozen")]
                ours = [f for f in stack if "/runner/" in f.filename
                        or "/models/" in f.filename]
                first[name] = {"project": where(ours[-1]) if ours else "-",
                               "importer": where(stack[-1])}
            return None

    sys.meta_path.insert(0, Spy())
    sys.argv = ["runner", *ARGS]
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    from runner.app.cli import main  # what python -m runner runs, minus its fast exit
    if main():
        raise SystemExit(1)
    print(MARK + json.dumps(first))
    """
)


def import_times(stderr):
    """Total import time and the cumulative time of each module of TIMED (s)."""
    total, found = 0, {}
    pattern = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")
    for match in pattern.finditer(stderr):
        total += int(match.group(1))
        found.setdefault(match.group(4), int(match.group(2)))
    return total / 1e6, {m: found[m] / 1e6 for m in TIMED if m in found}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    quick = parser.parse_args().quick
    rounds, import_rounds = (2, 1) if quick else (7, 3)

    print(f"machine: {machine()}")
    tmp = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    count = iter(range(10**6))
    cache = f"compile_cache={tmp / 'jax-cache'}"

    def runner_args(plots):
        out = f"hydra.run.dir={tmp / f'run-{next(count)}'}"
        extra = [] if plots else ["output.plots=false"]
        return ["+exp=jacobian", *extra, out, cache]

    def runner_cmd(plots):
        return lambda: [sys.executable, "-m", "runner", *runner_args(plots)]

    commands = {
        "import jax, hydra": lambda: [sys.executable, "-c", "import jax, hydra"],
        "runner, plots off": runner_cmd(False),
        "runner, plots on": runner_cmd(True),
    }
    names = list(commands)
    times = {name: [] for name in names}
    imports, timing = {}, {}
    try:
        for name in names:  # warm-up: compile cache, disk caches
            run(commands[name](), name)
        for r in range(rounds):
            for name in names[r % 3 :] + names[: r % 3]:
                times[name].append(run(commands[name](), name)[0])
            print(f"round {r + 1}/{rounds} done", file=sys.stderr, flush=True)
        for plots in (False, True):
            name = names[2 if plots else 1]
            cmd = [sys.executable, "-c", SPY, json.dumps(HEAVY), MARK]
            out = run([*cmd, *runner_args(plots)], name)[1]
            imports[name] = json.loads(out.split(MARK)[-1])
        for r in range(import_rounds):
            for name in names[r % 3 :] + names[: r % 3]:
                cmd = commands[name]()
                cmd.insert(1, "-X")
                cmd.insert(2, "importtime")
                timing.setdefault(name, []).append(import_times(run(cmd, name)[2]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    base = statistics.median(times[names[0]])
    print(f"\nwall time (s), medians of {rounds} interleaved runs, warm compile cache")
    line = "{:<22}{:>9}{:>9}{:>9}{:>12}{:>10}  {}"
    print(line.format("command", "median", "min", "max", "/ baseline", "target", ""))
    for name in names:
        med = statistics.median(times[name])
        target, verdict = "", ""
        if name == names[1]:
            target = f"<= {TARGET:g}"
            verdict = "pass" if med / base <= TARGET else "MISS"
        print(
            line.format(
                name,
                f"{med:.2f}",
                f"{min(times[name]):.2f}",
                f"{max(times[name]):.2f}",
                f"{med / base:.2f}",
                target,
                verdict,
            )
        )

    print(
        "\nheavy modules imported: the project line whose call first imported each"
        "\n(<- the line that imported it, when it is not that project line)"
    )
    for name in names[1:]:
        print(f"  {name}:")
        for module in HEAVY:
            hit = imports[name].get(module)
            text = "not imported"
            if hit:
                text = hit["project"]
                if hit["importer"] != hit["project"]:
                    text += f" <- {hit['importer']}"
            print(f"    {module:<11} {text}")

    print(
        f"\nimport time (s, python -X importtime; cumulative per module, "
        f"medians of {import_rounds} run(s))"
    )
    line = "{:<14}" + "{:>20}" * len(names)
    print(line.format("module", *names))
    totals = [statistics.median(t[0] for t in timing[n]) for n in names]
    print(line.format("all imports", *(f"{t:.2f}" for t in totals)))
    for module in TIMED:
        cells = []
        for n in names:
            found = [t[1][module] for t in timing[n] if module in t[1]]
            cells.append(f"{statistics.median(found):.3f}" if found else "-")
        if any(c != "-" for c in cells):
            print(line.format(module, *cells))
    return 0 if statistics.median(times[names[1]]) / base <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
