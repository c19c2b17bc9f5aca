"""``run.json``: the record of how a job ended, read and written in one place.

Every job writes it before it computes (``status: running``) and again when it
ends (``ok`` or ``failed``); a sweep gathers, resumes and reports jobs by it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypedDict

from .tables import SCHEMA_VERSION, write_json

__all__ = ["RUN_RECORD", "RunRecord", "read_run", "write_run"]

RUN_RECORD = "run.json"


class RunRecord(TypedDict, total=False):
    """The fields of ``run.json`` (all optional when read back).

    ``status`` is ``running``, ``ok`` or ``failed``; ``sweep`` describes a
    vectorized sweep's points (``mode``, ``keys``, ``shape``: one axis per key for
    a grid, one for a zip); ``schema_version`` is :data:`runner.tables.SCHEMA_VERSION`
    of the job's tables.
    """

    status: str
    experiment: str
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
