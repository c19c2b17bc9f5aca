"""What ``where=`` picks of a sweep's points (:meth:`runner.results.Results.array`).

``where`` maps a swept key to a coordinate, a list of them, or a closed range
``slice(lo, hi)`` / ``(lo, hi)``. In a grid each key picks along its own axis, so
the points picked form a sub-grid; in a zip or ``-m`` sweep (one axis of points,
``job``) a point is picked when every key matches it. :func:`pick` gives the
points' job numbers, so that the table is read only for them. Also where a
sweep's coordinates come from: its table (:func:`point_values`) or its
``run.json`` (:func:`recorded_coords`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..compute.rows import ELEMENT_COLUMN, SWEPT_DIGITS, round_significant
from ..config.errors import RunnerError
from .scan import LayoutError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MATCH_RTOL", "Pick", "SelectionError", "match", "pick", "point_values",
           "positions", "recorded_coords"]  # fmt: skip

#: A number selects the coordinates within this relative distance of it, so that
#: ``0.3`` picks the ``0.30000000000000004`` of a range.
MATCH_RTOL = 1e-9


class SelectionError(RunnerError, KeyError, ValueError):
    """A ``where=`` that selects no point: a key that is not swept, or values that
    are none of its coordinates. Both a ``KeyError`` (as a missing label in
    pandas) and a ``ValueError``; the message is one line.

    Example:
        >>> str(SelectionError("where: 'model.c' is not a swept key; ..."))
        "where: 'model.c' is not a swept key; ..."
    """

    def __str__(self) -> str:  # a KeyError would print its message quoted
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Pick:
    """The points a ``where=`` picks.

    Attributes:
        shape: their leading shape: the sub-grid's, or ``(count,)``.
        jobs: their job numbers in point order; None for every point.
        index: the positions picked along each leading axis; None for all.
    """

    shape: tuple[int, ...]
    jobs: np.ndarray | None = None
    index: tuple[np.ndarray, ...] | None = None


def pick(
    where: Mapping[str, Any] | None,
    dims: tuple[str, ...],
    shape: tuple[int, ...],
    keys: Sequence[str],
    values: Callable[[str], np.ndarray],
    jobs: Callable[[], np.ndarray] | None,
) -> Pick:
    """The points of a sweep that ``where`` picks.

    Args:
        where: swept key -> what :func:`match` takes; None or ``{}``: every point.
            A swept vector's element (``inputs.1[0]``) is a key too.
        dims: the sweep's axes: its keys for a grid, ``("job",)`` for one axis
            of points (a zip or ``-m`` sweep); ``()`` for a single run.
        shape: the lengths of ``dims``.
        keys: the keys ``where`` may name (a grid's dims; ``job`` and the swept
            keys for one axis of points).
        values: key -> its coordinates, one per position along its axis.
        jobs: gives the job number of each point, in point order; None when
            the points are jobs ``0, 1, ...`` (a vectorized sweep), so that a
            ``job`` key needs no array of every point.

    Returns:
        A :class:`Pick`; for a grid, the picked positions of each axis in its
        order, and the job numbers of the sub-grid they span.

    Raises:
        SelectionError: a key not in ``keys``, values that match nothing, or
            keys that match no point together.

    Example:
        >>> b, tau = np.array([0.5, 0.7, 0.9]), np.array([10.0, 15.0])
        >>> p = pick({"b": (0.6, 1.0), "tau": 15.0}, ("b", "tau"), (3, 2),
        ...          ["b", "tau"], {"b": b, "tau": tau}.get, None)
        >>> p.shape, p.jobs.tolist()
        ((2, 1), [3, 5])
        >>> pick({"job": (10, 12)}, ("job",), (10**8,), ["job"], {}.get, None).jobs
        array([10, 11, 12])
    """
    if not where:
        return Pick(tuple(shape))
    if not isinstance(where, Mapping):
        raise SelectionError(f"where: expected a dict of swept key -> values, "
                             f"received {where!r}.")  # fmt: skip
    if not dims:
        raise SelectionError("where: a single run has no swept keys; drop where=, "
                             "or load a sweep.")  # fmt: skip
    picks: list[np.ndarray | None] = [None] * len(shape)  # None: all of the axis
    for key, wanted in where.items():
        if key == "job" and jobs is None and dims == ("job",):
            axis, found = 0, _numbered(wanted, shape[0])
        else:
            axis, coords = _axis(str(key), dims, keys, values)
            found = np.flatnonzero(match(str(key), coords, wanted))
        before = picks[axis]
        picks[axis] = found if before is None else np.intersect1d(before, found)
        if not len(picks[axis]):  # type: ignore[arg-type]
            raise SelectionError(
                f"where: {dict(where)!r} picks no point: each key picks some, but "
                f"none of them together; drop or widen one."
            )
    axes = [np.arange(n) if p is None else p for p, n in zip(picks, shape)]
    if dims != ("job",):
        grid = np.ravel_multi_index(np.ix_(*axes), tuple(shape)).reshape(-1)
        return Pick(tuple(len(p) for p in axes), grid, tuple(axes))
    return Pick(
        (len(axes[0]),), axes[0] if jobs is None else jobs()[axes[0]], (axes[0],)
    )


def _numbered(wanted: Any, n: int) -> np.ndarray:
    """The jobs ``wanted`` picks of ``n`` points numbered ``0, 1, ...``, found
    without an array of every point (a sweep may have 10^8)."""
    there = f"job has {n} values from 0 to {n - 1}"
    if isinstance(wanted, (slice, tuple)):
        lo, hi = _ends("job", wanted)
        picked = np.arange(math.ceil(max(lo, 0)), math.floor(min(hi, n - 1)) + 1)
        if not len(picked):
            raise SelectionError(f"where: job={wanted!r} holds no coordinate; "
                                 f"{there}; widen the range.")  # fmt: skip
        return picked
    try:
        found = np.asarray(wanted, dtype=np.float64)
    except (TypeError, ValueError):
        found = np.zeros((0, 0))
    if found.ndim > 1:
        raise SelectionError(f"where: job takes a number, a list of them, or a "
                             f"range (lo, hi); received {wanted!r}.")  # fmt: skip
    found = found.reshape(-1)
    bad = (found % 1 != 0) | (found < 0) | (found >= n)
    if bad.any():
        want = found[bad][0].item()
        want = int(want) if want % 1 == 0 else want
        raise SelectionError(f"where: job={want!r} is not a coordinate; {there}.")
    return np.unique(found.astype(np.int64))


def _axis(
    key: str, dims: tuple[str, ...], keys: Sequence[str], values: Callable
) -> tuple[int, np.ndarray]:
    """The axis ``key`` picks along, and the coordinates it compares."""
    element = ELEMENT_COLUMN.match(key)
    base = element["key"] if element and key not in keys else key
    if base not in keys:
        raise SelectionError(
            f"where: {key!r} is not a swept key; the keys are {list(keys)} (a swept "
            f"vector's elements too, as 'key[0]'); select by one of them."
        )
    axis, coords = dims.index(base) if base in dims else 0, np.asarray(values(base))
    if base == key:
        return axis, coords
    ix = tuple(int(i) for i in element["index"].split(","))  # type: ignore[index]
    if len(ix) != coords.ndim - 1 or any(i >= n for i, n in zip(ix, coords.shape[1:])):
        raise SelectionError(f"where: {key!r} is no element of {base}, whose "
                             f"values have shape {coords.shape[1:]}.")  # fmt: skip
    return axis, coords[(slice(None), *ix)]


def match(key: str, values: np.ndarray, wanted: Any) -> np.ndarray:
    """Which of a swept key's coordinates ``wanted`` selects, as a mask.

    Args:
        key: the swept key, for messages.
        values: its coordinates: shape ``(n,)`` (numbers or text), or
            ``(n, *shape)`` for a swept vector or matrix.
        wanted: a coordinate; a list of them; or a closed range of numbers,
            ``slice(lo, hi)`` or ``(lo, hi)`` (``None`` leaves an end open). A
            number matches a coordinate within a relative :data:`MATCH_RTOL`.

    Returns:
        A bool array of shape ``(n,)``.

    Raises:
        SelectionError: a value that is no coordinate, a range that holds
            none, or a range of a vector or of text.

    Example:
        >>> b = np.array([0.5, 0.7, 0.9])
        >>> match("model.b", b, (0.6, 1.0)).tolist()
        [False, True, True]
        >>> match("model.b", b, [0.9, 0.5]).tolist()
        [True, False, True]
        >>> match("model.b", b, 0.8)
        Traceback (most recent call last):
        ...
        runner.results.selection.SelectionError: where: model.b=0.8 is not a ...
    """
    values = np.asarray(values)
    if isinstance(wanted, (slice, tuple)):
        mask = _in_range(key, values, wanted)
        if not mask.any():
            raise SelectionError(
                f"where: {key}={wanted!r} holds no coordinate; {key} has "
                f"{_summary(values)}; widen the range."
            )
        return mask
    if values.dtype.kind in "OSUT":  # text: config group choices of a -m sweep
        wanted = [str(w) for w in np.atleast_1d(np.asarray(wanted, dtype=object))]
        mask = np.zeros(len(values), dtype=bool)
        for want in wanted:
            mask |= _check_found(key, values, want, values.astype(str) == want)
        return mask
    return _at(key, values, wanted)


def _at(key: str, values: np.ndarray, wanted: Any) -> np.ndarray:
    """The mask of numeric coordinates equal to ``wanted`` (one or a list)."""
    element = values.shape[1:]
    try:
        wanted = np.asarray(wanted, dtype=np.float64)
    except (TypeError, ValueError):
        wanted = None
    if wanted is None or wanted.shape[wanted.ndim - len(element) :] != element:
        what = "a number" if not element else f"an array of shape {element}"
        raise SelectionError(
            f"where: {key} takes {what}, a list of them, or (for numbers) a range "
            f"(lo, hi); received a value of another shape or type."
        )
    wanted = wanted.reshape(-1, *element)
    mask = np.zeros(len(values), dtype=bool)
    if element:
        flat = values.reshape(len(values), -1)
        for want in wanted:
            close = _close(flat, want.reshape(-1)).all(axis=1)
            mask |= _check_found(key, values, want.tolist(), close)
        return mask
    ascending = bool(np.all(values[1:] >= values[:-1]))  # job numbers, often
    order = None if ascending else np.argsort(values, kind="stable")
    ordered = (values if order is None else values[order]).astype(np.float64)
    for want in wanted.tolist():
        slack = MATCH_RTOL * abs(want)
        lo = np.searchsorted(ordered, want - slack, "left")
        hi = np.searchsorted(ordered, want + slack, "right")
        _check_found(key, values, want, np.array(hi > lo))
        mask[slice(lo, hi) if order is None else order[lo:hi]] = True
    return mask


def _ends(key: str, wanted: slice | tuple) -> tuple[float, float]:
    """The ends of a range ``slice(lo, hi)`` or ``(lo, hi)``; None: unbounded."""
    if isinstance(wanted, slice) and wanted.step is not None:
        raise SelectionError(f"where: {key}={wanted!r}: a range has no step; give "
                             f"slice(lo, hi), or list the coordinates.")  # fmt: skip
    ends = (wanted.start, wanted.stop) if isinstance(wanted, slice) else wanted
    if len(ends) != 2:
        raise SelectionError(f"where: {key}={wanted!r}: a tuple is a range (lo, hi); "
                             f"give a list for several coordinates.")  # fmt: skip
    try:
        lo = -np.inf if ends[0] is None else float(ends[0])
        hi = np.inf if ends[1] is None else float(ends[1])
    except (TypeError, ValueError) as err:
        raise SelectionError(f"where: {key}={wanted!r}: a range's ends are "
                             f"numbers or None.") from err  # fmt: skip
    return lo, hi


def _in_range(key: str, values: np.ndarray, wanted: slice | tuple) -> np.ndarray:
    """The mask of numeric coordinates inside the closed range ``wanted``, its
    ends widened as a number is matched (:data:`MATCH_RTOL`)."""
    lo, hi = _ends(key, wanted)
    if values.ndim != 1 or values.dtype.kind not in "iuf":
        raise SelectionError(
            f"where: {key} is not a number, so a range {wanted!r} does not apply; "
            f"give its values (a list), or a range of one element, e.g. "
            f"where={{'{key}[0]': (lo, hi)}}."
        )
    slack = MATCH_RTOL * np.abs([lo, hi])
    return (values >= lo - slack[0]) & (values <= hi + slack[1])


def _close(values: np.ndarray, want: Any) -> np.ndarray:
    """Where ``values`` lie within a relative :data:`MATCH_RTOL` of ``want``."""
    return np.abs(values - want) <= MATCH_RTOL * np.abs(want)


def _check_found(key: str, values: np.ndarray, want: Any, found: np.ndarray) -> Any:
    """``found``; :class:`SelectionError` when it selects nothing."""
    if not found.any():
        raise SelectionError(f"where: {key}={want!r} is not a coordinate; {key} "
                             f"has {_summary(values)}.")  # fmt: skip
    return found


def _summary(values: np.ndarray) -> str:
    """A swept key's coordinates for a message: all of few, a range of many."""
    if values.ndim == 1 and values.dtype.kind in "iuf":
        unique = np.unique(values).tolist()
        if len(unique) > 8:
            return f"{len(unique)} values from {unique[0]!r} to {unique[-1]!r}"
        return repr(unique)
    shown = [v.tolist() if hasattr(v, "tolist") else v for v in values[:6]]
    more = f" and {len(values) - 6} more" if len(values) > 6 else ""
    return f"{shown}{more}"


