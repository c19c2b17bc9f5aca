"""A sweep's table: every job's rows, with the overrides that vary between jobs.

Each job's ``results.*`` is read back from its directory, and the keys its
command line overrode become columns holding the values its resolved config held
(:func:`runner.compute.rows.swept_columns`: numbers as numbers, a list one column per
element). Keys whose value is the same in every job are left out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf

from ..compute.rows import COLUMNS, ELEMENT_COLUMN, swept_columns, swept_names
from ..config.errors import RunnerError
from ..config.overrides import parse
from .loader import read_table
from .record import RUN_RECORD, read_run, sweep_id
from .tables import table_file

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["aggregate", "job_table"]


def _overrides(job_dir: Path) -> dict[str, Any]:
    """The job's overridden keys and the values its config resolved them to
    (None for a key the job deleted, ``~key``); :class:`_Damaged` when its
    ``overrides.yaml`` cannot be read."""
    path = job_dir / ".hydra" / "overrides.yaml"
    if not path.exists():
        return {}
    try:
        lines = yaml.safe_load(path.read_text()) or []
        overrides = parse(lines)
    except Exception as err:  # not YAML, not a list, not overrides
        raise _damaged(job_dir, ".hydra/overrides.yaml cannot be read", err) from err
    config = _job_config(job_dir)
    found: dict[str, Any] = {}
    for override in overrides:
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

#: The statuses a job writes in its ``run.json``.
_STATUSES = ("ok", "failed", "running")

#: How to repair a damaged job (a missing ``run.json`` makes resume rerun it).
_REPAIR = "remove its run.json and repeat the sweep with resume=true to rerun it"


class _Damaged(Exception):
    """A job record that cannot be used; the message is the failed row's error."""


def _damaged(job_dir: Path, what: str, err: BaseException | None = None) -> _Damaged:
    """The error of a damaged job: the file, what is wrong, how to rerun it."""
    cause = "" if err is None else f" ({type(err).__name__}: {err})"
    message = " ".join(f"{what}{cause}".split())
    return _Damaged(f"{job_dir}: {message}; {_REPAIR}.")


def _check_record(job_dir: Path, record: Any) -> tuple[str, str]:
    """The job's ``status`` (``running`` as ``incomplete``) and ``error``;
    :class:`_Damaged` when ``run.json`` holds no status the runner writes."""
    status = record.get("status")
    if not isinstance(status, str) or status not in _STATUSES:
        raise _damaged(job_dir, f"{RUN_RECORD}: expected a status of "
                       f"{', '.join(_STATUSES)}, received {status!r}")  # fmt: skip
    error = record.get("error")
    return ("incomplete" if status == "running" else status), (
        "" if error is None else str(error)
    )


def _read_results(job_dir: Path) -> pd.DataFrame:
    """The job's ``results.parquet`` (else ``results.csv``), checked for the
    columns and types of :data:`COLUMNS`; :class:`_Damaged` when it cannot be."""
    from pandas.api.types import is_integer_dtype, is_numeric_dtype

    found = [job_dir / table_file(f) for f in ("parquet", "csv")]
    path = next((p for p in found if p.is_file()), None)
    if path is None:
        raise _damaged(job_dir, f"{RUN_RECORD} says ok, but the job holds no "
                       f"results.parquet or results.csv")  # fmt: skip
    try:
        frame = read_table(path)
    except Exception as err:
        raise _damaged(job_dir, f"{path.name} cannot be read", err) from err
    if "job" in frame.columns or frame.empty:
        return frame
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        expected = ", ".join(COLUMNS)
        raise _damaged(job_dir, f"{path.name}: expected the columns {expected}, "
                       f"missing {', '.join(missing)}")  # fmt: skip
    if not is_integer_dtype(frame["index"]) or not is_numeric_dtype(frame["value"]):
        raise _damaged(job_dir, f"{path.name}: expected an integer index and "
                       f"numeric values, received {frame['index'].dtype} and "
                       f"{frame['value'].dtype}")  # fmt: skip
    return frame


