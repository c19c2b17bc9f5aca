"""A sweep's table as a Parquet dataset (``results.parquet/part-*.parquet``) loads
lazily: ``array(..., where=...)`` reads only the parts of the points it picks.

The tables are written here with pyarrow, row by row as the schema says; every
expected array is computed with numpy from the same per-point formulas.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv
import pyarrow.parquet as pq
import pytest

from runner.config.errors import RunnerError
from runner.results import LayoutError, load
from runner.results.loader import SelectionError
from runner.results.scan import Scan, label_filter

#: A grid over a swept vector (3 values) and a model parameter (4 values).
VECTORS = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
BS = np.array([0.5, 0.7, 0.9, 1.1])


def _grad(jobs):
    """Each point's ``grad``/``arg0``: a 2x3 array, a formula of its job."""
    jobs = np.asarray(jobs, dtype=np.float64)
    return np.sin(jobs[:, None] * 1e-3 + np.arange(6.0)).reshape(-1, 2, 3)


def _value(jobs):
    """Each point's ``value``: a scalar, a formula of its job."""
    return np.cos(np.asarray(jobs, dtype=np.float64) * 1e-2)


def _rows(jobs, swept):
    """The table of points ``jobs`` (point-major): their ``grad``/``arg0`` and
    ``value`` rows, with the swept values (``key[i]`` for a vector's elements)."""
    jobs = np.asarray(jobs, dtype=np.int64)
    cells = [("grad", "arg0", "", "2,3", i) for i in range(6)]
    cells.append(("value", "", "", "", 0))
    per, n = len(cells), len(jobs)
    table = {"job": np.repeat(jobs, per)}
    for key, values in swept.items():
        values = np.asarray(values, dtype=np.float64)
        for ix in np.ndindex(values.shape[1:]):
            name = f"{key}[{','.join(map(str, ix))}]" if ix else key
            table[name] = np.repeat(values[(slice(None), *ix)], per)
    table["status"] = ["ok"] * (n * per)
    table["error"] = [""] * (n * per)
    for at, name in enumerate(("quantity", "wrt", "output", "shape")):
        table[name] = [c[at] for c in cells] * n
    table["index"] = np.tile(np.array([c[4] for c in cells], dtype=np.int64), n)
    value = np.concatenate([_grad(jobs).reshape(n, 6), _value(jobs)[:, None]], 1)
    table["value"] = value.reshape(-1)
    return pa.table(table)


