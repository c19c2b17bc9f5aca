"""Writing tables and small JSON records atomically: a temp file, then a rename.

A reader (or a crash) never sees a half-written ``results.csv``: either the old file,
no file, or the complete new one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["FORMATS", "atomic_write", "write_json", "write_tables"]

FORMATS = ("csv", "parquet")


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temp file beside ``path``, then rename it to ``path``.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> atomic_write(d / "x.txt", lambda p: p.write_text("hi"))
        >>> (d / "x.txt").read_text()
        'hi'
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_tables(
    frame: pd.DataFrame,
    directory: Path,
    formats: Sequence[str] = FORMATS,
    precision: int | None = None,
    stem: str = "results",
) -> list[Path]:
    """Write ``frame`` as ``<stem>.csv`` and/or ``<stem>.parquet`` in ``directory``.

    Args:
        frame: the table.
        directory: an existing directory.
        formats: any of ``csv`` and ``parquet``.
        precision: significant digits of floats in CSV; None keeps full precision.
        stem: the file name without extension.

    Returns:
        The paths written.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> [p.name for p in write_tables(pd.DataFrame({"value": [1.5]}), d, ["csv"])]
        ['results.csv']
    """
    float_format = None if precision is None else f"%.{int(precision)}g"
    writers = {
        "csv": lambda p: frame.to_csv(p, index=False, float_format=float_format),
        "parquet": lambda p: frame.to_parquet(p, index=False),
    }
    written = []
    for fmt in formats:
        path = Path(directory) / f"{stem}.{fmt}"
        atomic_write(path, writers[fmt])
        written.append(path)
    return written


def write_json(path: Path, record: dict[str, Any]) -> None:
    """Write ``record`` as indented, key-sorted JSON, atomically.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "run.json"
        >>> write_json(p, {"status": "ok"})
        >>> json.loads(p.read_text())
        {'status': 'ok'}
    """
    text = json.dumps(record, indent=2, sort_keys=True, default=str) + "\n"
    atomic_write(path, lambda p: p.write_text(text))
