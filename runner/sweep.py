"""Gathering a sweep's jobs into one table, from the callback or by hand.

Each job writes its own ``run.json`` and (when it succeeds) ``results.*`` in its
directory; the aggregate reads them back from disk, so it works for every launcher
and for partial sweeps: ``python -m runner.sweep outputs/multirun/<date>/<time>``.

A sweep directory belongs to one sweep. When a multirun starts,
:class:`AggregateSweep` records the sweep in ``sweep.json`` (an id and the
overrides that make its points) and removes the directory's old sweep table; a
later sweep into the same directory must repeat those overrides with
``resume=true``, or it is refused before any job runs. Every job records the
sweep's id in its ``run.json``, and only the jobs of that id are gathered.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, ListConfig, OmegaConf

from .errors import ConfigError, RunnerError
from .record import RUN_RECORD, read_run
from .tables import COLUMNS, SCHEMA_VERSION, swept_columns, write_json, write_tables

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

#: Failed or incomplete jobs counted by the aggregations of this ``main()`` call
#: (``runner.cli.main`` empties it when it starts).
FAILED: list[int] = []

SWEEP_RECORD = "sweep.json"
_SWEEP_TABLES = ("results.csv", "results.parquet", "sweep.png")


def sweep_id(sweep_dir: Path) -> str | None:
    """The id recorded in ``sweep_dir/sweep.json``, or None if there is none.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> sweep_id(d) is None
        True
        >>> new = start_sweep(d, ["a=1,2"])
        >>> sweep_id(d) == new
        True
    """
    record = _read_record(Path(sweep_dir))
    return None if record is None else str(record.get("id"))


def _read_record(sweep_dir: Path) -> dict[str, Any] | None:
    path = sweep_dir / SWEEP_RECORD
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise RunnerError(
            f"hydra.sweep.dir: cannot read {path} ({type(err).__name__}: {err}); "
            f"restore it, or choose a new hydra.sweep.dir."
        ) from err
    if not isinstance(record, dict) or "id" not in record:
        raise RunnerError(f"hydra.sweep.dir: {path} holds no sweep id; restore it, "
                          f"or choose a new hydra.sweep.dir.")  # fmt: skip
    return record


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
        runner.errors.ConfigError: hydra.sweep.dir: ... holds another sweep ...
    """
    sweep_dir = Path(sweep_dir)
    previous = _read_record(sweep_dir)
    if previous is None and any(sweep_dir.glob("*/run.json")):
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
    sweep_dir.mkdir(parents=True, exist_ok=True)
    for name in _SWEEP_TABLES:
        (sweep_dir / name).unlink(missing_ok=True)
    now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    record = previous or {"id": uuid.uuid4().hex, "points": points, "started": now}
    if previous is not None:
        record["resumed"] = [*record.get("resumed", []), now]
    record["schema_version"] = SCHEMA_VERSION
    write_json(sweep_dir / SWEEP_RECORD, record)
    return str(record["id"])


def _overrides(job_dir: Path) -> dict[str, Any]:
    """The job's overridden keys and the values its config resolved them to
    (None for a key the job deleted, ``~key``)."""
    path = job_dir / ".hydra" / "overrides.yaml"
    if not path.exists():
        return {}
    from hydra.core.override_parser.overrides_parser import OverridesParser

    lines = yaml.safe_load(path.read_text()) or []
    config = _job_config(job_dir)
    found: dict[str, Any] = {}
    for override in OverridesParser.create().parse_overrides(lines):
        key = override.key_or_group
        if key == "hydra" or key.startswith(("hydra.", "hydra/")):
            continue
        if override.is_delete():  # ~key or ~key=value: the job had no such key
            found[key] = None
        else:
            text = override.input_line.split("=", 1)[1]
            found[key] = _resolved(config, key, text)
    return found


def _job_config(job_dir: Path) -> Any:
    """The job's saved config (plain YAML, read with the fast loader), or None."""
    try:
        text = (job_dir / ".hydra" / "config.yaml").read_text()
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError):
        return None


_ABSENT = object()


def _select(config: Any, key: str) -> Any:
    """``key`` (``a.b.0``) in plain YAML data, through OmegaConf when the value
    holds an interpolation; ``_ABSENT`` when it is not there or cannot resolve."""
    node = config
    for part in key.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _ABSENT
    if "${" not in json.dumps(node, default=str):
        return node
    try:
        found = OmegaConf.select(OmegaConf.create(config), key, default=_ABSENT)
        return OmegaConf.to_container(found, resolve=True) if isinstance(
            found, (DictConfig, ListConfig)) else found  # fmt: skip
    except Exception:  # an interpolation that needs Hydra running
        return _ABSENT