def job_table(job_dir: Path, record: dict[str, Any]) -> pd.DataFrame:
    """One job's rows: ``job``, its overrides (as :func:`swept_columns` lays them
    out), ``status``, ``error``, then its results.

    A job without result rows (failed, killed, or an empty result) has one row
    with empty labels, index -1 and value NaN. A damaged record (a ``run.json``
    status the runner does not write, a results table that cannot be read or
    lacks columns, unreadable overrides) makes the job ``failed``, its ``error``
    saying what is wrong and how to rerun it.

    Raises:
        RunnerError: the job ran a sweep block; names its directory.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> row = job_table(d, {"status": "running"}).iloc[0]
        >>> row["status"], int(row["index"]), row["quantity"]
        ('incomplete', -1, '')
        >>> row = job_table(d, {"status": 1}).iloc[0]
        >>> row["status"], row["error"].endswith("received 1; " + _REPAIR + ".")
        ('failed', True)
    """
    import pandas as pd

    frame, overrides = None, {}
    try:
        overrides = _overrides(job_dir)
        status, error = _check_record(job_dir, record)
        if status == "ok":
            frame = _read_results(job_dir)
    except _Damaged as err:
        status, error = "failed", str(err)
    if frame is not None and "job" in frame.columns:
        raise RunnerError(
            f"sweep: the job in {job_dir} ran a sweep block (its table has a point "
            f"per row), which a -m sweep cannot gather; load each job's table with "
            f"runner.results.load(job_dir), or run the -m sweep without a sweep block."
        )
    if frame is None or frame.empty:
        frame = pd.DataFrame(_NO_ROW)
    frame.insert(0, "error", error)
    frame.insert(0, "status", status)
    swept: dict[str, Any] = {}
    for key, value in overrides.items():
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
    status, error, then :data:`runner.compute.rows.COLUMNS`.

    Every job has at least one row (:func:`job_table`); a job whose records are
    damaged is a ``failed`` row saying why. The swept columns come right after
    ``job``: keys in the order the jobs' overrides name them, a list's elements
    in C order; a key is left out when its value (every element of a list) is
    the same in every job.

    When ``sweep_dir`` holds a ``sweep.json``, only the jobs whose ``run.json``
    names its id are gathered (jobs of an earlier sweep are left out; a job whose
    ``run.json`` cannot be read is kept, as failed).

    Raises:
        RunnerError: a job ran a sweep block, or its records fail in a way
            :func:`job_table` does not foresee; names the job's directory.

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
        except (OSError, ValueError) as err:  # gathered as a failed job
            damaged = _damaged(job_dir, f"{RUN_RECORD} cannot be read", err)
            record = {"status": "failed", "error": str(damaged), "sweep_id": current}
        if current is not None and record.get("sweep_id") != current:
            continue  # a job of an earlier sweep
        try:
            frames.append(job_table(job_dir, record))
        except RunnerError:
            raise
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
    keys = _swept_keys(frames)
    points = frame.drop_duplicates("job")
    if len(points) > 1:  # keys with one value in every job are not swept
        keys = {
            key: columns
            for key, columns in keys.items()
            if any(points[c].nunique(dropna=False) > 1 for c in columns)
        }
    swept = [c for columns in keys.values() for c in columns]
    known = {"job", "status", "error", *COLUMNS}
    known.update(c for f in frames for c in swept_names(f.columns))
    rest = [c for c in frame.columns if c not in known]  # a table's extra columns
    return frame[["job", *swept, "status", "error", *COLUMNS, *rest]]


def _swept_keys(frames: list[pd.DataFrame]) -> dict[str, list[str]]:
    """Swept key -> its columns in the jobs' tables (``key``, or ``key[i]`` in C
    order), the keys in the order the jobs' overrides first name them."""
    found: dict[str, dict[str, tuple[int, ...]]] = {}
    for frame in frames:
        for column in swept_names(frame.columns):
            match = ELEMENT_COLUMN.match(column)
            key = column if match is None else match["key"]
            index = () if match is None else tuple(map(int, match["index"].split(",")))
            found.setdefault(key, {})[column] = index
    return {key: sorted(cells, key=cells.__getitem__) for key, cells in found.items()}
