"""A vectorized sweep's table on disk: a Parquet dataset written chunk by chunk.

``results.parquet/`` is a directory of ``part-000000.parquet``, ``part-000001
.parquet``, ... one per chunk of points, all in one schema (that of
:mod:`runner.compute.rows`, rows point-major, ``job`` ascending). Each part is
written to a hidden temp file and renamed, so a part that exists is complete: the
file is the record that its chunk is done, and a resumed sweep computes only the
chunks whose part is missing. Readers (pyarrow and pandas read the directory as
one table) skip the hidden temp files of a part being written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..compute.nonfinite import count_nonfinite as count_in
from ..compute.rows import swept_names
from .tables import (
    TABLE_STEM,
    atomic_write,
    is_temp_of,
    table_file,
    write_csv_batches,
)

__all__ = ["DATASET", "PLOTTED", "batches", "count_nonfinite", "discard_dataset",
           "foreign_entries", "part_name", "parts_done", "reduced_frame",
           "write_csv", "write_part"]  # fmt: skip

#: The dataset directory, named as a single-file table: ``pandas.read_parquet``
#: and ``pyarrow.dataset`` read either.
DATASET = table_file("parquet", TABLE_STEM)

#: The quantities a sweep plot draws (:func:`runner.results.plots.plot_sweep`).
PLOTTED = ("grad", "eigenvalue_real", "eigenvalue_imag")

_PART = re.compile(r"^part-(\d{6,})\.parquet$")


def _is_part_temp(name: str) -> bool:
    """A temp file of a part being written (or killed while written)."""
    part = name[1:].rsplit(".", 2)[0] if name.startswith(".") else ""
    return bool(_PART.match(part)) and is_temp_of(name, part)


def part_name(chunk: int) -> str:
    """The file of chunk ``chunk`` in the dataset.

    Example:
        >>> part_name(3)
        'part-000003.parquet'
    """
    return f"part-{int(chunk):06d}.parquet"


def write_part(dataset: Path, chunk: int, columns: Mapping[str, Any]) -> Path:
    """Write one chunk's rows as its part of ``dataset`` (created if missing).

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp()) / DATASET
        >>> write_part(d, 0, {"job": np.array([0]), "value": np.array([1.5])}).name
        'part-000000.parquet'
        >>> parts_done(d)
        [0]
    """
    import pyarrow.parquet as pq

    from .tables import arrow_table

    dataset = Path(dataset)
    dataset.mkdir(exist_ok=True)
    path = dataset / part_name(chunk)
    table = arrow_table(columns)
    text = [f.name for f in table.schema if f.type == "string"]
    # Dictionaries for the text columns only (a few distinct labels): numbers
    # would fill a dictionary page and fall back, at a cost for nothing.
    atomic_write(path, lambda p: pq.write_table(table, p, use_dictionary=text))
    return path


def parts_done(dataset: Path) -> list[int]:
    """The chunks whose part ``dataset`` holds, in order.

    Example:
        >>> parts_done(Path("no-such-dir"))
        []
    """
    dataset = Path(dataset)
    if not dataset.is_dir():
        return []
    found = (_PART.match(p.name) for p in dataset.iterdir())
    return sorted(int(m[1]) for m in found if m)


def foreign_entries(dataset: Path) -> list[str]:
    """Entries of ``dataset`` the runner did not write (neither parts nor their
    temp files), which a run must not remove.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> _ = (d / "notes.txt").write_text("mine")
        >>> foreign_entries(d)
        ['notes.txt']
    """
    dataset = Path(dataset)
    if not dataset.is_dir():
        return []
    return sorted(
        p.name
        for p in dataset.iterdir()
        if not ((_PART.match(p.name) or _is_part_temp(p.name)) and p.is_file())
    )


def discard_dataset(dataset: Path, keep: Sequence[int] = ()) -> None:
    """Remove the parts of ``dataset`` (but those of chunks ``keep``) and temp files
    of parts being written; remove the directory when nothing else is left.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp()) / DATASET
        >>> _ = write_part(d, 0, {"value": np.array([1.0])})
        >>> discard_dataset(d); d.exists()
        False
    """
    dataset = Path(dataset)
    if not dataset.is_dir() or dataset.is_symlink():
        return
    kept = {part_name(c) for c in keep}
    for path in dataset.iterdir():
        ours = _PART.match(path.name) or _is_part_temp(path.name)
        if ours and path.name not in kept and path.is_file():
            path.unlink(missing_ok=True)
    if not any(dataset.iterdir()):
        dataset.rmdir()


def batches(
    dataset: Path,
    columns: Sequence[str] | None = None,
    batch_size: int = 2**16,
    chunks: Sequence[int] | None = None,
) -> Iterator[Any]:
    """The dataset's rows as Arrow record batches, part by part, in job order.

    Args:
        dataset: the directory.
        columns: the columns to read (default: all).
        batch_size: rows per batch at most.
        chunks: the parts to read (default: every part there is).

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp()) / DATASET
        >>> for chunk in (1, 0):
        ...     _ = write_part(d, chunk, {"job": np.array([chunk])})
        >>> [b.column("job").to_pylist() for b in batches(d)]
        [[0], [1]]
    """
    import pyarrow.parquet as pq

    for chunk in parts_done(dataset) if chunks is None else sorted(chunks):
        with pq.ParquetFile(Path(dataset) / part_name(chunk)) as part:
            yield from part.iter_batches(batch_size=batch_size, columns=columns)


def count_nonfinite(dataset: Path, chunks: Sequence[int] | None = None) -> int:
    """The NaN and Inf values of the dataset's float columns (``value`` and the
    swept ones), in the parts of ``chunks`` (default: all), read batch by batch.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp()) / DATASET
        >>> _ = write_part(d, 0, {"value": np.array([1.0, np.nan, np.inf])})
        >>> count_nonfinite(d), count_nonfinite(d, chunks=[])
        (2, 0)
    """
    bad = 0
    for batch in batches(dataset, chunks=chunks):
        for column in batch.columns:
            values = column.to_numpy(zero_copy_only=False)
            if values.dtype.kind == "f":
                bad += count_in(values)
    return bad


def reduced_frame(dataset: Path, max_points: int = 2048) -> tuple[Any, int] | None:
    """What a sweep plot draws, read in bounded memory: the rows of every
    ``step``-th point (at most ``max_points`` points, the last one included) whose
    quantity a plot shows; None when not exactly one column is swept (a plot of
    one key against the derivative draws nothing else).

    Returns:
        ``(frame, step)``: a ``pandas.DataFrame`` and the step between points.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp()) / DATASET
        >>> _ = write_part(d, 0, {"job": np.arange(5), "model.a": np.arange(5.0),
        ...     "status": ["ok"] * 5, "quantity": ["grad"] * 5, "value": np.ones(5)})
        >>> frame, step = reduced_frame(d, max_points=2)
        >>> frame["job"].tolist(), step
        ([0, 3, 4], 3)
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    done = parts_done(dataset)
    if not done:
        return None
    schema = pq.read_schema(Path(dataset) / part_name(done[0]))
    if len(swept_names(schema.names)) != 1:
        return None
    with pq.ParquetFile(Path(dataset) / part_name(done[-1])) as last:
        jobs = last.read(columns=["job"]).column("job").to_numpy()
    total = int(jobs.max()) + 1 if len(jobs) else 0
    step = max(1, -(-total // max_points))
    kept = []
    for batch in batches(dataset):
        job = batch.column("job").to_numpy()
        quantity = batch.column("quantity").to_numpy(zero_copy_only=False)
        keep = ((job % step == 0) | (job == total - 1)) & np.isin(quantity, PLOTTED)
        if keep.any():
            kept.append(batch.filter(pa.array(keep)))
    if not kept:
        return None
    return pa.Table.from_batches(kept, schema=schema).to_pandas(), step


def write_csv(dataset: Path, path: Path, precision: int | None = None) -> None:
    """Write the whole dataset as one CSV file, batch by batch (in bounded
    memory), floats rounded to ``precision`` significant digits.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp()) / DATASET
        >>> _ = write_part(d, 0, {"job": np.array([0]), "value": np.array([1 / 3])})
        >>> write_csv(d, d.parent / "results.csv", precision=3)
        >>> (d.parent / "results.csv").read_text().split()
        ['"job","value"', '0,0.333']
    """
    import pyarrow.parquet as pq

    first = parts_done(dataset)[0]
    schema = pq.read_schema(Path(dataset) / part_name(first))
    write_csv_batches(batches(dataset), schema, path, precision)
