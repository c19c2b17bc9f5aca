"""Loading results back: a run's or a sweep's table as arrays in their own shapes.

``load(path)`` takes a run directory, a sweep directory (a ``-m`` multirun or a
run with a vectorized ``sweep`` block) or a results table (CSV or Parquet), and
gives a :class:`Results`: ``.array("grad", "arg0")`` rebuilds each array from the
table's ``shape`` and ``index`` columns, with a sweep's points as leading axes
(one per swept key for a vectorized grid, one for a zip or a ``-m`` sweep) and
``.coords`` holding the swept values along those axes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..compute.rows import ELEMENT_COLUMN, swept_names
from ..config.errors import RunnerError
from .record import RUN_RECORD, read_run
from .tables import TEXT_COLUMNS, table_file

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["LayoutError", "Results", "load", "read_table"]


class LayoutError(RunnerError, ValueError):
    """A quantity's rows that do not make one array: their shapes differ between
    jobs (ragged results), or an index lies outside its shape or repeats.

    Example:
        >>> isinstance(LayoutError("load: grad/arg0 ..."), ValueError)
        True
    """


def read_table(path: Path) -> pd.DataFrame:
    """A results table (CSV or Parquet) with the types it was written with.

    CSV cells are read as written: empty text stays ``""`` (not NaN), ``shape``
    stays text (``"4"`` is a shape, not a number), ``index`` is an int and
    ``value`` and the swept columns are numbers.

    Example:
        >>> import tempfile
        >>> from runner.results.tables import write_tables
        >>> d = Path(tempfile.mkdtemp())
        >>> _ = write_tables({"quantity": ["grad"], "wrt": [""], "shape": ["2"],
        ...                   "index": [1], "value": [0.5]}, d, ["csv"])
        >>> read_table(d / "results.csv").iloc[0].to_dict()
        {'quantity': 'grad', 'wrt': '', 'shape': '2', 'index': 1, 'value': 0.5}
    """
    import pandas as pd
    from pandas.api.types import is_numeric_dtype

    path = Path(path)
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
    elif path.suffix == ".csv":
        frame = pd.read_csv(path, keep_default_na=False, dtype=dict.fromkeys(
            TEXT_COLUMNS, str))  # fmt: skip
    else:
        raise RunnerError(
            f"load: {path} is not a results table; give a .csv or .parquet file, "
            f"or the directory of a run or sweep."
        )
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


@dataclass
class Results:
    """A loaded table and how its points lie.

    Attributes:
        frame: the table (``pandas.DataFrame``).
        dims: the names of the leading axes: ``()`` for a single run, the swept
            keys for a vectorized grid, ``("job",)`` for a zip or ``-m`` sweep.
        coords: swept key -> its values: along its own axis for a grid, one per
            point for a zip or ``-m`` sweep (``job`` holds the job numbers); a
            swept vector's values have one more axis.
        shape: the lengths of the leading axes.
    """

    frame: Any
    dims: tuple[str, ...] = ()
    coords: dict[str, np.ndarray] = field(default_factory=dict)
    shape: tuple[int, ...] = ()

    def array(
        self, quantity: str = "grad", wrt: str = "arg0", output: str = ""
    ) -> np.ndarray:
        """One quantity as an array of shape ``(*self.shape, *its own shape)``.

        Points where the job failed hold NaN.

        Args:
            quantity: the ``quantity`` column (``grad``, ``value``, ...).
            wrt: the ``wrt`` column (``arg0``, a variable path, ``""``).
            output: the ``output`` column (``""``, ``[0]``, ...).

        Raises:
            KeyError: no row has these labels; the message lists those there are.
            LayoutError: the rows do not make one array: jobs of a ``-m`` sweep
                whose arrays have different shapes (load each job's directory on
                its own, or read :attr:`frame`), or an index outside the shape or
                given twice (a damaged table).

        Example:
            >>> from runner.compute.experiment import Result
            >>> from runner.compute.rows import to_frame
            >>> jac = np.arange(6.0).reshape(2, 3)
            >>> Results(to_frame([Result("grad", "arg0", "", jac)])).array()
            array([[0., 1., 2.],
                   [3., 4., 5.]])
        """
        f = self.frame
        rows = f[(f["quantity"] == quantity) & (f["wrt"] == wrt)
                 & (f["output"] == output)]  # fmt: skip
        if rows.empty:
            there = f.loc[f["quantity"] != "", ["quantity", "wrt", "output"]]
            labels = sorted(set(map(tuple, there.drop_duplicates().to_numpy())))
            raise KeyError(f"no rows with quantity={quantity!r}, wrt={wrt!r}, "
                           f"output={output!r}; the table has {labels}")  # fmt: skip
        shape = _check_layout(rows, "/".join(p for p in (quantity, wrt, output) if p))
        size = int(np.prod(shape, dtype=int))
        index = rows["index"].to_numpy(dtype=np.int64)
        if not self.dims:
            out = np.full(size, np.nan)
            out[index] = rows["value"].to_numpy(dtype=np.float64)
            return out.reshape(shape)
        points = {job: i for i, job in enumerate(f["job"].drop_duplicates())}
        out = np.full((len(points), size), np.nan)
        where = rows["job"].map(points).to_numpy(dtype=np.int64)
        out[where, index] = rows["value"].to_numpy(dtype=np.float64)
        return out.reshape(*self.shape, *shape)

    def to_xarray(
        self, quantity: str = "grad", wrt: str = "arg0", output: str = ""
    ) -> Any:
        """:meth:`array` as an ``xarray.DataArray`` with named dims and coordinates.

        The sweep's axes are named as in :attr:`dims`; the array's own axes
        ``dim_0``, ``dim_1``, ... A swept number is the coordinate of its axis (or
        of ``job``), so ``.sel({"model.b": 0.7})`` picks a point. A swept vector
        (or matrix) becomes one coordinate per element along its point axis (its
        own axis in a grid, else ``job``), named as the table's columns:
        ``inputs.1[0]``, ``inputs.1[1]``; its own axis in a grid then has no
        index, so pick points with ``.isel`` or by an element's value,
        ``data.where(data["inputs.1[0]"] == 2.0, drop=True)``. Needs xarray
        (``pip install 'autodiff-runner[xarray]'``).

        Raises:
            ImportError: xarray is not installed; says how to install it.
            LayoutError: as :meth:`array`.

        Example:
            >>> import pytest
            >>> _ = pytest.importorskip("xarray")
            >>> from runner.compute.experiment import Result
            >>> from runner.compute.rows import to_frame
            >>> frame = to_frame([Result("grad", "arg0", "", np.eye(2))])
            >>> Results(frame).to_xarray().dims
            ('dim_0', 'dim_1')
        """
        try:
            import xarray as xr
        except ImportError as err:
            raise ImportError(
                "Results.to_xarray needs xarray; install it with "
                "pip install 'autodiff-runner[xarray]', or use .array()."
            ) from err
        data = self.array(quantity, wrt, output)
        own = [f"dim_{i}" for i in range(data.ndim - len(self.dims))]
        coords = {}
        for key, values in self.coords.items():  # the job axis, or their own
            along = key if key in self.dims else self.dims[0]
            if np.ndim(values) == 1:
                coords[key] = (along, values)
                continue
            for ix in np.ndindex(np.shape(values)[1:]):  # one per element
                element = f"{key}[{','.join(map(str, ix))}]"
                coords[element] = (along, np.asarray(values)[(slice(None), *ix)])
        name = "/".join(part for part in (quantity, wrt, output) if part)
        return xr.DataArray(data, dims=(*self.dims, *own), coords=coords, name=name)


def load(path: str | Path) -> Results:
    """Load a run directory, a sweep directory or a results table.

    A directory's ``results.parquet`` is read, else its ``results.csv``. A
    vectorized sweep's grid is rebuilt from its ``run.json``; a ``-m`` sweep (a
    directory with ``sweep.json``) or any table with a ``job`` column has one
    axis of points.

    Raises:
        RunnerError: no table at ``path``.

    Example:
        >>> import tempfile
        >>> from runner.app.job import run_job
        >>> d = Path(tempfile.mkdtemp())
        >>> cfg = {"model": {"_target_": "runner.models.tutorial.linear"},
        ...        "inputs": [2.0, 1.0], "output": {"summary": False, "plots": False},
        ...        "sweep": {"inputs": {"0": [1.0, 2.0], "1": [0.0, 1.0, 3.0]}}}
        >>> run_job(cfg, d)
        0
        >>> res = load(d)
        >>> res.dims, res.array("grad", "arg0").shape, res.coords["inputs.1"]
        (('inputs.0', 'inputs.1'), (2, 3), array([0., 1., 3.]))
    """
    path = Path(path)
    if path.is_dir():
        found = [path / table_file(f) for f in ("parquet", "csv")]
        table = next((p for p in found if p.is_file()), None)
        if table is None:
            raise RunnerError(
                f"load: {path} holds no results.parquet or results.csv; give a run "
                f"or sweep directory whose run finished."
            )
    elif path.is_file():
        table = path
    else:
        raise RunnerError(f"load: {path} does not exist; give a run or sweep "
                          f"directory, or a results table.")  # fmt: skip
    frame = read_table(table)
    if "job" not in frame:
        return Results(frame)
    record: dict[str, Any] = {}
    if (table.parent / RUN_RECORD).is_file():
        record = dict(read_run(table.parent))
    swept = _swept(frame)
    layout = record.get("sweep") or {}
    if layout.get("mode") == "grid":
        shape = tuple(int(n) for n in layout["shape"])
        coords = {}
        for axis, key in enumerate(layout["keys"]):
            values = swept[key].reshape(*shape, *swept[key].shape[1:])
            coords[key] = values[(0,) * axis + (slice(None),) + (0,) * (
                len(shape) - axis - 1)]  # fmt: skip
        return Results(frame, tuple(layout["keys"]), coords, shape)
    jobs = frame["job"].drop_duplicates().to_numpy()
    return Results(frame, ("job",), {"job": jobs, **swept}, (len(jobs),))


def _shape(text: str) -> tuple[int, ...]:
    """A ``shape`` cell as a tuple: ``"4,3"`` -> ``(4, 3)``, ``""`` -> ``()``."""
    return tuple(int(n) for n in text.split(",")) if text else ()


def _where(rows: pd.DataFrame) -> str:
    """Where ``rows`` lie, for a message: ``job(s) [0, 2]`` or ``the table``."""
    if "job" not in rows:
        return "the table"
    jobs = [j.item() if hasattr(j, "item") else j for j in rows["job"].unique()]
    more = f" and {len(jobs) - 5} more" if len(jobs) > 5 else ""
    return f"job(s) {jobs[:5]}{more}"


def _check_layout(rows: pd.DataFrame, label: str) -> tuple[int, ...]:
    """The one shape of one quantity's ``rows``; :class:`LayoutError` when the
    jobs' shapes differ, or an index lies outside it or repeats in a job."""
    shapes = rows["shape"].astype(str)
    if shapes.nunique() > 1:
        found = "; ".join(f"shape {_shape(text)} in {_where(rows[shapes == text])}"
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
                f"{_where(rows[bad])}; the table is damaged: run the job again, "
                f"or read the rows from res.frame."
            )
    return shape


def _swept(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Swept key -> its value at each point; element columns joined into arrays."""
    points = frame.drop_duplicates("job")
    columns = swept_names(frame.columns)
    out: dict[str, Any] = {}
    elements: dict[str, list[tuple[tuple[int, ...], np.ndarray]]] = {}
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
