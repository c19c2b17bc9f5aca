"""The results table: its schema, built from result arrays, written atomically.

One row per scalar, columns :data:`COLUMNS`: ``shape`` is the array's shape as
text (``"4,3"``; ``""`` for a scalar) and ``index`` the element's position in it
(an int, C order), so ``np.unravel_index(index, shape)`` gives its axes and
:func:`runner.results.load` rebuilds the arrays. Files are written to a temp file,
then renamed: a reader (or a crash) never sees a half-written ``results.csv``.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["COLUMNS", "FORMATS", "SCHEMA_VERSION", "atomic_write", "result_columns",
           "shape_text", "swept_columns", "swept_names", "to_frame", "value_text",
           "write_json", "write_tables"]  # fmt: skip

FORMATS = ("csv", "parquet")

#: Version of the table schema (recorded in ``run.json`` and ``sweep.json``).
#: 2: ``shape`` and an integer ``index``; swept vectors one column per element.
SCHEMA_VERSION = 2

#: The columns of a results table, in order.
COLUMNS = ("quantity", "wrt", "output", "shape", "index", "value")

#: Columns that hold text, whatever their cells look like (``shape`` "4" too).
TEXT_COLUMNS = ("quantity", "wrt", "output", "shape", "status", "error")


def shape_text(shape: Sequence[int]) -> str:
    """An array's shape as a table cell: ``"4,3"``, ``""`` for a scalar.

    Example:
        >>> shape_text((4, 3)), shape_text(()), shape_text((2,))
        ('4,3', '', '2')
    """
    return ",".join(str(int(n)) for n in shape)


def result_columns(results: Sequence[Any], points: int | None = None) -> dict[str, Any]:
    """The rows of ``results`` (named arrays), as columns named by :data:`COLUMNS`.

    The one builder of the schema, for a single run and for a vectorized sweep.

    Args:
        results: objects with ``quantity``, ``wrt``, ``output`` and ``array``
            (:class:`runner.experiment.Result`).
        points: None for one run; for a sweep, the number of points, the leading
            axis of every array. Rows are then point-major (every row of point 0,
            then of point 1, ...) and the table gets no ``job`` column (the
            caller adds it with the swept values).

    Returns:
        Column name -> numpy array.

    Example:
        >>> from runner.experiment import Result
        >>> cols = result_columns([Result("grad", "arg0", "", np.eye(2))])
        >>> cols["shape"].tolist(), cols["index"].tolist(), cols["value"].tolist()
        (['2,2', '2,2', '2,2', '2,2'], [0, 1, 2, 3], [1.0, 0.0, 0.0, 1.0])
        >>> swept = result_columns([Result("value", "", "", np.array([1.0, 2.0]))], 2)
        >>> swept["shape"].tolist(), swept["value"].tolist()
        (['', ''], [1.0, 2.0])
    """
    batch = 0 if points is None else 1
    labels: dict[str, list[np.ndarray]] = {c: [] for c in COLUMNS if c != "value"}
    values = []
    for r in results:
        shape = np.shape(r.array)[batch:]
        n = int(np.prod(shape, dtype=int))
        cells = (r.quantity, r.wrt, r.output, shape_text(shape))
        for name, cell in zip(("quantity", "wrt", "output", "shape"), cells):
            labels[name].append(np.full(n, cell, dtype=object))
        labels["index"].append(np.arange(n, dtype=np.int64))
        values.append(np.asarray(r.array, dtype=np.float64).reshape(points or 1, n))
    columns: dict[str, Any] = {
        name: np.concatenate(parts) if parts else np.array([], dtype=object)
        for name, parts in labels.items()
    }
    columns["index"] = columns["index"].astype(np.int64)
    if points is not None:
        columns = {name: np.tile(column, points) for name, column in columns.items()}
    columns["value"] = (
        np.concatenate(values, axis=1).reshape(-1)
        if values
        else np.array([], dtype=np.float64)
    )
    return columns


#: Significant digits of swept values in tables: ``range(0.5, 0.9, 0.2)`` gives
#: 0.7, not 0.7000000000000001 (float32 inputs hold fewer digits anyway).
SWEPT_DIGITS = 15


def swept_columns(key: str, values: Any) -> dict[str, np.ndarray]:
    """The table columns of one swept key, given its value at each point.

    Numbers are float64 rounded to :data:`SWEPT_DIGITS` significant digits; a
    vector or matrix gets one column per element, named ``key[i]`` or
    ``key[i,j]``; anything else (a config group choice) stays text.

    Example:
        >>> cols = swept_columns("inputs.1", [[1.0, 0.7000000000000001], [2.0, 3.0]])
        >>> {k: v.tolist() for k, v in cols.items()}
        {'inputs.1[0]': [1.0, 2.0], 'inputs.1[1]': [0.7, 3.0]}
        >>> swept_columns("exp", ["grad", "jacobian"])["exp"].tolist()
        ['grad', 'jacobian']
    """
    try:
        numbers = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return {key: np.array([str(v) for v in values], dtype=object)}
    numbers = _round(numbers, SWEPT_DIGITS)
    if numbers.ndim == 1:
        return {key: numbers}
    return {
        f"{key}[{','.join(map(str, ix))}]": numbers[(slice(None), *ix)]
        for ix in np.ndindex(numbers.shape[1:])
    }


def value_text(values: Any, as_list: bool = False) -> str:
    """``values`` as text with every digit the table holds of them.

    Each number gets the fewest digits that read back as it in its own dtype
    (float32 or float64), never rounded to a fixed count: what the console prints
    parses back to the table's value.

    Args:
        values: a scalar or an array.
        as_list: write an array as a Python list on one line (``[2.0, 2.0]``)
            rather than in numpy's aligned columns (``[2. 2.]``).

    Returns:
        ``"0.1"``, ``"[1. 2.]"``, ``"[ 1.e-09 -2.e+00]"``, ``"[1e-09, -2.0]"``, ...

    Example:
        >>> value_text(np.float32(0.99973893)), value_text(1 / 3)
        ('0.99973893', '0.3333333333333333')
        >>> value_text(np.array([-1.1994077, 1e-9]))
        '[-1.1994077e+00  1.0000000e-09]'
        >>> value_text(np.array([-1.1994077, 1e-9], np.float32), as_list=True)
        '[-1.1994077, 1e-09]'
    """
    array = np.asarray(values)
    if array.ndim == 0:
        return str(array[()])  # a numpy scalar prints the shortest repr of its dtype
    if as_list:  # each element as its numpy scalar prints, on one line
        return np.array2string(array, max_line_width=sys.maxsize, separator=", ",
                               formatter={"float_kind": str})  # fmt: skip
    return np.array2string(array, floatmode="unique", suppress_small=False,
                           legacy=False)  # fmt: skip


def swept_names(columns: Sequence[Any]) -> list[str]:
    """The swept columns of a sweep's table: those between ``job`` and ``status``.

    Example:
        >>> swept_names(["job", "model.a", "inputs.1[0]", "status", "error", *COLUMNS])
        ['model.a', 'inputs.1[0]']
    """
    names = [str(c) for c in columns]
    return names[1 : names.index("status")]


def to_frame(results: Sequence[Any]) -> Any:
    """The table of one run's ``results`` (:func:`result_columns`) as a
    ``pandas.DataFrame``.

    Example:
        >>> from runner.experiment import Result
        >>> frame = to_frame([Result("value", "", "", np.array([1.0, 2.0]))])
        >>> list(frame.columns), frame["index"].tolist()
        (['quantity', 'wrt', 'output', 'shape', 'index', 'value'], [0, 1])
    """
    import pandas as pd

    return pd.DataFrame(result_columns(results), columns=list(COLUMNS))


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
    """``values`` (float64) rounded to ``digits`` significant digits.

    Each value is printed to ``digits`` digits and read back, both correctly
    rounded, so subnormals and values near 1e308 round like any other (scaling by
    ``10**k`` overflows there). NaN, Inf and 0 are kept, and so is a value whose
    rounding would overflow (1.8e308 to one digit is 2e308).

    Example:
        >>> big = np.finfo(np.float64).max
        >>> _round(np.array([-9.86123e-305, 1 / 3, 5e-324, big]), 2).tolist()
        [-9.9e-305, 0.33, 5e-324, 1.7976931348623157e+308]
    """
    values = np.asarray(values, dtype=np.float64)
    out = values.copy()
    finite = np.isfinite(values) & (values != 0)
    spec = f".{int(digits) - 1}e"
    rounded = np.array([float(format(v, spec)) for v in values[finite].tolist()])
    out[finite] = np.where(np.isfinite(rounded), rounded, values[finite])
    return out


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


def _arrow_table(columns: Mapping[str, Any]) -> Any:
    """The table as it is written: floats as float64, at full precision."""
    import pyarrow as pa

    return pa.table({name: _arrow_column(np.asarray(c)) for name, c in columns.items()})


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
            values = _round(column.to_numpy(zero_copy_only=False), int(precision))
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
    stem: str = "results",
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

    table = _arrow_table(columns)  # one table: Parquet's, CSV's rounded from it
    rounded = _rounded_table(table, precision)
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
