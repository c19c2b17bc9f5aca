"""Vectorized sweeps: every point of a ``sweep`` block in compiled, batched calls.

An experiment with a ``sweep`` block varies some of its inputs (``inputs.<i>``) and
model Arrays (``model.<path>``, e.g. ``model.current``) over a grid or a zip of
values (:mod:`runner.compute.points`). Points go through ``jax.jit(jax.vmap(...))``
of the same derivative in chunks of ``chunk_size`` points (the last chunk padded,
so one program serves all). :class:`VectorSweep` yields each chunk's rows as soon
as they are computed, in the schema of a multirun's aggregated table, so that a
caller can write them and drop them: memory is bounded by the chunk, not the sweep.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import jax
import numpy as np

import runner.core as bm

from ..config.errors import ConfigError
from ..config.sizes import DEFAULT_BUDGET, parse_bytes
from ..config.spec import DiffSpec, refuse_in_sweep
from .labels import label
from .plan import call, make_plan
from .points import Points
from .rows import Repeated, result_columns, swept_columns

__all__ = ["VectorSweep", "chunk_for_budget", "run_sweep"]

#: Bytes a table row costs while a chunk is labelled and written, besides its
#: swept columns: job, index and value (8 each), six text columns' offsets
#: (4 each) and cells, counted about three times (the computed arrays, the
#: columns, the Arrow table and Parquet's buffers).
_ROW_BYTES = 3 * (3 * 8 + 6 * 4 + 16)
_MAX_CHUNK = 2**20
_MAX_POINTS = 2**32
#: Axes of at most this many values are rounded for the table once, up front.
_ROUNDED_ONCE = 2**16


def chunk_for_budget(budget: int, bytes_per_point: float) -> int:
    """The largest power of two of points whose rows fit in ``budget`` bytes
    (between 1 and 2**20).

    Example:
        >>> chunk_for_budget(256 * 10**6, 17 * 200)
        65536
    """
    fits = max(1, int(budget // max(bytes_per_point, 1.0)))
    return min(_MAX_CHUNK, 2 ** int(math.log2(fits)))


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


class VectorSweep:
    """A vectorized sweep, checked and compiled once, computed chunk by chunk.

    Args:
        model, inputs, diff, method: as for :func:`runner.compute.experiment.compute`.
        params, mode: the sweep (:class:`runner.compute.points.Points`).
        chunk_size: points per compiled call; None chooses it from ``budget``.
        budget: bytes a chunk's rows may use (see :func:`parse_bytes`), when
            ``chunk_size`` is None.

    Attributes:
        points: the sweep's points; ``points.total`` of them.
        chunk_size: the points per chunk; ``chunks`` the number of chunks.

    Raises:
        ConfigError: a bad sweep block, or a spec a sweep does not run.

    Example:
        >>> from runner.models.tutorial import linear
        >>> sweep = VectorSweep(linear, [2.0, 1.0], DiffSpec(), None,
        ...                     {"inputs.0": [1.0, 2.0, 3.0]}, chunk_size=2)
        >>> [(i, cols["job"].tolist()) for i, cols in sweep.run()]
        [(0, [0, 1]), (1, [2])]
    """

    def __init__(
        self,
        model: Any,
        inputs: list[Any],
        diff: DiffSpec,
        method: str | None,
        params: dict[str, Any],
        mode: str = "grid",
        chunk_size: int | None = None,
        budget: Any = DEFAULT_BUDGET,
    ) -> None:
        if chunk_size is not None and (
            isinstance(chunk_size, bool)
            or not isinstance(chunk_size, int)
            or chunk_size < 1
        ):
            raise ConfigError(
                "sweep.chunk_size",
                f"expected an int >= 1 (or null: chosen from sweep.memory_budget), "
                f"received {chunk_size!r}.",
            )
        refuse_in_sweep(diff)
        self.points = Points(params, mode)
        if self.points.total > _MAX_POINTS:  # a point's number must fit its key
            raise ConfigError(
                "sweep",
                f"has {self.points.total:,} points, past {_MAX_POINTS:,} (each "
                f"point's random draws are keyed by its number, a uint32); split "
                f"it into sweeps over parts of a key's values.",
            )
        self._plan = make_plan(model, inputs, diff, method)
        positions, arrays = _targets(model, self._plan.inputs, list(self.points.axes))
        self._positions = positions
        targets = [*(self._plan.inputs[i] for i in positions), *arrays]
        self._dtypes = []
        for (key, values), target in zip(self.points.axes.items(), targets):
            shape = np.shape(target)
            if values.shape[1:] != shape:
                raise ConfigError(
                    f"sweep.{key}",
                    f"each value must have shape {shape} (as the value it "
                    f"replaces), got {values.shape[1:]}.",
                )
            self._dtypes.append(np.asarray(target).dtype)
        # The swept values as the table shows them: rounded once per axis value
        # for short axes; a long one (a zip, a range of vectors) chunk by chunk,
        # so that memory stays bounded by the chunk.
        self._shown = {k: swept_columns(k, v) for k, v in self.points.axes.items()
                       if len(v) <= _ROUNDED_ONCE}  # fmt: skip
        self._generators = _generators(model)
        # One base key per generator, drawn once (so the generators advance once
        # and a fixed seed repeats the sweep); each point folds in its number,
        # so its draws do not depend on the chunk it falls in.
        self._keys = [g.split_key() for g in self._generators]
        self._compiled = jax.jit(jax.vmap(self._point_function(arrays)))
        total = self.points.total
        if chunk_size is None:
            chunk_size = chunk_for_budget(parse_bytes(budget), self._point_bytes())
        self.chunk_size = min(chunk_size, total)
        self.chunks = -(-total // self.chunk_size)
        self._pattern: dict[str, Any] | None = None

    def _point_function(self, arrays: list[bm.Array]) -> Callable[..., Any]:
        plan, positions = self._plan, self._positions
        generators, keys = self._generators, self._keys
        n_inputs = len(positions)

        def point(job: Any, swept: list[Any]) -> Any:
            args = list(plan.inputs)
            for i, value in zip(positions, swept[:n_inputs]):
                args[i] = value
            drawn = [jax.random.fold_in(key, job) for key in keys]
            with bm.substitute([*arrays, *generators], [*swept[n_inputs:], *drawn]):
                return plan.derivative(*args)

        return point

    def _arguments(self, index: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        values = self.points.at(index)
        swept = [v.astype(d) for v, d in zip(values.values(), self._dtypes)]
        return index.astype(np.uint32), swept

    def _point_bytes(self) -> float:
        """Bytes one point's rows cost while they are labelled and written."""
        job, swept = self._arguments(np.zeros(1, dtype=np.int64))
        out = jax.eval_shape(self._compiled, job, swept)
        elements = sum(math.prod(leaf.shape[1:]) for leaf in jax.tree.leaves(out))
        columns = sum(max(1, math.prod(v.shape[1:])) for v in self.points.axes.values())
        return max(elements, 1) * (_ROW_BYTES + 8 * columns)

    def _dispatch(self, chunk: int) -> tuple[int, int, Any]:
        start = chunk * self.chunk_size
        stop = min(start + self.chunk_size, self.points.total)
        index = np.minimum(np.arange(start, start + self.chunk_size), stop - 1)
        return start, stop, call(self._compiled, *self._arguments(index))

    def run(self, chunks: Iterable[int] | None = None) -> Iterator[tuple[int, dict]]:
        """Compute ``chunks`` (default: all, in order); yield ``(chunk, columns)``.

        Columns: ``job`` (the point), one per swept key (one per element of a
        swept vector, :func:`runner.compute.rows.swept_columns`), ``status``,
        ``error``, then :data:`runner.compute.rows.COLUMNS`; text columns are
        :class:`runner.compute.rows.Repeated`.
        """
        for chunk in range(self.chunks) if chunks is None else chunks:
            start, stop, out = self._dispatch(chunk)
            host = jax.tree.map(lambda x, n=stop - start: np.asarray(x)[:n], out)
            yield chunk, self._columns(start, stop, host)

    def table(
        self, on_chunk: Callable[[int, int], None] | None = None
    ) -> dict[str, np.ndarray]:
        """Every chunk's columns (:meth:`run`), joined as numpy arrays: the whole
        table in memory, for sweeps that fit in it.

        Args:
            on_chunk: called with (points done, total) after each chunk.
        """
        parts, total = [], self.points.total
        for chunk, columns in self.run():
            parts.append({k: np.asarray(v) for k, v in columns.items()})
            if on_chunk is not None:
                on_chunk(min((chunk + 1) * self.chunk_size, total), total)
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    @property
    def rows_per_point(self) -> int:
        """The table rows of one point (every point has as many), known before
        any point is computed: the labels of the output's shapes."""
        if self._pattern is None:
            job, swept = self._arguments(np.zeros(1, dtype=np.int64))
            shapes = jax.eval_shape(self._compiled, job, swept)
            zeros = jax.tree.map(lambda s: np.zeros(s.shape, s.dtype), shapes)
            one = [r._replace(array=np.asarray(r.array)[0])
                   for r in label(self._plan, zeros, batch=1)]  # fmt: skip
            self._pattern = result_columns(one)
        return len(self._pattern["value"])

    def _columns(self, start: int, stop: int, out: Any) -> dict[str, Any]:
        n, per_point = stop - start, self.rows_per_point
        pattern = self._pattern or {}
        results = label(self._plan, out, batch=1)
        values = [np.asarray(r.array, dtype=np.float64).reshape(n, -1) for r in results]
        if sum(v.shape[1] for v in values) != per_point:  # labels are shape-only
            raise RuntimeError(
                f"a sweep chunk has {sum(v.shape[1] for v in values)} rows per point "
                f"where its shapes give {per_point}; please report this."
            )
        jobs = np.arange(start, stop, dtype=np.int64)
        columns: dict[str, Any] = {"job": np.repeat(jobs, per_point)}
        along = self.points.along(jobs)
        for key, axis in self.points.axes.items():
            shown = self._shown.get(key) or swept_columns(key, axis[along[key]])
            at = along[key] if key in self._shown else slice(None)
            columns.update({name: np.repeat(column[at], per_point)
                            for name, column in shown.items()})  # fmt: skip
        columns["status"] = Repeated(["ok"] * per_point, n)
        columns["error"] = Repeated([""] * per_point, n)
        for name in ("quantity", "wrt", "output", "shape"):
            columns[name] = Repeated(pattern[name], n)
        columns["index"] = np.tile(pattern["index"], n)
        columns["value"] = (
            np.concatenate(values, axis=1).reshape(-1)
            if values
            else np.array([], dtype=np.float64)
        )
        return columns


