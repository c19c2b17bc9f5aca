"""Reading a results table lazily: only the columns and rows a call needs.

A results table is one Parquet file, a Parquet dataset (a directory of part
files, ``part-000000.parquet``, ``part-000001.parquet``, ..., one per chunk of a
large vectorized sweep's points; names starting with ``.`` or ``_`` are skipped)
or a table in memory (a CSV, read whole). :class:`Scan` opens each as a
``pyarrow.dataset`` and reads a projection of its columns with a filter pushed
into the scan; a sweep's points are picked by job number, so that only the part
files that hold them are opened. :func:`check_layout` checks that the rows of
one quantity make one array.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config.errors import RunnerError
from .dataset import part_name
from .tables import TEXT_COLUMNS, table_file

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["LayoutError", "Scan", "check_layout", "find_table", "label_filter",
           "normalize_frame"]  # fmt: skip

LABELS = ("quantity", "wrt", "output")


class LayoutError(RunnerError, ValueError):
    """A quantity's rows that do not make one array: their shapes differ between
    jobs (ragged results), or an index lies outside its shape or repeats.

    Example:
        >>> isinstance(LayoutError("load: grad/arg0 ..."), ValueError)
        True
    """


def normalize_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the types a results table was written with: empty text
    cells ``""`` (not NaN), numbers where every cell is one, ``job`` and
    ``index`` ints.

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"wrt": [None], "index": [1.0], "m": ["0.5"]})
        >>> normalize_frame(frame).iloc[0].to_dict()
        {'wrt': '', 'index': 1, 'm': 0.5}
    """
    import pandas as pd
    from pandas.api.types import is_numeric_dtype

    for column in frame.columns:
        if column in ("job", "index") and is_numeric_dtype(frame[column]):
            continue
        if column in TEXT_COLUMNS:
            frame[column] = frame[column].fillna("")
        elif not is_numeric_dtype(frame[column]):  # numbers where every cell is one
            try:  # float() also reads the nan and inf that CSV holds
                frame[column] = pd.to_numeric(
                    [np.nan if c in ("", None) else float(c) for c in frame[column]]
                )
            except (TypeError, ValueError):
                pass
    for column in ("job", "index"):
        numeric = column in frame and is_numeric_dtype(frame[column])
        if numeric and (frame[column] % 1 == 0).all():
            frame[column] = frame[column].astype(np.int64)
    return frame


