"""The points of a vectorized sweep: the values of each swept key at each point.

A ``sweep`` block lists values per key (a list, or a range ``{start, stop, num}``
or ``{start, stop, step}``); ``grid`` mode takes every combination (last key
fastest), ``zip`` mode takes them in step. :class:`Points` gives the values of any
run of points without building the others, so a sweep of 10^8 points costs
memory only for the chunk at hand.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..config.errors import ConfigError

__all__ = ["Points", "describe", "expand", "layout", "sweep_params"]


def _values(key: str, spec: Any) -> np.ndarray:
    """The values of one swept key: a list, or a range node."""
    where = f"sweep.{key}"
    if isinstance(spec, dict):
        return _range(where, spec)
    if not isinstance(spec, (list, tuple)) or not spec:
        raise ConfigError(
            where,
            f"expected a non-empty list of values or a range {{start, stop, num}}, "
            f"received {spec!r}.",
        )
    return _numbers(where, spec)


def _numbers(where: str, spec: Any) -> np.ndarray:
    try:
        values = np.asarray(spec, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ConfigError(
            where,
            f"expected numbers or equal-shaped lists of them, received {spec!r} "
            f"({err}).",
        ) from err
    if not np.isfinite(values).all():
        raise ConfigError(where, f"contains NaN or Inf ({spec!r}); give finite values.")
    return values


_RANGE = (
    "a range is {start, stop, num} (num points, ends included) or {start, stop, step}"
)


def _range(where: str, spec: dict[str, Any]) -> np.ndarray:
    """``{start, stop, num}`` (linspace) or ``{start, stop, step}`` (arange)."""
    unknown = sorted(set(spec) - {"start", "stop", "num", "step"})
    if unknown:
        raise ConfigError(
            f"{where}.{unknown[0]}", f"unknown key of a range; {_RANGE}; fix its name."
        )
    if not {"start", "stop"} <= spec.keys() or ("num" in spec) == ("step" in spec):
        raise ConfigError(
            where, f"received {spec}; {_RANGE}; give start, stop and num or step."
        )
    start = _numbers(f"{where}.start", spec["start"])
    stop = _numbers(f"{where}.stop", spec["stop"])
    if start.shape != stop.shape:
        raise ConfigError(
            where,
            f"start has shape {start.shape} but stop {stop.shape}; give them equally "
            f"many values (one per element of the swept input).",
        )
    if "num" in spec:
        num = spec["num"]
        if isinstance(num, bool) or not isinstance(num, int) or num < 1:
            raise ConfigError(
                f"{where}.num",
                f"expected a whole number of points >= 1, received {num!r}; e.g. "
                f"num: 10.",
            )
        return _allocate(f"{where}.num", np.linspace, start, stop, num)
    step = _numbers(f"{where}.step", spec["step"])
    if start.ndim or step.ndim or step == 0 or (stop - start) / step <= 0:
        raise ConfigError(
            f"{where}.step",
            f"expected a number that leads from start {spec['start']} toward stop "
            f"{spec['stop']}, received {spec['step']!r} (for lists, use num).",
        )
    return _allocate(f"{where}.step", np.arange, start, stop, step)


def _allocate(key: str, make: Callable[..., np.ndarray], *args: Any) -> np.ndarray:
    try:
        return make(*args)
    except MemoryError as err:  # numpy says how much it asked for
        raise ConfigError(
            key, f"asks for more memory than there is ({err}); sweep fewer points."
        ) from err


class Points:
    """The points of a sweep, each run of them built on demand.

    Args:
        params: swept key -> values (list, or ``{start, stop, num}``).
        mode: ``grid`` (all combinations, last key fastest) or ``zip`` (in step).

    Attributes:
        axes: key -> its values along its own axis (``zip``: at each point).
        shape: one length per key for ``grid``, one for ``zip``.
        total: the number of points.

    Raises:
        ConfigError: empty or malformed values, or unequal lengths for ``zip``.

    Example:
        >>> pts = Points({"a": [1.0, 2.0], "b": {"start": 0, "stop": 1, "num": 3}})
        >>> pts.shape, pts.total
        ([2, 3], 6)
        >>> {k: v.tolist() for k, v in pts.at(np.array([4, 5])).items()}
        {'a': [2.0, 2.0], 'b': [0.5, 1.0]}
        >>> {k: v.tolist() for k, v in pts.along(np.array([4, 5])).items()}
        {'a': [1, 1], 'b': [1, 2]}
    """

    def __init__(self, params: dict[str, Any], mode: str = "grid") -> None:
        if not params:
            raise ConfigError(
                "sweep",
                "sweeps nothing; add values under sweep.inputs.<i> or "
                "sweep.model.<path>.",
            )
        if mode not in ("grid", "zip"):
            raise ConfigError("sweep.mode", f"expected grid or zip, received {mode!r}.")
        self.mode = mode
        self.axes = {k: _values(k, v) for k, v in params.items()}
        lengths = [len(v) for v in self.axes.values()]
        if mode == "zip" and len(set(lengths)) != 1:
            counts = dict(zip(self.axes, lengths))
            raise ConfigError(
                "sweep.mode",
                f"zip needs equally many values per key, got {counts}; use "
                f"mode=grid or equal lengths.",
            )
        self.shape = lengths if mode == "grid" else lengths[:1]
        self.total = math.prod(self.shape)

    def along(self, index: np.ndarray) -> dict[str, np.ndarray]:
        """Key -> the position in its :attr:`axes` values of each point of
        ``index`` (point numbers)."""
        index = np.asarray(index, dtype=np.int64)
        if self.mode == "zip":
            return dict.fromkeys(self.axes, index)
        return dict(zip(self.axes, np.unravel_index(index, self.shape)))

    def at(self, index: np.ndarray) -> dict[str, np.ndarray]:
        """Key -> its value at each point of ``index`` (point numbers)."""
        return {k: self.axes[k][i] for k, i in self.along(index).items()}


def expand(params: dict[str, Any], mode: str = "grid") -> dict[str, np.ndarray]:
    """Every point of the sweep: one array per key, points along the first axis.

    Args:
        params: swept key -> values (list, or ``{start, stop, num}``).
        mode: ``grid`` (all combinations, last key fastest) or ``zip`` (in step).

    Returns:
        Key -> values at each point.

    Raises:
        ConfigError: as :class:`Points`, or more points than memory holds.

    Example:
        >>> pts = expand({"a": [1.0, 2.0], "b": {"start": 0, "stop": 1, "num": 3}})
        >>> pts["a"].tolist(), pts["b"].tolist()
        ([1.0, 1.0, 1.0, 2.0, 2.0, 2.0], [0.0, 0.5, 1.0, 0.0, 0.5, 1.0])
    """
    points = Points(params, mode)
    index = _allocate("sweep", np.arange, points.total)
    return points.at(index)


def layout(params: dict[str, Any], mode: str = "grid") -> list[int]:
    """The shape of the sweep's points: one axis per key for ``grid`` (in the order
    of ``params``), one axis for ``zip``.

    Example:
        >>> layout({"a": [1.0, 2.0], "b": {"start": 0, "stop": 1, "num": 3}})
        [2, 3]
        >>> layout({"a": [1.0, 2.0], "b": [0.0, 1.0]}, "zip")
        [2]
    """
    lengths = [len(_values(k, v)) for k, v in params.items()]
    return lengths if mode == "grid" else lengths[:1]


def sweep_params(sweep: dict[str, Any]) -> dict[str, Any]:
    """The swept keys of a ``sweep`` block (``inputs.<i>``, ``model.<path>``).

    Example:
        >>> sweep_params({"inputs": {"1": [1.0, 2.0]}, "model": {"b": [0.1]}})
        {'inputs.1': [1.0, 2.0], 'model.b': [0.1]}
    """
    params = {f"inputs.{k}": v for k, v in (sweep.get("inputs") or {}).items()}
    params.update({f"model.{k}": v for k, v in (sweep.get("model") or {}).items()})
    return params


def describe(sweep: dict[str, Any]) -> dict[str, Any]:
    """How a ``sweep`` block's points lie: ``mode``, ``keys`` and ``shape`` (as
    recorded in ``run.json``, for :func:`runner.results.load`).

    Example:
        >>> describe({"model": {"b": [0.1, 0.2]}, "inputs": {"0": [1.0, 2.0, 3.0]}})
        {'mode': 'grid', 'keys': ['inputs.0', 'model.b'], 'shape': [3, 2]}
    """
    params, mode = sweep_params(sweep), sweep.get("mode", "grid")
    return {"mode": mode, "keys": list(params), "shape": layout(params, mode)}
