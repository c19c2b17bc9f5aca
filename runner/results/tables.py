"""The results table on disk: written atomically, CSV and Parquet from one table.

The rows are built by :mod:`runner.compute.rows`. Files are written to a temp file,
then renamed: a reader (or a crash) never sees a half-written ``results.csv``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..compute.rows import Repeated, round_significant
from ..config.schema import FORMATS

__all__ = ["SCHEMA_VERSION", "TABLE_STEM", "TEXT_COLUMNS", "arrow_table",
           "atomic_write", "is_temp_of", "table_file", "write_csv_batches",
           "write_json", "write_tables"]  # fmt: skip

TABLE_STEM = "results"  # results.csv, results.parquet


def table_file(fmt: str, stem: str = TABLE_STEM) -> str:
    """The file name of the table in format ``fmt``.

    Example:
        >>> table_file("csv"), table_file("parquet")
        ('results.csv', 'results.parquet')
    """
    return f"{stem}.{fmt}"


#: Version of the table schema (recorded in ``run.json`` and ``sweep.json``).
#: 2: ``shape`` and an integer ``index``; swept vectors one column per element.
SCHEMA_VERSION = 2

#: Columns that hold text, whatever their cells look like (``shape`` "4" too).
TEXT_COLUMNS = ("quantity", "wrt", "output", "shape", "status", "error")


_TEMP = re.compile(r"^\.(?P<name>.+)\.[0-9a-f]{16}\.tmp$")


def is_temp_of(temp: str, name: str) -> bool:
    """Whether the file name ``temp`` is one :func:`atomic_write` gives a temp file
    of ``name`` (which a killed write leaves behind).

    Example:
        >>> is_temp_of(".results.csv.0123456789abcdef.tmp", "results.csv")
        True
        >>> is_temp_of(".results.csv.notes.tmp", "results.csv")
        False
    """
    match = _TEMP.match(temp)
    return bool(match) and match["name"] == name


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


_NUMERIC = {"f": "float64", "i": "int64", "u": "uint64"}


def _repeated_text(column: Repeated) -> Any:
    """A :class:`~runner.compute.rows.Repeated` column as Arrow text, from bytes."""
    import pyarrow as pa

    encoded = [c.encode() for c in column.cells]
    lengths = np.tile(np.array([len(e) for e in encoded], dtype=np.int64), column.times)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    data = pa.py_buffer(b"".join(encoded) * column.times)
    return pa.LargeStringArray.from_buffers(
        len(lengths), pa.py_buffer(offsets), data
    ).cast(pa.string())


def _arrow_column(column: Any) -> Any:
    """One Arrow column, built from buffers where possible.

    ``pyarrow.array`` imports pandas (half a second) to inspect its input; numeric
    columns and text columns without nulls are built from their bytes instead.
    """
    import pyarrow as pa

    if isinstance(column, Repeated):
        return _repeated_text(column)
    column = np.asarray(column)
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


def arrow_table(columns: Mapping[str, Any]) -> Any:
    """The table as it is written: floats as float64, at full precision.

    Example:
        >>> arrow_table({"job": np.array([0]), "value": np.array([0.5])}).num_rows
        1"""
    import pyarrow as pa

    return pa.table({name: _arrow_column(c) for name, c in columns.items()})


def _rounded_table(table: Any, precision: int | None) -> Any:
    """``table`` (what Parquet holds) with its floats rounded to ``precision``
    significant digits (:func:`_round`): what CSV holds. None keeps every digit;
    either way the CSV writer prints each float in the fewest digits that read
    back as it, so CSV reads back as the Parquet value, rounded."""
    import pyarrow as pa

    if precision is None:
        return table
    for i, field in enumerate(table.schema):
        if pa.types.is_floating(field.type):
            column = table.column(i).combine_chunks()
            values = column.to_numpy(zero_copy_only=False)
            values = round_significant(values, int(precision))
            if column.null_count:  # empty cells (a column of objects) stay empty
                nulls = column.is_null().to_numpy(zero_copy_only=False)
                rounded = pa.array(values, type=pa.float64(), mask=nulls)
            else:
                rounded = _arrow_column(values)
            table = table.set_column(i, field.name, rounded)
    return table


def write_tables(
    columns: Mapping[str, Any],
    directory: Path,
    formats: Sequence[str] = FORMATS,
    precision: int | None = None,
    stem: str = TABLE_STEM,
) -> list[Path]:
    """Write ``columns`` (name -> values, or a DataFrame) as CSV and/or Parquet.

    Args:
        columns: the table, column by column (a ``pandas.DataFrame`` works too).
        directory: an existing directory.
        formats: any of ``csv`` and ``parquet``.
        precision: significant digits of floats in CSV (the Parquet values,
            rounded); None keeps full precision.
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

    table = arrow_table(columns)  # one table: Parquet's, CSV's rounded from it
    rounded = _rounded_table(table, precision)
    writers = {
        "csv": lambda p: pyarrow.csv.write_csv(rounded, p),
        "parquet": lambda p: pyarrow.parquet.write_table(table, p),
    }
    written = []
    for fmt in formats:
        path = Path(directory) / table_file(fmt, stem)
        atomic_write(path, writers[fmt])
        written.append(path)
    return written


def write_csv_batches(
    batches: Iterable[Any], schema: Any, path: Path, precision: int | None = None
) -> None:
    """Write Arrow record ``batches`` (of ``schema``) as one CSV file, atomically,
    one batch in memory at a time; floats rounded as :func:`write_tables` does.

    Example:
        >>> import tempfile, pathlib
        >>> table = arrow_table({"value": np.array([1 / 3])})
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "results.csv"
        >>> write_csv_batches(table.to_batches(), table.schema, p, precision=2)
        >>> p.read_text().split()
        ['"value"', '0.33']
    """
    import pyarrow as pa
    import pyarrow.csv

    def write(tmp: Path) -> None:
        with pyarrow.csv.CSVWriter(str(tmp), schema) as writer:
            for batch in batches:
                table = pa.Table.from_batches([batch], schema=schema)
                writer.write_table(_rounded_table(table, precision))

    atomic_write(Path(path), write)


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
