"""A job with a ``sweep`` block: chunks computed, written and dropped as they come.

Each chunk of points becomes one part of the Parquet dataset ``results.parquet/``
(:mod:`runner.results.dataset`) as soon as it is computed, so memory is bounded by
the chunk, not the sweep. ``run.json`` records the dataset's layout (chunks,
points, rows) and the grid's coordinates before the first chunk is computed; a
part that exists is a chunk that is done, so a run killed at any moment and run
again with ``resume=true`` computes only the missing chunks. The CSV table, the
non-finite check and the plot are then made from the dataset, batch by batch.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ..compute.nonfinite import count_nonfinite as count_in
from ..compute.points import describe, sweep_params
from ..compute.rows import SWEPT_DIGITS, round_significant
from ..compute.vsweep import VectorSweep
from ..config.build import build_experiment
from ..config.errors import CheckError, ConfigError
from ..config.spec import Spec, to_spec
from ..config.sweep_schema import Executor, SweepConfig
from ..results.dataset import (
    DATASET,
    count_nonfinite,
    discard_dataset,
    parts_done,
    reduced_frame,
    write_csv,
    write_part,
)
from ..results.record import write_run
from ..results.tables import table_file

__all__ = ["MAX_COORDS", "WRITERS", "build_sweep", "count_chunk", "run_vectorized"]

#: A grid's coordinates are recorded in ``run.json`` up to this many values.
MAX_COORDS = 100_000


def _coords(sweep: VectorSweep) -> dict[str, Any] | None:
    """Each key's values along its own axis (a grid's), as lists, or None."""
    points = sweep.points
    if points.mode != "grid" or sum(map(len, points.axes.values())) > MAX_COORDS:
        return None
    return {key: round_significant(values, SWEPT_DIGITS).tolist()
            for key, values in points.axes.items()}  # fmt: skip


def _layout(sweep: VectorSweep) -> dict[str, int]:
    total = sweep.points.total
    return {"parts": sweep.chunks, "chunk_size": sweep.chunk_size, "points": total,
            "rows": total * sweep.rows_per_point}  # fmt: skip


def _check_csv(spec: Spec, rows: int) -> bool:
    """Whether the CSV table is written; refuse a CSV-only sweep past the limit."""
    output = spec.output
    limit = output.csv_max_rows
    if "csv" not in output.formats or limit is None or rows <= limit:
        return "csv" in output.formats
    if "parquet" not in output.formats:
        raise ConfigError(
            "output.csv_max_rows",
            f"the sweep's table has {rows:,} rows, past {limit:,}, and output."
            f"formats holds csv only; add parquet to output.formats (the table is "
            f"then the Parquet dataset {DATASET}/ alone) or raise output."
            f"csv_max_rows.",
        )
    return False


def _kept_parts(
    dataset: Path, prior: dict[str, Any] | None, layout: dict[str, int]
) -> list[int]:
    """The parts of an earlier run of the same config and layout (to resume)."""
    earlier = ((prior or {}).get("sweep") or {}).get("dataset")
    if earlier != layout:
        return []
    return [c for c in parts_done(dataset) if c < layout["parts"]]


def run_vectorized(
    spec: Spec,
    plain_config: dict[str, Any],
    args: tuple[Any, ...],
    output_dir: Path,
    record: dict[str, Any],
    resume_from: dict[str, Any] | None = None,
    on_chunk: Any = None,
) -> dict[str, Any]:
    """Compute and write the sweep of ``spec`` into ``output_dir``.

    Args:
        spec: the validated spec (``spec.sweep`` sweeps something).
        plain_config: the plain config it was validated from (what Ray workers
            build the sweep from).
        args: the built ``(model, inputs, diff, method)``.
        output_dir: the job's directory.
        record: the job's ``run.json`` record (``status: running``); gets the
            ``sweep`` node (layout and coordinates) and is written before the
            first chunk.
        resume_from: the earlier record of this config, whose parts are kept
            when its layout is the same (``resume=true``); None starts afresh.
        on_chunk: called with (points done, total) after each chunk.

    Returns:
        ``points``, ``rows`` and ``csv`` (whether ``results.csv`` was written).

    Raises:
        ConfigError: a bad sweep block.
        CheckError: NaN/Inf values with ``output.fail_on_nonfinite``.
    """
    sweep = _sweep(spec, args)
    layout = _layout(sweep)
    csv = _check_csv(spec, layout["rows"])
    dataset = Path(output_dir) / DATASET
    kept = _kept_parts(dataset, resume_from, layout)
    discard_dataset(dataset, keep=kept)
    sweep_cfg = spec.sweep or SweepConfig()
    block = {"inputs": sweep_cfg.inputs, "model": sweep_cfg.model,
             "mode": sweep_cfg.mode.value}  # fmt: skip
    record["sweep"] = {**describe(block), "dataset": layout}
    coords = _coords(sweep)
    if coords is not None:
        record["sweep"]["coords"] = coords
    write_run(output_dir, record)
    if kept:
        print(f"resume: {len(kept)} of {sweep.chunks} chunk(s) already written; "
              f"computing the other {sweep.chunks - len(kept)}.")  # fmt: skip
    total = sweep.points.total
    size = lambda c: min(sweep.chunk_size, total - c * sweep.chunk_size)  # noqa: E731
    done = sum(map(size, kept))
    bad = count_nonfinite(dataset, chunks=kept)
    todo = sorted(set(range(sweep.chunks)) - set(kept))

    def chunk_done(chunk: int, nonfinite: int) -> None:
        nonlocal bad, done
        bad, done = bad + nonfinite, done + size(chunk)
        if on_chunk is not None:
            on_chunk(done, total)

    if sweep_cfg.executor is Executor.ray:
        from .distributed import run_on_ray

        plain = {**plain_config, "sweep": {**plain_config["sweep"],
                                           "chunk_size": sweep.chunk_size}}  # fmt: skip
        run_on_ray(plain, dataset, todo, sweep_cfg.ray, chunk_done)
    else:
        _write_parts(sweep.run(todo), dataset, chunk_done)
    _nonfinite(bad, spec.output.fail_on_nonfinite)
    if csv:
        write_csv(dataset, Path(output_dir) / table_file("csv"), spec.output.precision)
    elif "csv" in spec.output.formats:
        print(f"note: results.csv not written: the sweep's table has "
              f"{layout['rows']:,} rows, past output.csv_max_rows="
              f"{spec.output.csv_max_rows:,}; read {DATASET}/ with runner.results."
              f"load, or raise output.csv_max_rows.", file=sys.stderr)  # fmt: skip
    if spec.output.plots:
        reduced = reduced_frame(dataset)
        if reduced is not None:
            from .sweep import draw_sweep

            draw_sweep(Path(output_dir), *reduced)
    if "parquet" not in spec.output.formats:
        discard_dataset(dataset)
    return {"points": total, "rows": layout["rows"], "csv": csv,
            "dataset": dataset}  # fmt: skip


#: Threads writing parts while the next chunk is computed and labelled (Parquet
#: and Arrow release the GIL): 1M points of the tutorial's sweep, 3.97 s in the
#: loop, 3.70 s with one writer, 2.32 s with two (benchmarks/sweep_overlap.py).
WRITERS = 2


def _write_parts(
    chunks: Iterator[tuple[int, dict[str, Any]]],
    dataset: Path,
    chunk_done: Callable[[int, int], None],
) -> None:
    """Write each computed chunk's part in a writer thread, at most
    :data:`WRITERS` chunks waiting (so memory stays a few chunks'); report each
    chunk done, in order, once its part is written."""
    with ThreadPoolExecutor(WRITERS, thread_name_prefix="runner-part") as pool:
        waiting: deque[tuple[int, int, Future[Path]]] = deque()
        try:
            for chunk, columns in chunks:
                while len(waiting) >= WRITERS:
                    done, bad, future = waiting.popleft()
                    future.result()
                    chunk_done(done, bad)
                future = pool.submit(write_part, dataset, chunk, columns)
                waiting.append((chunk, count_chunk(columns), future))
            while waiting:
                done, bad, future = waiting.popleft()
                future.result()
                chunk_done(done, bad)
        except BaseException:
            for _, _, future in waiting:  # a part half done is a temp file
                future.cancel()
            raise


def _sweep(spec: Spec, args: tuple[Any, ...]) -> VectorSweep:
    """The :class:`VectorSweep` of ``spec``'s sweep block over the built ``args``."""
    sweep = spec.sweep or SweepConfig()
    block = {"inputs": sweep.inputs, "model": sweep.model}
    return VectorSweep(*args, sweep_params(block), sweep.mode.value,
                       sweep.chunk_size, sweep.memory_budget)  # fmt: skip


def build_sweep(plain: dict[str, Any]) -> VectorSweep:
    """The sweep of a plain config, built (seeded) as a job builds it: what a
    worker computes its chunks with.

    Example:
        >>> plain = {"model": {"_target_": "runner.models.tutorial.linear"},
        ...          "inputs": [2.0, 1.0], "sweep": {"inputs": {"1": [1.0, 2.0]}}}
        >>> build_sweep(plain).points.total
        2
    """
    spec = to_spec(plain)
    return _sweep(spec, build_experiment(spec))


def count_chunk(columns: dict[str, Any]) -> int:
    """NaN/Inf values of a chunk's float columns (``value``, the swept ones).

    Example:
        >>> count_chunk({"value": np.array([1.0, np.nan]), "job": np.array([0, 0])})
        1
    """
    return sum(count_in(c) for c in columns.values()
               if isinstance(c, np.ndarray) and c.dtype.kind == "f")  # fmt: skip


def _nonfinite(bad: int, fail: bool) -> None:
    """Warn about (or, with ``fail``, refuse) NaN/Inf values in a sweep's table:
    every number it holds (``value`` and the swept columns)."""
    if not bad:
        return
    if fail:
        raise CheckError(
            "output.fail_on_nonfinite",
            f"the sweep's table holds {bad} NaN/Inf value(s); move the swept values "
            f"away from singular points or set output.fail_on_nonfinite=false.",
        )
    print(f"warning: the sweep's table holds {bad} NaN/Inf value(s); "
          f"output.fail_on_nonfinite=true makes this an error.",
          file=sys.stderr)  # fmt: skip
