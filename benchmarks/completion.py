"""Tab completion and ``runner --help``: how long a user waits, against 1 s.

Commands, timed from start to exit as subprocesses (medians of interleaved rounds):

* baseline: ``python -c "import hydra"`` (what any Hydra completion pays);
* completion of ``+exp=my_`` on a line with ``--config-dir DIR`` (the user's own
  experiments), as bash asks it: ``runner -sc query=bash`` with ``COMP_LINE``;
* completion of a key (``diff.k``), which composes the config;
* ``runner --help`` with ``--config-dir DIR``.

The target is an answer in under 1 s per Tab. Each command's output is checked, so
a fast wrong answer fails the script.

Run from the repository root (CPU only)::

    python benchmarks/completion.py           # 7 rounds, about 30 s
    python benchmarks/completion.py --quick   # 2 rounds
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from _common import machine, run  # noqa: E402

EXPERIMENT = "# @package _global_\n# My own decay.\ninputs: [1.0]\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds")
    rounds = 2 if parser.parse_args().quick else 7
    runner = str(Path(sys.executable).parent / "runner")
    if not Path(runner).exists():
        runner = shutil.which("runner") or sys.exit(
            "no runner script: pip install -e ."
        )
    mine = Path(tempfile.mkdtemp(prefix="completion-"))
    (mine / "exp").mkdir()
    (mine / "exp" / "my_decay.yaml").write_text(EXPERIMENT)
    cases = {
        "import hydra (baseline)": ([sys.executable, "-c", "import hydra"], None, ""),
        "Tab: +exp=my_ with --config-dir": (
            [runner, "-sc", "query=bash"],
            f"runner --config-dir {mine} +exp=my_",
            "+exp=my_decay",
        ),
        "Tab: a key, diff.k": (
            [runner, "-sc", "query=bash"],
            "runner +exp=grad diff.k",
            "diff.kind=",
        ),
        "runner --config-dir DIR --help": (
            [runner, "--config-dir", str(mine), "--help"],
            None,
            "my_decay",
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for i in range(rounds):
        names = list(cases)
        for name in names[i % len(names) :] + names[: i % len(names)]:
            command, line, expected = cases[name]
            if line is not None:
                os.environ["COMP_LINE"] = line
            seconds, out, _ = run(command, name)
            os.environ.pop("COMP_LINE", None)
            if expected not in out:
                sys.exit(f"{name}: expected {expected!r} in the answer, got {out!r}")
            times[name].append(seconds)
    shutil.rmtree(mine, ignore_errors=True)
    print(f"machine: {machine()}; {rounds} interleaved rounds, medians\n")
    print("| command | median s | target |")
    print("|---|---|---|")
    for name, values in times.items():
        median = statistics.median(values)
        target = (
            "-"
            if name.startswith("import")
            else ("< 1 s" if median < 1 else "< 1 s (missed)")
        )
        print(f"| {name} | {median:.2f} | {target} |")


if __name__ == "__main__":
    main()