def _resolved(config: Any, key: str, text: str) -> Any:
    """``key``'s value in the job's config (a number as a float, a list as is);
    the override's text for config group choices (``exp``, ``model``) and keys the
    config does not hold or cannot resolve."""
    node = _select(config, key) if isinstance(config, dict) else _ABSENT
    if node is _ABSENT or isinstance(node, dict):
        return _value(text)
    if isinstance(node, (int, float)) and not isinstance(node, bool):
        return float(node)
    return node if isinstance(node, (str, list)) else json.dumps(node)


def _value(text: str) -> Any:
    """An override's value: a number when it is one, else its text."""
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(parsed, (int, float)) and not isinstance(parsed, bool):
        return float(parsed)
    return text


#: The one row of a job without results: empty labels, index -1, value NaN.
_NO_ROW = {"quantity": [""], "wrt": [""], "output": [""], "shape": [""],
           "index": [-1], "value": [float("nan")]}  # fmt: skip


def _job(job_dir: Path, record: dict[str, Any]) -> pd.DataFrame:
    import pandas as pd

    status = record.get("status", "unknown")
    results = job_dir / "results.parquet"
    if status == "ok" and results.exists():
        frame = pd.read_parquet(results)
    elif status == "ok" and (job_dir / "results.csv").exists():
        frame = pd.read_csv(job_dir / "results.csv", keep_default_na=False)
    else:
        if status == "running":
            status = "incomplete"
        frame = pd.DataFrame(_NO_ROW)
    frame.insert(0, "error", record.get("error", ""))
    frame.insert(0, "status", status)
    swept: dict[str, Any] = {}
    for key, value in _overrides(job_dir).items():
        swept.update(swept_columns(key, [value]))
    for key, column in reversed(list(swept.items())):
        frame.insert(0, key, column[0])
    frame.insert(
        0, "job", int(job_dir.name) if job_dir.name.isdigit() else job_dir.name
    )
    return frame


def aggregate(sweep_dir: Path) -> pd.DataFrame:
    """One table of the sweep's jobs under ``sweep_dir``: job, the overrides that
    vary between its jobs (numbers as numbers, one column per element of a list),
    status, error, then :data:`runner.tables.COLUMNS`.

    When ``sweep_dir`` holds a ``sweep.json``, only the jobs whose ``run.json``
    names its id are gathered (jobs of an earlier sweep are left out).

    Raises:
        RunnerError: a job's records cannot be read; names the job's directory.

    Example:
        >>> import tempfile, pathlib
        >>> aggregate(pathlib.Path(tempfile.mkdtemp())).empty
        True
    """
    import pandas as pd

    current = sweep_id(Path(sweep_dir))
    jobs = sorted(
        (p.parent for p in Path(sweep_dir).glob(f"*/{RUN_RECORD}")),
        key=lambda p: (
            not p.name.isdigit(),
            int(p.name) if p.name.isdigit() else 0,
            p.name,
        ),
    )
    frames = []
    for job_dir in jobs:
        try:
            record = dict(read_run(job_dir))
            if current is not None and record.get("sweep_id") != current:
                continue  # a job of an earlier sweep
            frames.append(_job(job_dir, record))
        except Exception as err:
            message = " ".join(str(err).split())
            raise RunnerError(
                f"sweep: cannot read the job in {job_dir} ({type(err).__name__}: "
                f"{message}); repair or remove it, or finish the sweep with "
                f"resume=true."
            ) from err
    if not frames:
        return pd.DataFrame(columns=["job", "status", "error", *COLUMNS])
    frame = pd.concat(frames, ignore_index=True)
    swept = list(frame.columns[1 : frame.columns.get_loc("status")])
    points = frame.drop_duplicates("job")
    if len(points) > 1:  # keys with one value in every job are not swept
        same = [k for k in swept if points[k].nunique(dropna=False) == 1]
        frame = frame.drop(columns=same)
    return frame


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
    try:
        typed = frame.astype({"index": "int64", "value": "float64"})
        write_tables(typed, Path(sweep_dir))
    except BaseException:
        for name in _SWEEP_TABLES:  # no half of a table pair left behind
            (Path(sweep_dir) / name).unlink(missing_ok=True)
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
        ...     "output": "", "shape": "", "index": 0, "value": [1.0, 2.0]})
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


def _points(config: Any) -> list[str]:
    """The overrides that make a multirun's points (``resume`` left out)."""
    hydra = config.hydra
    points = [o for o in hydra.overrides.task
              if o.split("=", 1)[0].lstrip("+~") != "resume"]  # fmt: skip
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
            FAILED.append(1)
            return
        jobs, bad = gathered
        FAILED.append(bad)
        print(f"sweep: {jobs} job(s), {bad} failed -> {sweep_dir / 'results.csv'}")


def main(argv: list[str] | None = None) -> int:
    """``python -m runner.sweep SWEEP_DIR``: aggregate a (partial) sweep by hand.

    Returns:
        0 when every job succeeded, 1 when a job failed or the table could not be
        gathered (one line on stderr), 2 for a wrong command line.
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
