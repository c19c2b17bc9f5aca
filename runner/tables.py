"""Writing tables and small JSON records atomically: a temp file, then a rename.

A reader (or a crash) never sees a half-written ``results.csv``: either the old file,
no file, or the complete new one.
"""

from __future__ import annotations

import csv
import json
import math
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

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


def _cell(value: Any, float_format: str | None) -> Any:
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return ""
        return repr(float(value)) if float_format is None else float_format % value
    return "" if value is None else value


def _write_csv(
    path: Path, columns: Mapping[str, Any], float_format: str | None
) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in zip(*columns.values()):
            writer.writerow([_cell(v, float_format) for v in row])


def _write_parquet(path: Path, columns: Mapping[str, Any]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {}
    for name, column in columns.items():
        column = np.asarray(column)
        if column.dtype == object:
            column = [None if v is None else str(v) for v in column]
        arrays[name] = pa.array(column)
    pq.write_table(pa.table(arrays), path)


def write_tables(
    columns: Mapping[str, Any],
    directory: Path,
    formats: Sequence[str] = FORMATS,
    precision: int | None = None,
    stem: str = "results",
) -> list[Path]:
    """Write ``columns`` (name -> values, or a DataFrame) as CSV and/or Parquet.

    Args:
        columns: the table, column by column (a ``pandas.DataFrame`` works too).
        directory: an existing directory.
        formats: any of ``csv`` and ``parquet``.
        precision: significant digits of floats in CSV; None keeps full precision.
        stem: the file name without extension.

    Returns:
        The paths written.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> [p.name for p in write_tables({"value": [1.5]}, d, ["csv"])]
        ['results.csv']
        >>> (d / "results.csv").read_text().split()
        ['value', '1.5']
    """
    columns = {str(k): list(v) if not hasattr(v, "dtype") else v
               for k, v in dict(columns).items()}  # fmt: skip
    float_format = None if precision is None else f"%.{int(precision)}g"
    writers = {
        "csv": lambda p: _write_csv(p, columns, float_format),
        "parquet": lambda p: _write_parquet(p, columns),
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