def run_sweep(
    model: Any,
    inputs: list[Any],
    diff: DiffSpec,
    method: str | None,
    params: dict[str, Any],
    mode: str = "grid",
    chunk_size: int | None = 1024,
    on_chunk: Callable[[int, int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Evaluate the derivative at every point of the sweep; return the whole table.

    For sweeps that fit in memory; :class:`VectorSweep` streams chunks instead.

    Args:
        model, inputs, diff, method: as for :func:`runner.compute.experiment.compute`.
        params, mode: the sweep (see :class:`runner.compute.points.Points`).
        chunk_size: points per compiled call (bounds the compiled program's memory).
        on_chunk: called with (points done, total) after each chunk.

    Returns:
        The columns of :meth:`VectorSweep.run`, joined, as numpy arrays.

    Example:
        >>> from runner.models.tutorial import linear
        >>> cols = run_sweep(linear, [2.0, 1.0], DiffSpec(), None,
        ...                  {"inputs.0": [1.0, 2.0, 3.0]})
        >>> cols["job"].tolist(), cols["inputs.0"].tolist(), cols["value"].tolist()
        ([0, 1, 2], [1.0, 2.0, 3.0], [2.0, 2.0, 2.0])
    """
    sweep = VectorSweep(model, inputs, diff, method, params, mode, chunk_size)
    return sweep.table(on_chunk)
