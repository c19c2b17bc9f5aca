"""Gathering a sweep's jobs into one table, from the callback or by hand.

Each job writes its own ``run.json`` and (when it succeeds) ``results.*`` in its
directory; the aggregate reads them back from disk, so it works for every launcher
and for partial sweeps: ``python -m runner.sweep outputs/multirun/<date>/<time>``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from hydra.experimental.callback import Callback

from .experiment import COLUMNS
from .tables import write_tables

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["AggregateSweep", "aggregate", "draw_sweep", "main", "write_aggregate"]

#: Failed or incomplete jobs counted by the last aggregation in this process.
FAILED: list[int] = []


def _overrides(job_dir: Path) -> dict[str, str]:
    path = job_dir / ".hydra" / "overrides.yaml"
    if not path.exists():
        return {}
    pairs = [o.split("=", 1) for o in yaml.safe_load(path.read_text()) or []]
    return {k.lstrip("+~"): _value(v) for k, v in pairs if not k.startswith("hydra")}


def _value(text: str) -> Any:
    """An override's value: a number when it is one, else its text."""
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(parsed, (int, float)) and not isinstance(parsed, bool):
        return float(parsed)
    return text


def _job(job_dir: Path) -> pd.DataFrame:
    import pandas as pd

    record = json.loads((job_dir / "run.json").read_text())
    status = record.get("status", "unknown")
    results = job_dir / "results.parquet"
    if status == "ok" and results.exists():
        frame = pd.read_parquet(results)
    elif status == "ok" and (job_dir / "results.csv").exists():
        frame = pd.read_csv(job_dir / "results.csv", keep_default_na=False)
    else:
        if status == "running":
            status = "incomplete"
        frame = pd.DataFrame({c: [None] for c in COLUMNS})
    frame.insert(0, "error", record.get("error", ""))
    frame.insert(0, "status", status)
    for key, value in reversed(list(_overrides(job_dir).items())):
        frame.insert(0, key, value)
    frame.insert(
        0, "job", int(job_dir.name) if job_dir.name.isdigit() else job_dir.name
    )
    return frame


def aggregate(sweep_dir: Path) -> pd.DataFrame:
    """One table of every job under ``sweep_dir``: job, overrides, status, results.

    Example:
        >>> import tempfile, pathlib
        >>> aggregate(pathlib.Path(tempfile.mkdtemp())).empty
        True
    """
    import pandas as pd

    jobs = sorted(
        (p.parent for p in Path(sweep_dir).glob("*/run.json")),
        key=lambda p: (
            not p.name.isdigit(),
            int(p.name) if p.name.isdigit() else 0,
            p.name,
        ),
    )
    if not jobs:
        return pd.DataFrame(columns=["job", "status", "error", *COLUMNS])
    return pd.concat([_job(j) for j in jobs], ignore_index=True)


def write_aggregate(sweep_dir: Path) -> tuple[pd.DataFrame, int]:
    """Aggregate ``sweep_dir`` into its ``results.csv``/``results.parquet``.

    Also draws ``sweep.png`` (:func:`runner.plots.plot_sweep`) when one numeric
    key is swept, unless the sweep's first job ran with ``output.plots=false``.

    Returns:
        The table and the number of jobs that failed or did not finish.

    Example:
        >>> import tempfile, pathlib
        >>> frame, bad = write_aggregate(pathlib.Path(tempfile.mkdtemp()))
        >>> frame.empty, bad
        (True, 0)
    """
    frame = aggregate(sweep_dir)
    if frame.empty:
        return frame, 0
    bad = frame.loc[frame["status"] != "ok", "job"].nunique()
    write_tables(frame.astype({"value": "float64"}), Path(sweep_dir))
    if _plots_wanted(Path(sweep_dir), frame):
        draw_sweep(Path(sweep_dir), frame)
    return frame, int(bad)


def _plots_wanted(sweep_dir: Path, frame: pd.DataFrame) -> bool:
    """``output.plots`` of the sweep's first job (true when it cannot be read)."""
    config = sweep_dir / str(frame["job"].iloc[0]) / ".hydra" / "config.yaml"
    try:
        output = (yaml.safe_load(config.read_text()) or {}).get("output") or {}
    except (OSError, yaml.YAMLError, AttributeError):
        return True
    return output.get("plots", True) is not False


def draw_sweep(sweep_dir: Path, frame: pd.DataFrame) -> None:
    """Draw ``sweep.png`` against the swept columns; a failure is a warning.

    Used for ``-m`` sweeps and vectorized sweeps alike: the swept columns are those
    between ``job`` and ``status``.

    Example:
        >>> import tempfile, pathlib
        >>> import pandas as pd
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> frame = pd.DataFrame({"job": [0, 1], "model.a": [0.0, 1.0],
        ...     "status": "ok", "error": "", "quantity": "grad", "wrt": "arg0",
        ...     "output": "", "index": "()", "value": [1.0, 2.0]})
        >>> draw_sweep(d, frame)
        >>> (d / "sweep.png").exists()
        True
    """
    from .plots import plot_sweep  # matplotlib is loaded only to plot

    keys = list(frame.columns[1 : frame.columns.get_loc("status")])
    try:
        plot_sweep(frame, keys, sweep_dir / "sweep.png")
    except Exception as err:
        message = " ".join(str(err).split())
        print(f"warning: sweep plot: {type(err).__name__}: {message}", file=sys.stderr)


class AggregateSweep(Callback):
    """Hydra callback: at the end of a multirun, write the sweep's table."""

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        frame, bad = write_aggregate(sweep_dir)
        FAILED.append(bad)
        jobs = frame["job"].nunique() if not frame.empty else 0
        print(f"sweep: {jobs} job(s), {bad} failed -> {sweep_dir / 'results.csv'}")


def main(argv: list[str] | None = None) -> int:
    """``python -m runner.sweep SWEEP_DIR``: aggregate a (partial) sweep by hand."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not Path(args[0]).is_dir():
        print("usage: python -m runner.sweep SWEEP_DIR (a multirun directory)",
              file=sys.stderr)  # fmt: skip
        return 2
    frame, bad = write_aggregate(Path(args[0]))
    print(f"{frame['job'].nunique() if not frame.empty else 0} job(s), {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
