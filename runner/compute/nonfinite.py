"""Results holding NaN or Inf: a ``nonfinite_<quantity>`` row whatever the options,
and a failed run with ``output.fail_on_nonfinite``.

One check, :func:`count_nonfinite`, looks at every number a table holds, as the
table holds it (float64): every result array of a run whatever its quantity
(``residual``, ``fixed_point`` and ``check_*`` too), and every float column of
a vectorized sweep's table (``value`` and the swept values).

Example:
    >>> import numpy as np
    >>> from runner.compute.labels import Result
    >>> rows = nonfinite_rows([Result("value", "", "", np.array(np.nan))])
    >>> [r.quantity for r in rows]
    ['nonfinite_value']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..config.errors import CheckError
from .labels import Result

__all__ = ["count_nonfinite", "describe_nonfinite", "nonfinite_rows",
           "raise_on_nonfinite"]  # fmt: skip

#: The prefix of the rows that flag an array; they are never flagged themselves.
PREFIX = "nonfinite_"


def count_nonfinite(values: Any) -> int:
    """How many of ``values``, as a table holds them (float64), are NaN or Inf.

    The one finiteness check, for a run's results and a sweep's columns alike.

    Args:
        values: an array (any shape, any real dtype) or a scalar.

    Returns:
        The number of NaN and infinite elements.

    Example:
        >>> count_nonfinite(np.array([1.0, np.nan, -np.inf], np.float32))
        2
    """
    array = np.asarray(values)
    if array.dtype.kind != "c":  # bool, int, float16, bfloat16: as the table's float64
        array = array.astype(np.float64)
    return int(array.size - np.count_nonzero(np.isfinite(array)))


def nonfinite_rows(results: Sequence[Any]) -> list[Any]:
    """A ``nonfinite_<quantity>`` row per result array holding NaN or Inf.

    Every result is looked at, whatever its quantity, but the flags themselves.

    Args:
        results: the run's :class:`~runner.compute.labels.Result` s.

    Returns:
        One result per flagged array, same ``wrt`` and ``output``, whose value is the
        number of NaN/Inf elements.

    Example:
        >>> from runner.compute.labels import Result
        >>> rows = nonfinite_rows([Result("grad", "arg0", "", np.array([1, np.inf]))])
        >>> [(r.quantity, r.wrt, int(r.array)) for r in rows]
        [('nonfinite_grad', 'arg0', 1)]
    """
    rows = []
    for r in results:
        if r.quantity.startswith(PREFIX):
            continue
        count = count_nonfinite(r.array)
        if count:
            rows.append(Result(f"{PREFIX}{r.quantity}", r.wrt, r.output,
                               np.array(float(count))))  # fmt: skip
    return rows


def describe_nonfinite(row: Any) -> str:
    """A sentence naming a ``nonfinite_*`` row's array.

    Args:
        row: a result made by :func:`nonfinite_rows`.

    Returns:
        e.g. ``"grad w.r.t. arg0 holds 1 NaN/Inf value(s)"``.

    Example:
        >>> from runner.compute.labels import Result
        >>> describe_nonfinite(Result("nonfinite_value", "", "[1]", np.array(2.0)))
        'value [1] holds 2 NaN/Inf value(s)'
    """
    what = row.quantity.removeprefix(PREFIX)
    where = f" w.r.t. {row.wrt}" if row.wrt else ""
    output = f" {row.output}" if row.output else ""
    return f"{what}{where}{output} holds {int(row.array)} NaN/Inf value(s)"


def raise_on_nonfinite(results: Sequence[Any]) -> None:
    """Fail (``output.fail_on_nonfinite``) when any result holds NaN or Inf.

    Args:
        results: the run's results, including its ``nonfinite_*`` rows.

    Returns:
        None when every value is finite.

    Raises:
        CheckError: naming the first flagged array, keyed ``output.fail_on_nonfinite``.

    Example:
        >>> from runner.compute.labels import Result
        >>> raise_on_nonfinite([Result("grad", "arg0", "", np.array([1.0]))])
    """
    flagged = [r for r in results if r.quantity.startswith(PREFIX)]
    if flagged:
        raise CheckError(
            "output.fail_on_nonfinite",
            f"{describe_nonfinite(flagged[0])}"
            f"{f' (and {len(flagged) - 1} more array(s))' if len(flagged) > 1 else ''};"
            f" move the inputs away from singular points (0 for sqrt or log, poles) "
            f"or set output.fail_on_nonfinite=false to keep them.",
        )