class Scan:
    """A results table opened for reading on demand (:meth:`open`, :meth:`of_frame`).

    Attributes:
        columns: the table's column names, in order.
        rows_read: how many rows the reads so far returned (every row once
            :meth:`frame` has run).

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"job": [0, 0, 1], "value": [1.0, 2.0, 3.0]})
        >>> scan = Scan.of_frame(frame)
        >>> scan.read(["value"], jobs=np.array([1]))["value"].tolist(), scan.rows_read
        ([3.0], 1)
    """

    def __init__(self, dataset: Any, parts: tuple[int, dict] | None = None) -> None:
        self.dataset = dataset
        self.columns = [str(name) for name in dataset.schema.names]
        self.rows_read = 0
        self._parts = parts  # (points per part, chunk -> its file) when known
        self._frame: pd.DataFrame | None = None

    @classmethod
    def open(cls, path: Path, parts: Mapping[str, Any] | None = None) -> Scan:
        """A Parquet file, or a directory of Parquet parts, without reading it.

        Args:
            path: the file or the directory.
            parts: the ``dataset`` node of ``run.json`` (``parts``,
                ``chunk_size``, ``points``): the directory's
                ``part-000000.parquet``, ... then each hold one chunk of points
                in order, and a selection of points opens only their parts.
                Without it the filter alone (and each part's statistics) finds
                the rows.

        Raises:
            RunnerError: a directory without Parquet parts.

        Example:
            >>> import tempfile, pyarrow as pa, pyarrow.parquet as pq
            >>> d = Path(tempfile.mkdtemp())
            >>> pq.write_table(pa.table({"job": [0, 1], "value": [1.0, 2.0]}),
            ...                d / "part-000000.parquet")
            >>> Scan.open(d).columns
            ['job', 'value']
        """
        import pyarrow as pa
        import pyarrow.dataset as ds

        found = ds.dataset(str(path), format="parquet")
        files = sorted(found.files, key=lambda f: (len(f), f))  # part-9 < part-10
        if not files:
            raise RunnerError(
                f"load: {path} holds no Parquet parts; give a finished run's "
                f"directory, or its results.parquet."
            )
        schema = pa.schema([  # a part whose text column is all null: still text
            f.with_type(pa.string()) if pa.types.is_null(f.type) else f
            for f in found.schema
        ])  # fmt: skip
        dataset = ds.dataset(files, schema=schema, format="parquet")
        return cls(dataset, _chunks(files, parts))

    @classmethod
    def of_frame(cls, frame: pd.DataFrame) -> Scan:
        """A table already in memory (a CSV read whole); :meth:`frame` gives it back.

        Example:
            >>> import pandas as pd
            >>> frame = pd.DataFrame({"value": [1.5]})
            >>> Scan.of_frame(frame).frame() is frame
            True
        """
        import pyarrow as pa
        import pyarrow.dataset as ds

        scan = cls(ds.dataset(pa.Table.from_pandas(frame, preserve_index=False)))
        scan._frame = frame
        return scan

    def read(
        self, columns: Sequence[str], where: Any = None, jobs: Any = None
    ) -> pd.DataFrame:
        """``columns`` of the rows that match ``where`` and belong to ``jobs``.

        Args:
            columns: the columns to read.
            where: a ``pyarrow.compute`` expression, or None for every row.
            jobs: the job numbers of the points to read (an int array), or None
                for every point.

        Returns:
            The rows, in table order, as a ``pandas.DataFrame``.

        Example:
            >>> import pandas as pd, pyarrow.compute as pc
            >>> scan = Scan.of_frame(pd.DataFrame({"job": [0, 1], "wrt": ["a", "b"]}))
            >>> scan.read(["job"], pc.field("wrt") == "b")["job"].tolist()
            [1]
        """
        table = self._source(jobs).to_table(
            columns=list(columns), filter=self._filter(where, jobs)
        )
        self.rows_read += table.num_rows
        return normalize_frame(table.to_pandas())

    def first_rows(self, columns: Sequence[str], jobs: Any = None) -> pd.DataFrame:
        """``job`` and ``columns`` of each point's first row, read in batches (so
        memory holds one batch and a row per point).

        Example:
            >>> import pandas as pd
            >>> scan = Scan.of_frame(pd.DataFrame({"job": [0, 0, 1], "m": [5, 5, 6]}))
            >>> scan.first_rows(["m"]).to_dict("list")
            {'job': [0, 1], 'm': [5, 6]}
        """
        import pandas as pd

        firsts = []
        names = ["job", *(c for c in columns if c != "job")]
        scan = self._source(jobs).scanner(
            columns=names, filter=self._filter(None, jobs)
        )
        for batch in scan.to_batches():
            self.rows_read += batch.num_rows
            if batch.num_rows:
                part = batch.to_pandas()
                firsts.append(part[~part["job"].duplicated()])
        if not firsts:
            return normalize_frame(pd.DataFrame({name: [] for name in names}))
        points = pd.concat(firsts, ignore_index=True).drop_duplicates("job")
        return normalize_frame(points.reset_index(drop=True))

    def first_shape(self, where: Any) -> tuple[int, ...] | None:
        """The shape of the first row matching ``where``, or None if none does.

        Example:
            >>> import pandas as pd, pyarrow.compute as pc
            >>> scan = Scan.of_frame(pd.DataFrame({"wrt": ["a", "b"],
            ...                                    "shape": ["", "4,3"]}))
            >>> scan.first_shape(pc.field("wrt") == "b")
            (4, 3)
        """
        found = self.dataset.scanner(columns=["shape"], filter=where).head(1)
        self.rows_read += found.num_rows
        return None if not found.num_rows else _shape(found.column(0)[0].as_py())

    def labels(self) -> list[tuple[str, str, str]]:
        """The table's ``(quantity, wrt, output)`` labels, sorted, read in batches.

        Example:
            >>> import pandas as pd
            >>> frame = pd.DataFrame({"quantity": ["grad", "", "grad"],
            ...                       "wrt": ["arg0", "", "arg0"], "output": ""})
            >>> Scan.of_frame(frame).labels()
            [('grad', 'arg0', '')]
        """
        import pyarrow.compute as pc

        found: set[tuple[str, str, str]] = set()
        scan = self.dataset.scanner(columns=list(LABELS),
                                    filter=pc.field("quantity") != "")  # fmt: skip
        for batch in scan.to_batches():
            cells = normalize_frame(batch.to_pandas()).drop_duplicates()
            found.update(tuple(str(c) for c in row) for row in cells.to_numpy())
        return sorted(found)

    def frame(self) -> pd.DataFrame:
        """The whole table as a ``pandas.DataFrame``, read on first call and kept.

        Example:
            >>> import pandas as pd
            >>> Scan.of_frame(pd.DataFrame({"value": [1.5]})).frame()["value"].tolist()
            [1.5]
        """
        if self._frame is None:
            table = self.dataset.to_table()
            self.rows_read += table.num_rows
            self._frame = normalize_frame(table.to_pandas())
        return self._frame

    def _source(self, jobs: Any) -> Any:
        """The dataset, or only the parts that hold ``jobs`` when that is known."""
        if jobs is None or self._parts is None:
            return self.dataset
        import pyarrow.dataset as ds

        size, files = self._parts
        chunks = np.unique(np.asarray(jobs, dtype=np.int64) // size).tolist()
        chosen = [files[k] for k in chunks if k in files]  # a missing part: no rows
        return ds.dataset(chosen, schema=self.dataset.schema, format="parquet")

    @staticmethod
    def _filter(where: Any, jobs: Any) -> Any:
        """``where`` and ``job`` among ``jobs`` (bounds too, which part
        statistics can use to skip parts)."""
        if jobs is None:
            return where
        import pyarrow as pa
        import pyarrow.compute as pc

        jobs = np.asarray(jobs, dtype=np.int64)
        low, high = int(jobs.min()), int(jobs.max())
        job = pc.field("job")
        expr = (job >= low) & (job <= high)
        if len(np.unique(jobs)) < high - low + 1:
            expr = expr & job.isin(pa.array(jobs))
        return expr if where is None else where & expr


def find_table(path: Path) -> Path:
    """The table at ``path``: a run's or sweep's ``results.parquet`` (a file or a
    directory of parts), else its ``results.csv``; else ``path`` itself (a
    table file, or a directory of Parquet parts).

    Raises:
        RunnerError: ``path`` does not exist, or is a directory without a table.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> (d / "results.parquet").mkdir()
        >>> find_table(d) == d / "results.parquet"
        True
    """
    if path.is_dir():
        found = [path / table_file(f) for f in ("parquet", "csv")]
        table = next((p for p in found if p.exists()), None)
        if table is not None:
            return table
        if path.suffix == ".parquet" or any(path.glob("*.parquet")):
            return path
        raise RunnerError(
            f"load: {path} holds no results.parquet or results.csv; give a run "
            f"or sweep directory whose run finished."
        )
    if path.is_file():
        return path
    raise RunnerError(f"load: {path} does not exist; give a run or sweep "
                      f"directory, or a results table.")  # fmt: skip


def label_filter(quantity: str, wrt: str, output: str) -> Any:
    """The ``pyarrow.compute`` expression of rows with these labels (an empty
    label also matches a missing cell).

    Example:
        >>> label_filter("grad", "arg0", "")
        <pyarrow.compute.Expression ...>
    """
    import pyarrow.compute as pc

    expr = None
    for name, text in zip(LABELS, (quantity, wrt, output)):
        field = pc.field(name)
        term = (field == text) | field.is_null() if text == "" else field == text
        expr = term if expr is None else expr & term
    return expr


def _chunks(
    files: Sequence[str], parts: Mapping[str, Any] | None
) -> tuple[int, dict[int, str]] | None:
    """Points per part and chunk -> file, when ``parts`` (``run.json``'s
    ``dataset``) says the parts hold chunks of that many points and every file
    is such a part (some may be missing, as in a sweep still running); else None."""
    try:
        count, size = int(parts["parts"]), int(parts["chunk_size"])  # type: ignore[index]
        points = int(parts["points"])  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        return None
    found = {part_name(k): k for k in range(count)}
    chunks = {found.get(Path(f).name, -1): f for f in files}
    if -1 in chunks or size < 1 or count != -(-points // size):
        return None
    return size, chunks


def _shape(text: str) -> tuple[int, ...]:
    """A ``shape`` cell as a tuple: ``"4,3"`` -> ``(4, 3)``, ``""`` -> ``()``."""
    return tuple(int(n) for n in text.split(",")) if text else ()


def _located(rows: pd.DataFrame) -> str:
    """Where ``rows`` lie, for a message: ``job(s) [0, 2]`` or ``the table``."""
    if "job" not in rows:
        return "the table"
    jobs = [j.item() if hasattr(j, "item") else j for j in rows["job"].unique()]
    more = f" and {len(jobs) - 5} more" if len(jobs) > 5 else ""
    return f"job(s) {jobs[:5]}{more}"


def check_layout(rows: pd.DataFrame, label: str) -> tuple[int, ...]:
    """The one shape of one quantity's ``rows`` (``shape`` and ``index``
    columns, and ``job`` in a sweep).

    Raises:
        LayoutError: the jobs' shapes differ, or an index lies outside the
            shape or repeats in a job; names the jobs.

    Example:
        >>> import pandas as pd
        >>> check_layout(pd.DataFrame({"shape": ["2,3"], "index": [5]}), "grad/arg0")
        (2, 3)
    """
    shapes = rows["shape"].astype(str)
    if shapes.nunique() > 1:
        found = "; ".join(f"shape {_shape(text)} in {_located(rows[shapes == text])}"
                          for text in shapes.unique())  # fmt: skip
        raise LayoutError(
            f"load: {label} has a different shape per job ({found}), so it makes "
            f"no single array; load each job's directory on its own (load(sweep_dir "
            f"/ '<job>')), or read the rows from res.frame."
        )
    shape = _shape(shapes.iloc[0])
    index = rows["index"].to_numpy(dtype=np.int64)
    outside = (index < 0) | (index >= int(np.prod(shape, dtype=int)))
    twice = rows.duplicated([c for c in ("job", "index") if c in rows]).to_numpy()
    for bad, what in ((outside, f"outside its shape {shape}"), (twice, "twice")):
        if bad.any():
            raise LayoutError(
                f"load: {label} has index {index[bad][0]} {what} in "
                f"{_located(rows[bad])}; the table is damaged: run the job again, "
                f"or read the rows from res.frame."
            )
    return shape
