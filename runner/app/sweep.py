"""Gathering a sweep's jobs into one table, from the callback or by hand.

Each job writes its own ``run.json`` and (when it succeeds) ``results.*`` in its
directory; the aggregate (:mod:`runner.results.gather`) reads them back from disk, so it
works for every launcher and for partial sweeps: ``python -m runner.sweep
outputs/multirun/<date>/<time>``.

A sweep directory belongs to one sweep. When a multirun starts,
:class:`AggregateSweep` records the sweep in ``sweep.json`` (an id and the
overrides that make its points) and removes the directory's old sweep table; a
later sweep into the same directory must repeat those overrides with
``resume=true``, or it is refused before any job runs. Every job records the
sweep's id in its ``run.json``, and only the jobs of that id are gathered.
"""

from __future__ import annotations

import sys
import time
import uuid
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from hydra.experimental.callback import Callback
from omegaconf import OmegaConf

from ..compute.rows import swept_names
from ..config.errors import ConfigError, RunnerError
from ..config.overrides import parse
from ..results.gather import aggregate
from ..results.outdirs import (
    SWEEP_OUTPUTS,
    SWEEP_PLOT,
    check_kind,
    check_links,
    discard,
    foreign_files,
    recorded,
)
from ..results.record import RUN_RECORD, SWEEP_RECORD, read_sweep, sweep_id, write_sweep
from ..results.tables import table_file, write_tables

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "AggregateSweep",
    "aggregate",
    "draw_sweep",
    "main",
    "start_sweep",
    "sweep_id",
    "write_aggregate",
]

#: The number of failed or incomplete jobs of each sweep gathered during one
#: ``runner`` command: :func:`runner.app.cli.run_main` gives each call a list of
#: its own (and the callback, run by Hydra in that call, appends to it).
GATHERED: ContextVar[list[int] | None] = ContextVar("GATHERED", default=None)


def _count(bad: int) -> None:
    found = GATHERED.get()
    if found is not None:
        found.append(bad)


def start_sweep(sweep_dir: Path, points: list[str], resume: bool = False) -> str:
    """Claim ``sweep_dir`` for the sweep of ``points``; return the sweep's id.

    An unused directory gets a new ``sweep.json``. A directory that already holds
    the same sweep is resumed (same id) when ``resume`` is true. Either way the
    directory's old sweep table and plot are removed, so a sweep that does not
    finish leaves none behind.

    Args:
        sweep_dir: the multirun directory (``hydra.sweep.dir``).
        points: what makes the sweep's points: its overrides (without
            ``resume``) and its sweeper's parameters.
        resume: whether the command asked to resume (``resume=true``).

    Returns:
        The sweep's id.

    Raises:
        ConfigError: ``hydra.sweep.dir`` holds another sweep, or this one without
            ``resume=true``; nothing is changed.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = start_sweep(d, ["a=1,2"])
        >>> start_sweep(d, ["a=1,3"], resume=True)
        Traceback (most recent call last):
        ...
        runner.config.errors.ConfigError: hydra.sweep.dir: ... holds another sweep ...
    """
    sweep_dir = Path(sweep_dir)
    problem = check_kind(sweep_dir, sweep=True) or check_links(sweep_dir, sweep=True)
    if problem:
        raise problem
    previous = read_sweep(sweep_dir)
    if previous is None and any(sweep_dir.glob(f"*/{RUN_RECORD}")):
        raise ConfigError(
            "hydra.sweep.dir",
            f"{sweep_dir} holds jobs of a run that recorded no {SWEEP_RECORD}; "
            f"choose a new hydra.sweep.dir.",
        )
    if previous is not None and previous.get("points") != points:
        raise ConfigError(
            "hydra.sweep.dir",
            f"{sweep_dir} holds another sweep ({' '.join(previous.get('points', []))})"
            f"; to resume it, repeat those overrides with resume=true, or choose a new "
            f"hydra.sweep.dir.",
        )
    if previous is not None and not resume:
        raise ConfigError("hydra.sweep.dir", f"{sweep_dir} already holds this sweep; "
                          f"add resume=true to finish it, or choose a new "
                          f"hydra.sweep.dir.")  # fmt: skip
    ours = recorded(previous, SWEEP_OUTPUTS)
    problem = foreign_files(sweep_dir, SWEEP_OUTPUTS, ours, sweep=True)
    if problem:
        raise problem
    sweep_dir.mkdir(parents=True, exist_ok=True)
    discard(sweep_dir, ours)
    now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    record = previous or {"id": uuid.uuid4().hex, "points": points, "started": now}
    record["written"] = list(SWEEP_OUTPUTS)  # what the sweep's end may write
    if previous is not None:
        record["resumed"] = [*record.get("resumed", []), now]
    write_sweep(sweep_dir, record)
    return str(record["id"])


