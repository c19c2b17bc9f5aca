"""Writing tables and small JSON records atomically: a temp file, then a rename.

A reader (or a crash) never sees a half-written ``results.csv``: either the old file,
no file, or the complete new one.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["FORMATS", "atomic_write", "write_json", "write_tables"]

FORMATS = ("csv", "parquet")


def _new_temp(path: Path) -> Path:
    """Create an empty, unique temp file beside ``path`` with the usual permissions.

    ``tempfile.mkstemp`` makes files readable by their owner only (0600); creating
    it with mode 0666 lets the umask (and default ACLs) decide, as for any new file.
    """
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:  # a clash of 64 random bits: draw again
            continue
        return tmp


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
    tmp = _new_temp(path)
    try:
        write(Path(tmp))
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _round(values: np.ndarray, digits: int) -> np.ndarray:
    """``values`` rounded to ``digits`` significant digits (NaN and 0 kept)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(values == 0, 0, np.floor(np.log10(np.abs(values))))
    factor = 10.0 ** (digits - 1 - np.nan_to_num(scale))
    return np.where(np.isfinite(values), np.round(values * factor) / factor, values)


_NUMERIC = {"f": "float64", "i": "int64", "u": "uint64"}


def _arrow_column(column: np.ndarray) -> Any:
    """One Arrow column, built from buffers where possible.

    ``pyarrow.array`` imports pandas (half a second) to inspect its input; numeric
    columns and text columns without nulls are built from their bytes instead.
    """
    import pyarrow as pa

    kind = column.dtype.kind
    if kind in _NUMERIC:
        data = np.ascontiguousarray(column, dtype=_NUMERIC[kind])
        return pa.Array.from_buffers(
            pa.type_for_alias(_NUMERIC[kind]), len(data), [None, pa.py_buffer(data)]
        )
    if kind in "OU" and all(isinstance(v, str) for v in column):
        encoded = [v.encode() for v in column]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        return pa.LargeStringArray.from_buffers(
            len(encoded), pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))
        ).cast(pa.string())
    cells = [None if v is None or v != v else v for v in column]  # NaN: null
    try:
        return pa.array(cells)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types: as text
        return pa.array([None if v is None else str(v) for v in cells])


def _arrow_table(columns: Mapping[str, Any], precision: int | None = None) -> Any:
    import pyarrow as pa

    arrays = {}
    for name, column in columns.items():
        column = np.asarray(column)
        if precision is not None and column.dtype.kind == "f":
            column = _round(column.astype(np.float64), int(precision))
        arrays[name] = _arrow_column(column)
    return pa.table(arrays)


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
        ['"value"', '1.5']
    """
    columns = {str(k): v for k, v in dict(columns).items()}  # a DataFrame too
    import pyarrow.csv
    import pyarrow.parquet

    table = _arrow_table(columns)
    rounded = table if precision is None else _arrow_table(columns, precision)
    writers = {
        "csv": lambda p: pyarrow.csv.write_csv(rounded, p),
        "parquet": lambda p: pyarrow.parquet.write_table(table, p),
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
