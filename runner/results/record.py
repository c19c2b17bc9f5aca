"""The records beside the tables, read and written in one place.

``run.json``: how a job ended. Every job writes it before it computes (``status:
running``) and again when it ends (``ok`` or ``failed``); a sweep gathers, resumes
and reports jobs by it. ``sweep.json``: which sweep a multirun directory belongs to
(its id and the overrides that make its points).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypedDict

from ..config.errors import RunnerError
from .tables import SCHEMA_VERSION, write_json

__all__ = ["RUN_RECORD", "SWEEP_RECORD", "RunRecord", "read_run", "read_sweep",
           "sweep_id", "write_run", "write_sweep"]  # fmt: skip

RUN_RECORD = "run.json"
SWEEP_RECORD = "sweep.json"


class RunRecord(TypedDict, total=False):
    """The fields of ``run.json`` (all optional when read back).

    ``status`` is ``running``, ``ok`` or ``failed``; ``sweep`` describes a
    vectorized sweep's points (``mode``, ``keys``, ``shape``: one axis per key for
    a grid, one for a zip); ``config_files`` the file each config group option
    came from (``exp``, ``model``); ``schema_version`` is
    :data:`runner.results.tables.SCHEMA_VERSION` of the job's tables.
    """

    status: str
    experiment: str
    config_files: dict[str, str]
    config_hash: str
    sweep_id: str
    sweep: dict[str, Any]
    error_type: str
    error: str
    plot_error: str
    rows: int
    seconds: float
    versions: dict[str, str]
    command: str
    schema_version: int


def read_run(job_dir: Path) -> RunRecord:
    """The ``run.json`` of ``job_dir``.

    Raises:
        OSError: the file is missing or unreadable.
        ValueError: it is not a JSON object.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> write_run(d, {"status": "ok"})
        >>> read_run(d)["status"], read_run(d)["schema_version"]
        ('ok', 2)
    """
    record = json.loads((Path(job_dir) / RUN_RECORD).read_text())
    if not isinstance(record, dict):
        raise ValueError(f"{Path(job_dir) / RUN_RECORD} holds no JSON object")
    return record  # type: ignore[return-value]


def write_run(job_dir: Path, record: RunRecord | dict[str, Any]) -> None:
    """Write ``record`` (with the tables' ``schema_version``) atomically.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> write_run(d, {"status": "running"})
        >>> sorted(read_run(d))
        ['schema_version', 'status']
    """
    record.setdefault("schema_version", SCHEMA_VERSION)  # type: ignore[misc]
    write_json(Path(job_dir) / RUN_RECORD, dict(record))


def sweep_id(sweep_dir: Path) -> str | None:
    """The id recorded in ``sweep_dir/sweep.json``, or None if there is none.

    Example:
        >>> import tempfile
        >>> from runner.app.sweep import start_sweep
        >>> d = Path(tempfile.mkdtemp())
        >>> sweep_id(d) is None
        True
        >>> new = start_sweep(d, ["a=1,2"])
        >>> sweep_id(d) == new
        True
    """
    record = read_sweep(Path(sweep_dir))
    return None if record is None else str(record.get("id"))


def read_sweep(sweep_dir: Path) -> dict[str, Any] | None:
    """The ``sweep.json`` of ``sweep_dir``, or None if there is none.

    Raises:
        RunnerError: it cannot be read or holds no sweep id; names the file.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> read_sweep(d) is None
        True
        >>> _ = (d / SWEEP_RECORD).write_text("[]")
        >>> read_sweep(d)
        Traceback (most recent call last):
        ...
        runner.config.errors.RunnerError: hydra.sweep.dir: ... holds no sweep id; ...
    """
    path = Path(sweep_dir) / SWEEP_RECORD
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


def write_sweep(sweep_dir: Path, record: dict[str, Any]) -> None:
    """Write ``record`` (with the tables' ``schema_version``) as ``sweep.json``,
    atomically.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> write_sweep(d, {"id": "abc", "points": ["a=1,2"]})
        >>> read_sweep(d)["id"], read_sweep(d)["schema_version"]
        ('abc', 2)
    """
    write_json(
        Path(sweep_dir) / SWEEP_RECORD, {**record, "schema_version": SCHEMA_VERSION}
    )
