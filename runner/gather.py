"""A sweep's table: every job's rows, with the overrides that vary between jobs.

Each job's ``results.*`` is read back from its directory, and the keys its
command line overrode become columns holding the values its resolved config held
(:func:`runner.tables.swept_columns`: numbers as numbers, a list one column per
element). Keys whose value is the same in every job are left out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf

from .errors import RunnerError
from .record import RUN_RECORD, read_run, sweep_id
from .tables import COLUMNS, swept_columns, swept_names

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["aggregate", "job_table"]


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


def job_table(job_dir: Path, record: dict[str, Any]) -> pd.DataFrame:
    """One job's rows: ``job``, its overrides (as :func:`swept_columns` lays them
    out), ``status``, ``error``, then its results (one empty row without them).

    Example:
        >>> import tempfile
        >>> row = job_table(Path(tempfile.mkdtemp()), {"status": "running"}).iloc[0]
        >>> row["status"], int(row["index"]), row["quantity"]
        ('incomplete', -1, '')
    """
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
    if "job" in frame.columns:
        raise RunnerError(
            f"sweep: the job in {job_dir} ran a sweep block (its table has a point "
            f"per row), which a -m sweep cannot gather; load each job's table with "
            f"runner.results.load(job_dir), or run the -m sweep without a sweep block."
        )
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
        RunnerError: a job's records cannot be read, or a job ran a sweep block;
            names the job's directory.

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
    swept = swept_names(frame.columns)
    points = frame.drop_duplicates("job")
    if len(points) > 1:  # keys with one value in every job are not swept
        same = [k for k in swept if points[k].nunique(dropna=False) == 1]
        frame = frame.drop(columns=same)
    return frame