def write_aggregate(sweep_dir: Path) -> tuple[pd.DataFrame, int]:
    """Aggregate ``sweep_dir`` into its ``results.csv``/``results.parquet``.

    Also draws ``sweep.png`` (:func:`runner.results.plots.plot_sweep`) when one numeric
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
    sweep_dir = Path(sweep_dir)
    # Without a sweep.json (gathered by hand), a directory of the runner's jobs.
    ours = recorded(read_sweep(sweep_dir) or {}, SWEEP_OUTPUTS)
    problem = foreign_files(sweep_dir, SWEEP_OUTPUTS, ours, sweep=True)
    if problem:
        raise problem
    discard(sweep_dir, ours)  # a kill mid-write leaves no old half of a pair
    try:
        typed = frame.astype({"index": "int64", "value": "float64"})
        write_tables(typed, sweep_dir)
    except BaseException:
        discard(sweep_dir, SWEEP_OUTPUTS)  # no half of a table pair left behind
        raise
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


def draw_sweep(sweep_dir: Path, frame: pd.DataFrame, step: int = 1) -> None:
    """Draw ``sweep.png`` against the swept columns; a failure is a warning.

    Used for ``-m`` sweeps and vectorized sweeps alike: the swept columns are those
    between ``job`` and ``status``.

    Example:
        >>> import tempfile, pathlib
        >>> import pandas as pd
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> frame = pd.DataFrame({"job": [0, 1], "model.a": [0.0, 1.0],
        ...     "status": "ok", "error": "", "quantity": "grad", "wrt": "arg0",
        ...     "output": "", "shape": "", "index": 0, "value": [1.0, 2.0]})
        >>> draw_sweep(d, frame)
        >>> (d / "sweep.png").exists()
        True
    """
    from ..results.plots import plot_sweep  # matplotlib is loaded only to plot

    keys = swept_names(frame.columns)
    try:
        plot_sweep(frame, keys, sweep_dir / SWEEP_PLOT, step)
    except Exception as err:
        message = " ".join(str(err).split())
        print(f"warning: sweep plot: {type(err).__name__}: {message}", file=sys.stderr)


def _points(config: Any) -> list[str]:
    """The overrides that make a multirun's points (``resume`` left out)."""
    hydra = config.hydra
    points = [o.input_line for o in parse(list(hydra.overrides.task))
              if o.key_or_group != "resume"]  # fmt: skip
    params = OmegaConf.select(config, "hydra.sweeper.params") or {}
    return points + [f"hydra.sweeper.params.{k}={v}" for k, v in params.items()]


def _gather(sweep_dir: Path) -> tuple[int, int] | None:
    """Write the sweep's table; print one line and return None if that fails."""
    try:
        frame, bad = write_aggregate(sweep_dir)
    except Exception as err:
        message = " ".join(str(err).split())
        if not isinstance(err, RunnerError):
            message = f"sweep: cannot gather {sweep_dir}: {type(err).__name__}: " + (
                f"{message}; fix the cause, then run python -m runner.sweep "
                f"{sweep_dir}."
            )
        print(f"error: {message}", file=sys.stderr)
        return None
    return (frame["job"].nunique() if not frame.empty else 0), bad


class AggregateSweep(Callback):
    """Hydra callback: claim the sweep directory at the start of a multirun (see
    :func:`start_sweep`) and write the sweep's table at its end.

    A directory that holds another sweep stops the multirun with one line and
    exit status 1 before any job runs; a table that cannot be gathered is one line
    and a failed sweep.
    """

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        try:
            start_sweep(Path(config.hydra.sweep.dir), _points(config),
                        resume=bool(config.get("resume")))  # fmt: skip
        except RunnerError as err:
            # Hydra turns exceptions raised by callbacks into warnings.
            print(f"error: {err}", file=sys.stderr)
            raise SystemExit(1) from err

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        gathered = _gather(sweep_dir)
        if gathered is None:
            _count(1)
            return
        jobs, bad = gathered
        _count(bad)
        print(f"sweep: {jobs} job(s), {bad} failed -> {sweep_dir / table_file('csv')}")


def main(argv: list[str] | None = None) -> int:
    """``python -m runner.sweep SWEEP_DIR``: aggregate a (partial) sweep by hand.

    Returns:
        0 when every job succeeded, 1 when a job failed or the table could not be
        gathered (one line on stderr), 2 for a wrong command line.

    Example:
        >>> import tempfile
        >>> main([tempfile.mkdtemp()])  # an empty directory: nothing to gather
        0 job(s), 0 failed
        0
        >>> main(["/no/such/dir"])
        2
    """
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not Path(args[0]).is_dir():
        print("usage: python -m runner.sweep SWEEP_DIR (a multirun directory)",
              file=sys.stderr)  # fmt: skip
        return 2
    gathered = _gather(Path(args[0]))
    if gathered is None:
        return 1
    jobs, bad = gathered
    print(f"{jobs} job(s), {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
