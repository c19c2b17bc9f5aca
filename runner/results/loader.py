"""Loading results back: a run's or a sweep's table as arrays in their own shapes.

``load(path)`` takes a run directory, a sweep directory (a ``-m`` multirun or a
run with a vectorized ``sweep`` block) or a results table (CSV, Parquet, or a
directory of Parquet parts), and gives a :class:`Results`: ``.array("grad",
"arg0")`` rebuilds each array from the table's ``shape`` and ``index`` columns,
with a sweep's points as leading axes (one per swept key for a vectorized grid,
one for a zip or a ``-m`` sweep) and ``.coords`` holding the swept values along
those axes. Parquet is read lazily (:mod:`runner.results.scan`): a call reads
only the columns and rows it needs, and ``where=`` picks points without reading
the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..compute.rows import COLUMNS, ELEMENT_COLUMN, swept_names
from ..config.errors import RunnerError
from .record import RUN_RECORD, read_run
from .scan import (
    LayoutError,
    Scan,
    check_layout,
    find_table,
    label_filter,
    normalize_frame,
)
from .selection import (
    Pick,
    SelectionError,
    pick,
    point_values,
    positions,
    recorded_coords,
)
from .tables import TEXT_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["LayoutError", "Results", "SelectionError", "load", "read_table"]


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
    return normalize_frame(frame)


class Results:
    """A loaded table and how its points lie.

    A Parquet table is read lazily: :meth:`array` reads the rows of one label
    (of the points ``where=`` picks), and ``coords`` and ``shape`` come from
    ``run.json`` or from the ``job`` and swept columns alone.

    Args:
        frame: the table: a ``pandas.DataFrame``, or a
            :class:`~runner.results.scan.Scan` as :func:`load` opens it.
        dims: the names of the leading axes: ``()`` for a single run, the swept
            keys for a vectorized grid, ``("job",)`` for a zip or ``-m`` sweep.
        coords: swept key -> its values: along its own axis for a grid, one per
            point for a zip or ``-m`` sweep (``job`` holds the job numbers); a
            swept vector's values have one more axis. None: read from the table.
        shape: the lengths of the leading axes; None: from the table.
        numbered: the points are jobs ``0, 1, ...`` in order (a vectorized
            sweep), so a selection of them reads no other rows.

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"job": [0, 1], "model.b": [0.5, 0.7], "status": "ok",
        ...     "error": "", "quantity": "value", "wrt": "", "output": "",
        ...     "shape": "", "index": 0, "value": [1.0, 2.0]})
        >>> res = Results(frame, ("job",))
        >>> res.shape, res.coords["model.b"], res.array("value", "", where={"job": 1})
        ((2,), array([0.5, 0.7]), array([2.]))
    """

    def __init__(
        self,
        frame: Any,
        dims: tuple[str, ...] = (),
        coords: Mapping[str, Any] | None = None,
        shape: tuple[int, ...] | None = None,
        *,
        numbered: bool = False,
    ) -> None:
        self._scan = frame if isinstance(frame, Scan) else Scan.of_frame(frame)
        self.dims = tuple(dims)
        self._coords = None if coords is None else dict(coords)
        self._shape = None if shape is None else tuple(int(n) for n in shape)
        self._numbered = numbered
        self._job_list: np.ndarray | None = None
        columns = self._scan.columns
        self._swept = swept_names(columns) if "status" in columns else []

    @property
    def frame(self) -> pd.DataFrame:
        """The whole table (a ``pandas.DataFrame``), read on first use and kept:
        every row of every part; for a few points of a large sweep use
        :meth:`array` with ``where=``."""
        return self._scan.frame()

    @property
    def shape(self) -> tuple[int, ...]:
        """The lengths of the leading axes (``()`` for a single run)."""
        if self._shape is None:
            self._shape = (len(self._jobs()),) if self.dims else ()
        return self._shape

    @property
    def coords(self) -> dict[str, np.ndarray]:
        """Swept key -> its values (as the ``coords`` argument), read on first use
        from the ``job`` and swept columns unless ``run.json`` records them."""
        if self._coords is None:
            self._coords = self._read_coords()
        return self._coords

    def array(
        self,
        quantity: str = "grad",
        wrt: str = "arg0",
        output: str = "",
        where: Mapping[str, Any] | None = None,
    ) -> np.ndarray:
        """One quantity as an array of shape ``(*self.shape, *its own shape)``.

        Points where the job failed hold NaN. Only the rows of this label (and
        of the points ``where`` picks) are read.

        Args:
            quantity: the ``quantity`` column (``grad``, ``value``, ...).
            wrt: the ``wrt`` column (``arg0``, a variable path, ``""``).
            output: the ``output`` column (``""``, ``[0]``, ...).
            where: picks sweep points: swept key (as in :attr:`dims`, ``job``
                for a zip or ``-m`` sweep, or a vector's element ``inputs.1[0]``)
                -> a coordinate, a list of them, or a closed range
                ``slice(lo, hi)`` / ``(lo, hi)`` of numbers (None: open). A
                number matches within a relative 1e-9; a swept vector takes a
                vector or a list of them. A grid keeps every axis, each holding
                its picked coordinates in the axis's order (the sub-grid); a zip
                or ``-m`` sweep keeps the points that match every key. None:
                every point.

        Returns:
            The array; with ``where``, its leading shape is the selection's.

        Raises:
            KeyError: no row has these labels; the message lists those there are.
            SelectionError: ``where`` names a key that is not swept, or picks no
                point; the message lists the keys or values there are.
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
        return self._array(quantity, wrt, output, self._pick(where))

    def to_xarray(
        self,
        quantity: str = "grad",
        wrt: str = "arg0",
        output: str = "",
        where: Mapping[str, Any] | None = None,
    ) -> Any:
        """:meth:`array` as an ``xarray.DataArray`` with named dims and coordinates.

        The sweep's axes are named as in :attr:`dims`; the array's own axes
        ``dim_0``, ``dim_1``, ... A swept number is the coordinate of its axis (or
        of ``job``), so ``.sel({"model.b": 0.7})`` picks a point. A swept vector
        (or matrix) becomes one coordinate per element along its point axis (its
        own axis in a grid, else ``job``), named as the table's columns:
        ``inputs.1[0]``, ``inputs.1[1]``; its own axis in a grid then has no
        index, so pick points with ``.isel`` or by an element's value,
        ``data.where(data["inputs.1[0]"] == 2.0, drop=True)``. With ``where``,
        the coordinates are those of the picked points. Needs xarray
        (``pip install 'autodiff-runner[xarray]'``).

        Raises:
            ImportError: xarray is not installed; says how to install it.
            SelectionError: as :meth:`array`.
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
        pick = self._pick(where)
        data = self._array(quantity, wrt, output, pick)
        own = [f"dim_{i}" for i in range(data.ndim - len(self.dims))]
        coords = {}
        for key, values in self._picked_coords(pick).items():
            along = key if key in self.dims else self.dims[0]  # the job axis, or own
            if np.ndim(values) == 1:
                coords[key] = (along, values)
                continue
            for ix in np.ndindex(np.shape(values)[1:]):  # one per element
                element = f"{key}[{','.join(map(str, ix))}]"
                coords[element] = (along, np.asarray(values)[(slice(None), *ix)])
        name = "/".join(part for part in (quantity, wrt, output) if part)
        return xr.DataArray(data, dims=(*self.dims, *own), coords=coords, name=name)

    def _array(self, quantity: str, wrt: str, output: str, pick: Pick) -> np.ndarray:
        """:meth:`array` of the points ``pick`` holds."""
        label = "/".join(p for p in (quantity, wrt, output) if p)
        columns = ["job"] * bool(self.dims) + ["shape", "index", "value"]
        labels = label_filter(quantity, wrt, output)
        rows = self._scan.read(columns, labels, pick.jobs)
        if rows.empty:  # no such label, or only failed points picked
            there = None if pick.jobs is None else self._scan.first_shape(labels)
            if there is None:
                raise KeyError(f"no rows with quantity={quantity!r}, wrt={wrt!r}, "
                               f"output={output!r}; the table has "
                               f"{self._scan.labels()}")  # fmt: skip
            return np.full((*pick.shape, *there), np.nan)
        shape = check_layout(rows, label)
        size = int(np.prod(shape, dtype=int))
        index = rows["index"].to_numpy(dtype=np.int64)
        values = rows["value"].to_numpy(dtype=np.float64)
        if not self.dims:
            out = np.full(size, np.nan)
            out[index] = values
            return out.reshape(shape)
        jobs = self._jobs() if pick.jobs is None else pick.jobs
        at = positions(jobs, rows["job"].to_numpy(dtype=np.int64))
        out = np.full((len(jobs), size), np.nan)
        out[at, index] = values
        return out.reshape(*pick.shape, *shape)

    def _pick(self, where: Mapping[str, Any] | None) -> Pick:
        """The points ``where`` picks (:func:`~runner.results.selection.pick`)."""
        keys = list(self.dims)
        if self.dims == ("job",):  # and the swept keys, a vector's elements joined
            for column in self._swept:
                found = ELEMENT_COLUMN.match(column)
                key = found["key"] if found else column
                keys += [] if key in keys else [key]
        jobs = None if self._numbered else self._jobs
        return pick(where, self.dims, self.shape, keys, self._values, jobs)

    def _values(self, key: str) -> np.ndarray:
        """The coordinates of ``key`` (``job``: the job numbers)."""
        return self._jobs() if key == "job" else np.asarray(self.coords[key])

    def _jobs(self) -> np.ndarray:
        """The job number of each point, in point order."""
        if self._job_list is None:
            if self._numbered:
                self._job_list = np.arange(int(np.prod(self.shape, dtype=int)))
            elif self._coords is not None and "job" in self._coords:
                self._job_list = np.asarray(self._coords["job"])
            else:
                self._job_list = self._scan.first_rows([])["job"].to_numpy()
        return self._job_list

    def _read_coords(self) -> dict[str, np.ndarray]:
        """:attr:`coords` from the ``job`` and swept columns, one row per point
        (for a grid only the points along each axis)."""
        if not self.dims:
            return {}
        if self.dims == ("job",):
            points = self._scan.first_rows(self._swept)
            swept = point_values(points, self._swept)
            return {"job": points["job"].to_numpy(), **swept}
        shape = self.shape
        axes = [np.arange(n) * int(np.prod(shape[a + 1 :], dtype=int))
                for a, n in enumerate(shape)]  # fmt: skip
        points = self._scan.first_rows(self._swept, np.unique(np.concatenate(axes)))
        swept, jobs = point_values(points, self._swept), points["job"].to_numpy()
        return {
            key: swept[key][positions(jobs, at)] for key, at in zip(self.dims, axes)
        }

    def _picked_coords(self, pick: Pick) -> dict[str, np.ndarray]:
        """:attr:`coords` at the points ``pick`` holds (only theirs are read)."""
        if pick.index is None:
            return self.coords
        if self.dims != ("job",):
            return {key: np.asarray(values)[pick.index[self.dims.index(key)]]
                    for key, values in self.coords.items()}  # fmt: skip
        if self._coords is not None:
            return {k: np.asarray(v)[pick.index[0]] for k, v in self._coords.items()}
        points = self._scan.first_rows(self._swept, pick.jobs)
        at = positions(points["job"].to_numpy(), pick.jobs)
        swept = point_values(points, self._swept)
        return {"job": pick.jobs, **{key: values[at] for key, values in swept.items()}}


def load(path: str | Path) -> Results:
    """Load a run directory, a sweep directory or a results table.

    A directory's ``results.parquet`` (a file, or a directory of Parquet parts)
    is opened, else its ``results.csv``; Parquet is read lazily, a CSV whole. A
    vectorized sweep's grid is rebuilt from its ``run.json``; a ``-m`` sweep (a
    directory with ``sweep.json``) or any table with a ``job`` column has one
    axis of points.

    Raises:
        RunnerError: no table at ``path``, not a results table, or the table of
            a run whose ``run.json`` does not say ``ok`` (its rows may be
            incomplete: a sweep killed or stopped between chunks).

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
        >>> res.array("grad", "arg0", where={"inputs.1": (0.5, 3.0)}).shape
        (2, 2)
    """
    table = find_table(Path(path))
    record: dict[str, Any] = {}
    if (table.parent / RUN_RECORD).is_file():
        record = dict(read_run(table.parent))
    if record and record.get("status") != "ok":
        raise RunnerError(
            f"load: {table.parent} holds the table of a run that did not finish "
            f"(run.json status: {record.get('status')}), so rows may be missing; "
            f"run it again (a sweep with resume=true computes only the missing "
            f"chunks), or read what is there with pandas.read_parquet."
        )
    layout = record.get("sweep") or {}
    if table.suffix == ".parquet":
        scan = Scan.open(table, layout.get("dataset"))
    else:
        scan = Scan.of_frame(read_table(table))
    missing = [c for c in COLUMNS if c not in scan.columns]
    if missing:
        raise RunnerError(f"load: {table} is not a results table (no column "
                          f"{', '.join(missing)}); give a run's or sweep's "
                          f"table.")  # fmt: skip
    if "job" not in scan.columns:
        return Results(scan)
    if layout.get("mode") not in ("grid", "zip"):
        return Results(scan, ("job",))
    shape = tuple(int(n) for n in layout["shape"])
    if layout["mode"] == "zip":
        return Results(scan, ("job",), None, shape, numbered=True)
    keys = tuple(layout["keys"])
    return Results(scan, keys, recorded_coords(layout), shape, numbered=True)
