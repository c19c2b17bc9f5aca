"""Vectorized sweeps: every point of a ``sweep`` block in one compiled, batched call.

An experiment with a ``sweep`` block varies some of its inputs (``inputs.<i>``) and
model Arrays (``model.<path>``, e.g. ``model.current``) over a grid or a zip of
values. All points go through ``jax.jit(jax.vmap(...))`` of the same derivative, in
chunks of ``chunk_size`` points (the last chunk padded, so one program serves all),
and come back as one table in the schema of a multirun's aggregated table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np

import runner.core as bm

from ..config.errors import ConfigError
from ..config.spec import DiffSpec, refuse_in_sweep
from .labels import label
from .plan import call, make_plan
from .rows import result_columns, swept_columns

__all__ = ["describe", "expand", "layout", "run_sweep", "sweep_params"]


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


def expand(params: dict[str, Any], mode: str = "grid") -> dict[str, np.ndarray]:
    """Every point of the sweep: one array per key, points along the first axis.

    Args:
        params: swept key -> values (list, or ``{start, stop, num}``).
        mode: ``grid`` (all combinations, last key fastest) or ``zip`` (in step).

    Returns:
        Key -> values at each point.

    Raises:
        ConfigError: empty or malformed values, or unequal lengths for ``zip``.

    Example:
        >>> pts = expand({"a": [1.0, 2.0], "b": {"start": 0, "stop": 1, "num": 3}})
        >>> pts["a"].tolist(), pts["b"].tolist()
        ([1.0, 1.0, 1.0, 2.0, 2.0, 2.0], [0.0, 0.5, 1.0, 0.0, 0.5, 1.0])
    """
    if not params:
        raise ConfigError(
            "sweep",
            "sweeps nothing; add values under sweep.inputs.<i> or sweep.model.<path>.",
        )
    values = {k: _values(k, v) for k, v in params.items()}
    lengths = [len(v) for v in values.values()]
    if mode == "zip":
        if len(set(lengths)) != 1:
            counts = dict(zip(values, lengths))
            raise ConfigError(
                "sweep.mode",
                f"zip needs equally many values per key, got {counts}; use "
                f"mode=grid or equal lengths.",
            )
        return values
    if mode != "grid":
        raise ConfigError("sweep.mode", f"expected grid or zip, received {mode!r}.")
    index = _allocate("sweep", np.indices, lengths).reshape(len(lengths), -1)
    return {k: v[i] for (k, v), i in zip(values.items(), index)}


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


def _targets(
    model: Any, inputs: list[Any], keys: Sequence[str]
) -> tuple[list[int], list[bm.Array]]:
    """Split swept keys into input positions and model Arrays."""
    positions, arrays = [], []
    for key in keys:
        head, _, rest = key.partition(".")
        if head == "inputs" and rest.isdigit() and int(rest) < len(inputs):
            positions.append(int(rest))
            continue
        if head == "model" and rest and isinstance(model, bm.Base):
            node: Any = model
            for part in rest.split("."):
                node = getattr(node, part, None)
            if isinstance(node, bm.Array):
                arrays.append(node)
                continue
        raise ConfigError(
            f"sweep.{key}",
            f"expected inputs.<i> (i < {len(inputs)}) or model.<path> naming an Array "
            f"of the model; sweep other keys with -m (one job per point).",
        )
    return positions, arrays


def _generators(model: Any) -> list[bm.random.RandomState]:
    """The default generator and every ``RandomState`` the model holds."""
    found = [bm.random.DEFAULT]
    if isinstance(model, bm.Base):
        found += [a for _, a in bm.iter_arrays(model)
                  if isinstance(a, bm.random.RandomState)]  # fmt: skip
    return list({id(g): g for g in found}.values())


def run_sweep(
    model: Any,
    inputs: list[Any],
    diff: DiffSpec,
    method: str | None,
    params: dict[str, Any],
    mode: str = "grid",
    chunk_size: int = 1024,
    on_chunk: Callable[[int, int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Evaluate the derivative at every point of the sweep; return the table.

    Args:
        model, inputs, diff, method: as for :func:`runner.compute.experiment.compute`.
        params, mode: the sweep (see :func:`expand`).
        chunk_size: points per compiled call (bounds memory).
        on_chunk: called with (points done, total) after each chunk.

    Returns:
        Columns: ``job`` (the point), one per swept key (one per element of a
        swept vector, see :func:`runner.compute.rows.swept_columns`), ``status``,
        ``error``, then :data:`runner.compute.rows.COLUMNS`.

    Example:
        >>> from runner.models.tutorial import linear
        >>> cols = run_sweep(linear, [2.0, 1.0], DiffSpec(), None,
        ...                  {"inputs.0": [1.0, 2.0, 3.0]})
        >>> cols["job"].tolist(), cols["inputs.0"].tolist(), cols["value"].tolist()
        ([0, 1, 2], [1.0, 2.0, 3.0], [2.0, 2.0, 2.0])
    """
    if (
        isinstance(chunk_size, bool)
        or not isinstance(chunk_size, int)
        or chunk_size < 1
    ):
        raise ConfigError(
            "sweep.chunk_size", f"expected an int >= 1, got {chunk_size!r}."
        )
    refuse_in_sweep(diff)
    points = expand(params, mode)
    prepared = make_plan(model, inputs, diff, method)
    positions, arrays = _targets(model, prepared.inputs, list(points))
    batched = []
    for key, target in zip(points, [*(prepared.inputs[i] for i in positions), *arrays]):
        dtype, shape = np.asarray(target).dtype, np.shape(target)
        values = points[key].astype(dtype)
        if values.shape[1:] != shape:
            raise ConfigError(
                f"sweep.{key}",
                f"each value must have shape {shape} (as the value it replaces), got "
                f"{values.shape[1:]}.",
            )
        batched.append(values)
    n_inputs = len(positions)
    total = len(next(iter(points.values())))
    generators = _generators(model)
    # One key per point and generator: every point draws its own numbers, and the
    # generators advance once, so a fixed seed repeats the whole sweep.
    batched += [np.asarray(jax.random.split(g.split_key(), total)) for g in generators]

    def point(swept: list[Any]) -> Any:
        args = list(prepared.inputs)
        for i, value in zip(positions, swept[:n_inputs]):
            args[i] = value
        with bm.substitute([*arrays, *generators], swept[n_inputs:]):
            return prepared.derivative(*args)

    compiled = jax.jit(jax.vmap(point))
    size = min(chunk_size, total)
    chunks = []
    for start in range(0, total, size):
        index = np.minimum(np.arange(start, start + size), total - 1)  # pad the last
        out = call(compiled, [b[index] for b in batched])
        chunks.append(jax.device_get(out))
        if on_chunk is not None:
            on_chunk(min(start + size, total), total)
    out = jax.tree_util.tree_map(lambda *xs: np.concatenate(xs)[:total], *chunks)
    table = result_columns(label(prepared, out, batch=1), points=total)
    per_point = len(table["value"]) // total
    columns: dict[str, Any] = {"job": np.repeat(np.arange(total), per_point)}
    for key, values in points.items():
        swept = swept_columns(key, values)
        columns.update({name: np.repeat(v, per_point) for name, v in swept.items()})
    columns["status"] = np.full(total * per_point, "ok", dtype=object)
    columns["error"] = np.full(total * per_point, "", dtype=object)
    return {**columns, **table}
