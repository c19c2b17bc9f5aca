"""The results table's rows: one per scalar, built from named result arrays.

Columns :data:`COLUMNS`: ``shape`` is the array's shape as text (``"4,3"``; ``""``
for a scalar) and ``index`` the element's position in it (an int, C order), so
``np.unravel_index(index, shape)`` gives its axes and :func:`runner.results.load`
rebuilds the arrays. Also the text of numbers as the table holds them
(:func:`value_text`). Writing the table is :mod:`runner.results.tables`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["COLUMNS", "ELEMENT_COLUMN", "SWEPT_DIGITS", "Repeated", "result_columns",
           "round_significant", "shape_text", "swept_columns", "swept_names",
           "to_frame", "value_text"]  # fmt: skip

#: A swept vector's element column, as :func:`swept_columns` names it:
#: ``key[i]`` or ``key[i,j]``.
ELEMENT_COLUMN = re.compile(r"^(?P<key>.+)\[(?P<index>\d+(?:,\d+)*)\]$")

#: The columns of a results table, in order.
COLUMNS = ("quantity", "wrt", "output", "shape", "index", "value")


class Repeated:
    """A text column that holds the same cells at every point of a sweep.

    A chunk of a vectorized sweep labels every point alike; keeping one point's
    cells and a count lets the table writer build the column from bytes instead
    of millions of Python strings. ``np.asarray`` gives the full column.

    Example:
        >>> col = Repeated(["grad", "value"], 3)
        >>> len(col), np.asarray(col).tolist()
        (6, ['grad', 'value', 'grad', 'value', 'grad', 'value'])
    """

    def __init__(self, cells: Sequence[str], times: int) -> None:
        self.cells = np.array([str(c) for c in cells], dtype=object)
        self.times = int(times)

    def __len__(self) -> int:
        return len(self.cells) * self.times

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.tile(self.cells, self.times)
        return out if dtype is None else out.astype(dtype)


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
            (:class:`runner.compute.experiment.Result`).
        points: None for one run; for a sweep, the number of points, the leading
            axis of every array. Rows are then point-major (every row of point 0,
            then of point 1, ...) and the table gets no ``job`` column (the
            caller adds it with the swept values).

    Returns:
        Column name -> numpy array.

    Example:
        >>> from runner.compute.experiment import Result
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
    numbers = round_significant(numbers, SWEPT_DIGITS)
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
        >>> from runner.compute.experiment import Result
        >>> frame = to_frame([Result("value", "", "", np.array([1.0, 2.0]))])
        >>> list(frame.columns), frame["index"].tolist()
        (['quantity', 'wrt', 'output', 'shape', 'index', 'value'], [0, 1])
    """
    import pandas as pd

    return pd.DataFrame(result_columns(results), columns=list(COLUMNS))


def round_significant(values: np.ndarray, digits: int) -> np.ndarray:
    """``values`` (float64) rounded to ``digits`` significant digits.

    Each value is printed to ``digits`` digits and read back, both correctly
    rounded, so subnormals and values near 1e308 round like any other (scaling by
    ``10**k`` overflows there). NaN, Inf and 0 are kept, and so is a value whose
    rounding would overflow (1.8e308 to one digit is 2e308).

    Example:
        >>> big = np.finfo(np.float64).max
        >>> round_significant(np.array([-9.86123e-305, 1 / 3, 5e-324, big]), 2).tolist()
        [-9.9e-305, 0.33, 5e-324, 1.7976931348623157e+308]
    """
    values = np.asarray(values, dtype=np.float64)
    out = values.copy()
    finite = np.isfinite(values) & (values != 0)
    spec = f".{int(digits) - 1}e"
    rounded = np.array([float(format(v, spec)) for v in values[finite].tolist()])
    out[finite] = np.where(np.isfinite(rounded), rounded, values[finite])
    return out