def _grid_swept(jobs):
    """The swept values of grid points ``jobs`` (``model.b`` fastest)."""
    jobs = np.asarray(jobs)
    return {"inputs.1": VECTORS[jobs // len(BS)], "model.b": BS[jobs % len(BS)]}


def _write_run(run, sweep, chunk, points, swept, parts=None):
    """A run directory holding a dataset of ``points`` in parts of ``chunk``
    points (only those in ``parts``; the others are garbage) and ``run.json``."""
    dataset = run / "results.parquet"
    dataset.mkdir(parents=True)
    count = -(-points // chunk)
    for k in range(count):
        path = dataset / f"part-{k:06d}.parquet"
        if parts is not None and k not in parts:
            path.write_bytes(b"not a parquet file")
            continue
        jobs = np.arange(k * chunk, min((k + 1) * chunk, points))
        pq.write_table(_rows(jobs, swept(jobs)), path)
    (dataset / ".part-000001.parquet.5f3a.tmp").write_bytes(b"half a part")
    record = {"status": "ok", "sweep": sweep}
    (run / "run.json").write_text(json.dumps(record))
    return dataset


def _grid(tmp_path, coords=True, dataset=True, chunk=5):
    """The 3x4 grid sweep's run directory (12 points, in parts of ``chunk``)."""
    sweep = {"mode": "grid", "keys": ["inputs.1", "model.b"], "shape": [3, 4]}
    if coords:
        sweep["coords"] = {"inputs.1": VECTORS.tolist(), "model.b": BS.tolist()}
    if dataset:
        sweep["dataset"] = {"parts": -(-12 // chunk), "chunk_size": chunk,
                            "points": 12, "rows": 12 * 7}  # fmt: skip
    _write_run(tmp_path, sweep, chunk, 12, _grid_swept)
    return tmp_path


def _grid_want(rows, cols):
    """The reference: the grid's ``grad`` at rows ``rows`` (of VECTORS) and
    columns ``cols`` (of BS), job = row * 4 + col."""
    jobs = np.array([[r * len(BS) + c for c in cols] for r in rows])
    return _grad(jobs.reshape(-1)).reshape(len(rows), len(cols), 2, 3)


def test_a_dataset_loads_as_the_arrays_written(tmp_path):
    run = _grid(tmp_path)
    for path in (run, run / "results.parquet"):
        res = load(path)
        assert res.dims == ("inputs.1", "model.b") and res.shape == (3, 4)
        np.testing.assert_array_equal(res.coords["inputs.1"], VECTORS)
        np.testing.assert_array_equal(res.coords["model.b"], BS)
        got = res.array("grad", "arg0")
        np.testing.assert_array_equal(got, _grid_want(range(3), range(4)))
        value = res.array("value", "")
        np.testing.assert_array_equal(value, _value(np.arange(12)).reshape(3, 4))
        assert len(res.frame) == 12 * 7  # the hidden temp file is skipped


def test_grid_where_on_two_keys_gives_the_sub_grid_and_its_coords(tmp_path):
    xr = pytest.importorskip("xarray")
    res = load(_grid(tmp_path))
    where = {"model.b": (0.6, 1.0), "inputs.1": [[5.0, 6.0], [1.0, 2.0]]}
    got = res.array("grad", "arg0", where=where)  # rows in the axis's order
    np.testing.assert_array_equal(got, _grid_want([0, 2], [1, 2]))
    data = res.to_xarray("grad", "arg0", where=where)
    assert isinstance(data, xr.DataArray)
    assert data.dims == ("inputs.1", "model.b", "dim_0", "dim_1")
    np.testing.assert_array_equal(data.values, got)
    np.testing.assert_array_equal(data["model.b"].values, [0.7, 0.9])
    np.testing.assert_array_equal(data["inputs.1[0]"].values, [1.0, 5.0])
    np.testing.assert_array_equal(data["inputs.1[1]"].values, [2.0, 6.0])
    one = data.sel({"model.b": 0.9}).isel({"inputs.1": 1}).values
    np.testing.assert_array_equal(one, _grad([2 * 4 + 2])[0])


@pytest.mark.parametrize(
    ("where", "rows", "cols"),
    [
        ({"model.b": 0.7}, [0, 1, 2], [1]),  # one coordinate: its axis stays
        ({"model.b": 0.7000000000000001}, [0, 1, 2], [1]),  # within 1e-9
        ({"model.b": slice(0.9, None)}, [0, 1, 2], [2, 3]),  # open above
        ({"model.b": [1.1, 0.5]}, [0, 1, 2], [0, 3]),
        ({"inputs.1": [3.0, 4.0]}, [1], [0, 1, 2, 3]),  # one vector coordinate
        ({"inputs.1[0]": (2.0, 6.0)}, [1, 2], [0, 1, 2, 3]),  # a vector's element
        ({"inputs.1[1]": 2.0, "model.b": (0.5, 0.5)}, [0], [0]),
    ],
)
def test_grid_where_picks_coordinates_and_ranges(tmp_path, where, rows, cols):
    res = load(_grid(tmp_path))
    got = res.array("grad", "arg0", where=where)
    np.testing.assert_array_equal(got, _grid_want(rows, cols))
    want = _value(np.array([[r * 4 + c for c in cols] for r in rows]))
    np.testing.assert_array_equal(res.array("value", "", where=where), want)


def test_a_selection_reads_only_its_parts(tmp_path):
    # Part 2 is garbage and part 0 goes once loaded (its schema was read): the
    # whole table cannot be read, but a selection in part 1 (jobs 5..9) never
    # opens them.
    pytest.importorskip("xarray")
    dataset = _grid(tmp_path) / "results.parquet"
    (dataset / "part-000002.parquet").write_bytes(b"not a parquet file")
    res = load(tmp_path)
    (dataset / "part-000000.parquet").unlink()
    got = res.array("grad", "arg0", where={"inputs.1[0]": 3.0, "model.b": [0.7, 1.1]})
    np.testing.assert_array_equal(got, _grid_want([1], [1, 3]))  # jobs 5, 7
    data = res.to_xarray(
        "value", "", where={"inputs.1": [3.0, 4.0], "model.b": (0.7, 2)}
    )
    np.testing.assert_array_equal(data.values, _value([[5, 6, 7]]))
    np.testing.assert_array_equal(data["model.b"].values, BS[1:])
    with pytest.raises((OSError, pa.ArrowException)):
        res.frame  # noqa: B018


def _half(jobs):
    """The swept ``model.a`` of a zip sweep's points ``jobs``: half the job."""
    return {"model.a": np.asarray(jobs) * 0.5}


def test_a_ten_million_point_sweep_reads_one_part(tmp_path):
    # 10^7 zip points in 1000 parts; every part but two is garbage, so anything
    # that read the table (or a part the selection does not need) would fail.
    pytest.importorskip("xarray")
    n, chunk = 10_000_000, 10_000
    sweep = {"mode": "zip", "keys": ["model.a"], "shape": [n],
             "dataset": {"parts": n // chunk, "chunk_size": chunk, "points": n,
                         "rows": n * 7}}  # fmt: skip
    _write_run(tmp_path, sweep, chunk, n, _half, parts={0, 500})
    res = load(tmp_path)
    assert res.dims == ("job",) and res.shape == (n,)
    jobs = [5_000_123, 5_009_999]
    np.testing.assert_array_equal(
        res.array("grad", "arg0", where={"job": jobs}), _grad(jobs)
    )
    got = res.array("value", "", where={"job": (5_000_000, 5_000_002)})
    np.testing.assert_array_equal(got, _value([5_000_000, 5_000_001, 5_000_002]))
    data = res.to_xarray("grad", "arg0", where={"job": jobs})
    np.testing.assert_array_equal(data["job"].values, jobs)
    np.testing.assert_array_equal(data["model.a"].values, np.array(jobs) * 0.5)
    with pytest.raises((OSError, pa.ArrowException)):
        res.frame  # noqa: B018


def test_a_grid_of_ten_million_points_reads_one_part_per_row(tmp_path):
    # A 10^4 x 10^3 grid with its coords recorded; a row of model.a is 10^3
    # points, all in one part of 10^4.
    a, b = np.arange(10_000) * 0.25, np.linspace(0.0, 1.0, 1_000)
    chunk, n = 10_000, a.size * b.size
    sweep = {"mode": "grid", "keys": ["model.a", "model.b"], "shape": [a.size, b.size],
             "coords": {"model.a": a.tolist(), "model.b": b.tolist()},
             "dataset": {"parts": n // chunk, "chunk_size": chunk, "points": n,
                         "rows": n * 7}}  # fmt: skip

    def swept(jobs):
        return {"model.a": a[jobs // b.size], "model.b": b[jobs % b.size]}

    _write_run(tmp_path, sweep, chunk, n, swept, parts={0, 500})
    res = load(tmp_path)
    where = {"model.a": a[5003], "model.b": (b[10], b[12])}
    got = res.array("grad", "arg0", where=where)
    np.testing.assert_array_equal(got, _grad(5003 * 1000 + np.arange(10, 13))[None])


def test_a_zip_sweep_picks_points_by_job_or_by_key(tmp_path):
    xr = pytest.importorskip("xarray")
    n = 10
    xs = np.column_stack([np.arange(n) * 1.0, np.arange(n) % 3 * 1.0])

    def swept(jobs):
        return {"inputs.0": xs[jobs], "model.b": np.asarray(jobs) % 4 * 0.25}

    parts = {"parts": 3, "chunk_size": 4, "points": n, "rows": n * 7}
    sweep = {"mode": "zip", "keys": ["inputs.0", "model.b"], "shape": [n],
             "dataset": parts}  # fmt: skip
    _write_run(tmp_path, sweep, 4, n, swept)
    res = load(tmp_path)
    cases = {
        "job list": ({"job": [7, 2]}, [2, 7]),  # in point order
        "job range": ({"job": (3, 5)}, [3, 4, 5]),
        "one job": ({"job": 9}, [9]),
        "a key": ({"model.b": 0.5}, [2, 6]),
        "keys together": ({"model.b": (0.25, 0.5), "inputs.0[1]": 2.0}, [2, 5]),
        "a vector": ({"inputs.0": [[4.0, 1.0], [9.0, 0.0]]}, [4, 9]),
    }
    for name, (where, jobs) in cases.items():
        np.testing.assert_array_equal(
            res.array("grad", "arg0", where=where), _grad(jobs), err_msg=name
        )
        data = res.to_xarray("value", "", where=where)
        assert isinstance(data, xr.DataArray) and data.dims == ("job",)
        np.testing.assert_array_equal(data.values, _value(jobs), err_msg=name)
        np.testing.assert_array_equal(data["job"].values, jobs, err_msg=name)
        np.testing.assert_array_equal(data["inputs.0[0]"].values, xs[jobs, 0])
        np.testing.assert_array_equal(data["model.b"].values, np.array(jobs) % 4 * 0.25)
    np.testing.assert_array_equal(res.coords["inputs.0"], xs)  # all points


def test_an_old_record_without_coords_reads_them_from_the_table(tmp_path):
    res = load(_grid(tmp_path, coords=False, dataset=False))
    np.testing.assert_array_equal(res.coords["inputs.1"], VECTORS)
    np.testing.assert_array_equal(res.coords["model.b"], BS)
    got = res.array("grad", "arg0", where={"model.b": [0.5, 1.1], "inputs.1[1]": 4.0})
    np.testing.assert_array_equal(got, _grid_want([1], [0, 3]))


def test_coords_of_a_grid_read_only_the_points_along_its_axes(tmp_path):
    # Without recorded coords, a grid reads jobs 0, 4, 8 (inputs.1's axis) and
    # 0..3 (model.b's): parts 0 and 1 of three.
    _grid(tmp_path, coords=False)
    (tmp_path / "results.parquet" / "part-000002.parquet").write_bytes(b"x")
    res = load(tmp_path)
    np.testing.assert_array_equal(res.coords["inputs.1"], VECTORS)
    got = res.array("grad", "arg0", where={"inputs.1[0]": 1.0})
    np.testing.assert_array_equal(got, _grid_want([0], range(4)))


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_single_file_table_takes_the_same_where(tmp_path, fmt):
    # A single Parquet file is read lazily as well; a CSV is read whole.
    _grid(tmp_path)
    parts = sorted((tmp_path / "results.parquet").glob("part-*.parquet"))
    table = pa.concat_tables([pq.read_table(p) for p in parts])
    for part in (tmp_path / "results.parquet").iterdir():
        part.unlink()
    (tmp_path / "results.parquet").rmdir()
    if fmt == "parquet":
        pq.write_table(table, tmp_path / "results.parquet")
    else:
        pyarrow.csv.write_csv(table, tmp_path / "results.csv")
    for path in (tmp_path, tmp_path / f"results.{fmt}"):
        res = load(path)
        assert res.dims == ("inputs.1", "model.b") and res.shape == (3, 4)
        got = res.array("grad", "arg0", where={"model.b": (0.6, 1.0)})
        np.testing.assert_array_equal(got, _grid_want(range(3), [1, 2]))
        assert len(res.frame) == 12 * 7


def test_a_multirun_table_with_a_failed_job_picks_it_as_nan(tmp_path):
    # As a -m sweep aggregates: no run.json, jobs 0..3, job 2 failed (one row
    # with empty labels).
    jobs = np.array([0, 1, 3])
    ok = _rows(jobs, {"model.b": jobs * 0.1}).to_pandas()
    failed = ok.iloc[:1].assign(job=2, **{"model.b": 0.2}, status="failed",
                                error="boom", quantity="", wrt="", shape="",
                                index=0, value=np.nan)  # fmt: skip
    frame = pd.concat([ok[ok["job"] < 2], failed, ok[ok["job"] == 3]])
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False),
                   tmp_path / "results.parquet")  # fmt: skip
    res = load(tmp_path)
    assert res.dims == ("job",) and res.coords["job"].tolist() == [0, 1, 2, 3]
    got = res.array("grad", "arg0", where={"model.b": (0.1, 0.3)})
    np.testing.assert_array_equal(got[[0, 2]], _grad([1, 3]))
    assert got.shape == (3, 2, 3) and np.isnan(got[1]).all()
    only = res.array("grad", "arg0", where={"job": 2})
    assert only.shape == (1, 2, 3) and np.isnan(only).all()


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ({"model.c": 1.0}, r"'model.c' is not a swept key; the keys are \['inputs"),
        ({"job": 1}, r"'job' is not a swept key"),  # a grid is picked by its keys
        ({"model.b": 0.8}, r"model.b=0.8 is not a coordinate; model.b has \[0.5, 0.7"),
        ({"model.b": (2.0, 3.0)}, r"holds no coordinate; .*widen the range"),
        ({"inputs.1": (1.0, 2.0)}, r"inputs.1 is not a number, .*'inputs.1\[0\]'"),
        ({"inputs.1[2]": 1.0}, r"'inputs.1\[2\]' is no element of inputs.1"),
        ({"inputs.1": [1.0, 2.0, 3.0]}, r"inputs.1 takes an array of shape \(2,\)"),
        ({"model.b": slice(0.5, 1.0, 0.1)}, r"a range has no step"),
        ({"model.b": (0.5, 0.7, 0.9)}, r"a tuple is a range"),
        ([("model.b", 0.5)], r"expected a dict"),
    ],
)
def test_a_bad_where_is_refused_in_one_line(tmp_path, where, message):
    res = load(_grid(tmp_path))
    with pytest.raises(SelectionError, match=message) as err:
        res.array("grad", "arg0", where=where)
    assert isinstance(err.value, KeyError) and isinstance(err.value, ValueError)
    assert isinstance(err.value, RunnerError) and "\n" not in str(err.value)


def test_keys_that_match_no_point_together_are_refused(tmp_path):
    n = 6
    sweep = {"mode": "zip", "keys": ["model.a", "model.b"], "shape": [n]}
    _write_run(
        tmp_path, sweep, 6, n, lambda j: {"model.a": j * 1.0, "model.b": j * 2.0}
    )
    res = load(tmp_path)
    with pytest.raises(SelectionError, match="picks no point: each key picks some"):
        res.array("grad", "arg0", where={"model.a": 1.0, "model.b": 4.0})
    with pytest.raises(SelectionError, match=r"'inputs.1' is not a swept key; the "
                       r"keys are \['job', 'model.a', 'model.b'\]"):  # fmt: skip
        res.to_xarray("grad", "arg0", where={"inputs.1": 1.0})


def test_a_single_run_has_no_where_and_missing_labels_are_named(tmp_path):
    table = _rows([0], {}).drop_columns(["job", "status", "error"])
    pq.write_table(table, tmp_path / "results.parquet")
    res = load(tmp_path)
    np.testing.assert_array_equal(res.array("grad", "arg0"), _grad([0])[0])
    with pytest.raises(SelectionError, match="a single run has no swept keys"):
        res.array("grad", "arg0", where={"job": 0})
    with pytest.raises(KeyError, match=r"wrt='arg1'.*\('grad', 'arg0', ''\)"):
        res.array("grad", "arg1")


def test_layout_errors_are_kept_for_a_selection(tmp_path):
    _grid(tmp_path)
    path = tmp_path / "results.parquet" / "part-000001.parquet"
    frame = pq.read_table(path).to_pandas()
    frame.loc[frame["job"] == 6, "shape"] = "3,3"  # job 6's grad: another shape
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    res = load(tmp_path)
    res.array("grad", "arg0", where={"inputs.1[0]": 1.0})  # part 0: intact
    with pytest.raises(LayoutError, match=r"shape \(3, 3\) in job\(s\) \[6\]"):
        res.array("grad", "arg0", where={"model.b": 0.9})


def test_an_empty_dataset_or_a_foreign_table_is_refused(tmp_path):
    (tmp_path / "results.parquet").mkdir()
    with pytest.raises(RunnerError, match="holds no Parquet parts"):
        load(tmp_path)
    pq.write_table(pa.table({"x": [1.0]}), tmp_path / "t.parquet")
    with pytest.raises(RunnerError, match="is not a results table .no column"):
        load(tmp_path / "t.parquet")


@pytest.mark.parametrize("record", [True, False])
def test_a_scan_returns_only_the_rows_of_its_points_and_label(tmp_path, record):
    # With the dataset record the parts of the jobs are opened; without it the
    # filter (and each part's statistics) finds the same rows.
    dataset = _grid(tmp_path) / "results.parquet"
    parts = json.loads((tmp_path / "run.json").read_text())["sweep"]["dataset"]
    scan = Scan.open(dataset, parts if record else None)
    rows = scan.read(["job", "index", "value"], label_filter("grad", "arg0", ""),
                     jobs=np.array([9, 5]))  # fmt: skip
    assert scan.rows_read == len(rows) == 2 * 6
    assert rows["job"].tolist() == [5] * 6 + [9] * 6
    np.testing.assert_array_equal(rows["value"], _grad([5, 9]).reshape(-1))