def positions(jobs: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Where each job number of ``found`` lies in ``jobs`` (a sweep's points).

    Raises:
        LayoutError: a job that is not among ``jobs``.

    Example:
        >>> positions(np.array([4, 2, 7]), np.array([7, 4, 4])).tolist()
        [2, 0, 0]
    """
    jobs, found = np.asarray(jobs), np.asarray(found)
    order = np.argsort(jobs, kind="stable")
    at = np.searchsorted(jobs, found, sorter=order).clip(0, max(len(jobs) - 1, 0))
    missing = (jobs[order[at]] != found) if len(jobs) else np.ones(len(found), bool)
    if missing.any():
        raise LayoutError(
            f"load: job {found[missing][0]} is missing from the table or no point "
            f"of the sweep ({len(jobs)} points); the table does not match "
            f"run.json: run the job again, or read the rows from res.frame."
        )
    return order[at]


def point_values(points: pd.DataFrame, columns: Sequence[str]) -> dict[str, np.ndarray]:
    """Swept key -> its value at each of ``points`` (one row per job): a swept
    vector's element columns (``inputs.1[0]``, ``inputs.1[1]``) joined into one
    array with one more axis.

    Example:
        >>> import pandas as pd
        >>> points = pd.DataFrame({"m": [0.5, 0.7], "x[0]": [1.0, 2.0],
        ...                        "x[1]": [3.0, 4.0]})
        >>> point_values(points, ["m", "x[0]", "x[1]"])["x"].tolist()
        [[1.0, 3.0], [2.0, 4.0]]
    """
    out: dict[str, Any] = {}
    elements: dict[str, list[tuple[tuple[int, ...], Any]]] = {}
    for column in columns:
        match = ELEMENT_COLUMN.match(column)
        if match is None:
            out[column] = points[column].to_numpy()
            continue
        index = tuple(int(i) for i in match["index"].split(","))
        elements.setdefault(match["key"], []).append((index, points[column]))
    for key, cells in elements.items():
        shape = tuple(
            max(ix[d] for ix, _ in cells) + 1 for d in range(len(cells[0][0]))
        )
        values = np.full((len(points), *shape), np.nan)
        for ix, column in cells:
            values[(slice(None), *ix)] = column.to_numpy(dtype=np.float64)
        out[key] = values
    return out


def recorded_coords(layout: Mapping[str, Any]) -> dict[str, np.ndarray] | None:
    """A grid's coordinates as its ``run.json`` records them (``sweep.coords``),
    rounded as the table holds swept values; None when it records none, or
    none that fit its ``keys`` and ``shape`` (read them from the table then).

    Example:
        >>> recorded_coords({"keys": ["model.b"], "shape": [2],
        ...                  "coords": {"model.b": [0.1, 0.30000000000000004]}})
        {'model.b': array([0.1, 0.3])}
        >>> recorded_coords({"keys": ["model.b"], "shape": [2]}) is None
        True
    """
    recorded, coords = layout.get("coords"), {}
    if not isinstance(recorded, Mapping):
        return None
    for n, key in zip(layout["shape"], layout["keys"]):
        try:
            values = np.asarray(recorded[key], dtype=np.float64)
        except (KeyError, TypeError, ValueError):
            return None
        if values.ndim < 1 or len(values) != int(n):
            return None
        coords[key] = round_significant(values, SWEPT_DIGITS)
    return coords
