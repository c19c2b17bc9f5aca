"""Tables load back: ``runner.results.load`` gives the arrays each experiment
computed, in their shapes, with a sweep's points as leading axes."""

from __future__ import annotations

import copy
import json
import sys

import numpy as np
import pandas as pd
import pytest

from runner.app.job import execute, run_job, to_plain
from runner.app.sweep import start_sweep, write_aggregate
from runner.compute.points import sweep_params
from runner.config.errors import RunnerError
from runner.results import LayoutError, load, read_table
from runner.results.tables import write_tables

from ..conftest import EXPERIMENTS

#: Fewer points for the vectorized sweeps, so that each point can be recomputed.
FEWER = {"jacobian_sweep": ["sweep.inputs.1.num=3"]}


def _quiet(plain, **output):
    plain = copy.deepcopy(plain)
    plain["output"] = {**(plain.get("output") or {}), "plots": False,
                       "summary": False, **output}  # fmt: skip
    return plain


def _at(plain, point):
    """``plain`` without its sweep block, with the swept keys set to ``point``."""
    plain = copy.deepcopy(plain)
    plain.pop("sweep")
    for key, value in point.items():
        kind, path = key.split(".", 1)
        if kind == "inputs":
            plain["inputs"][int(path)] = np.asarray(value).tolist()
        else:
            plain["model"][path] = float(value)
    return plain


def _assert_loads_back(results, expected, where=()):
    for r in expected:
        got = results.array(r.quantity, r.wrt, r.output)[where]
        want = np.asarray(r.array, dtype=np.float64)
        assert got.shape == want.shape, (r.quantity, r.wrt, r.output)
        label = f"{r.quantity} {r.wrt} {r.output}"
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7, err_msg=label)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_loads_back_as_it_computed(compose, name, tmp_path):
    plain = to_plain(compose(f"+exp={name}", *FEWER.get(name, [])))
    assert run_job(_quiet(plain), tmp_path) == 0
    results = load(tmp_path)
    if not sweep_params(plain.get("sweep") or {}):
        assert results.dims == () and results.coords == {}
        _assert_loads_back(results, execute(plain))
        return
    # A vectorized sweep: one axis per key of a grid; each point as run alone.
    record = json.loads((tmp_path / "run.json").read_text())
    assert results.dims == tuple(record["sweep"]["keys"])
    for where in np.ndindex(results.shape):
        if plain["sweep"].get("mode", "grid") == "grid":
            point = {k: results.coords[k][i] for k, i in zip(results.dims, where)}
        else:
            point = {k: v[where[0]] for k, v in results.coords.items() if k != "job"}
        _assert_loads_back(results, execute(_at(plain, point)), where)


@pytest.mark.parametrize("formats", [["csv"], ["parquet"]])
def test_csv_only_and_parquet_only_outputs_load(compose, formats, tmp_path):
    plain = to_plain(compose("+exp=has_aux_vars"))
    assert run_job(_quiet(plain, formats=formats), tmp_path) == 0
    assert sorted(p.suffix for p in tmp_path.glob("results.*")) == [f".{formats[0]}"]
    _assert_loads_back(load(tmp_path), execute(plain))
    _assert_loads_back(load(tmp_path / f"results.{formats[0]}"), execute(plain))


def test_csv_keeps_text_as_text(tmp_path):
    write_tables({"quantity": ["value", "grad"], "wrt": ["", "arg0"],
                  "output": ["", "[1]"], "shape": ["", "2"], "index": [0, 1],
                  "value": [np.nan, 0.5]}, tmp_path, ["csv"])  # fmt: skip
    table = read_table(tmp_path / "results.csv")
    assert table["wrt"].tolist() == ["", "arg0"]  # not NaN
    assert table["shape"].tolist() == ["", "2"]  # a shape, not the number 2
    assert table["index"].dtype == np.int64 and np.isnan(table["value"].iloc[0])


def test_a_zip_sweep_has_one_axis_of_points(tmp_path):
    cfg = {"model": {"_target_": "runner.models.tutorial.f1"},
           "inputs": [[1.0, 2.0, 3.0], [10.0, 5.0]],
           "diff": {"kind": "jacobian", "has_aux": True},
           "sweep": {"mode": "zip",
                     "inputs": {"0": [[1.0, 2.0, 3.0], [0.5, 0.0, 1.0]],
                                "1": [[10.0, 5.0], [2.0, 3.0]]}}}  # fmt: skip
    assert run_job(_quiet(cfg), tmp_path) == 0
    results = load(tmp_path)
    assert results.dims == ("job",) and results.shape == (2,)
    np.testing.assert_array_equal(results.coords["inputs.1"], [[10.0, 5.0], [2.0, 3.0]])
    for p in range(2):
        point = {k: v[p] for k, v in results.coords.items() if k != "job"}
        _assert_loads_back(results, execute(_at(cfg, point)), (p,))


def _job(root, num, y, status="ok"):
    """A -m job as Hydra leaves it: its overrides, config, run.json and tables."""
    job = root / str(num)
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text(f"- inputs.1=[{y[0]},{y[1]}]\n")
    cfg = {"model": {"_target_": "runner.models.tutorial.f1"},
           "inputs": [[1.0, 2.0, 3.0], y],
           "diff": {"kind": "jacobian", "has_aux": True}}  # fmt: skip
    (job / ".hydra" / "config.yaml").write_text(json.dumps(cfg))
    if status == "ok":
        assert run_job(_quiet(cfg), job, sweep_id=_job.sweep) == 0
    else:
        (job / "run.json").write_text(json.dumps({"status": status, "error": "boom",
                                                  "sweep_id": _job.sweep}))  # fmt: skip
    return cfg


def test_a_multirun_sweep_loads_with_failed_points_as_nan(tmp_path):
    _job.sweep = start_sweep(tmp_path, ["inputs.1=[10.0,5.0],[2.0,3.0],[1.0,1.0]"])
    cfgs = [_job(tmp_path, 0, [10.0, 5.0]), _job(tmp_path, 1, [2.0, 3.0]),
            _job(tmp_path, 2, [1.0, 1.0], status="failed")]  # fmt: skip
    frame, bad = write_aggregate(tmp_path)
    assert bad == 1 and list(frame.columns[:3]) == ["job", "inputs.1[0]", "inputs.1[1]"]
    for table in (tmp_path, tmp_path / "results.csv", tmp_path / "results.parquet"):
        results = load(table)
        assert results.dims == ("job",) and results.coords["job"].tolist() == [0, 1, 2]
        np.testing.assert_array_equal(results.coords["inputs.1"][:2], [[10, 5], [2, 3]])
        for p, cfg in enumerate(cfgs[:2]):
            _assert_loads_back(results, execute(cfg), (p,))
        assert np.isnan(results.array("grad", "arg0")[2]).all()  # the failed job


def test_missing_rows_and_paths_are_named(tmp_path):
    with pytest.raises(RunnerError, match="does not exist"):
        load(tmp_path / "nowhere")
    with pytest.raises(RunnerError, match="holds no results.parquet or results.csv"):
        load(tmp_path)
    pd.DataFrame({"value": [1.0]}).to_json(tmp_path / "t.json")
    with pytest.raises(RunnerError, match="not a results table"):
        load(tmp_path / "t.json")
    cfg = {"model": {"_target_": "runner.models.tutorial.linear"}, "inputs": [2.0, 1.0]}
    assert run_job(_quiet(cfg), tmp_path) == 0
    with pytest.raises(KeyError, match=r"wrt='arg1'.*\('grad', 'arg0', ''\)"):
        load(tmp_path).array("grad", "arg1")


@pytest.mark.slow
def test_a_command_line_multirun_loads_back(compose, tmp_path):
    from .test_cli import run

    proc = run("-m", "+exp=jacobian", "inputs.1=[10.0,5.0],[2.0,0.7000000000000001]",
               "output.plots=false", f"hydra.sweep.dir={tmp_path}")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    results = load(tmp_path)
    assert results.dims == ("job",) and results.shape == (2,)
    np.testing.assert_array_equal(results.coords["inputs.1"], [[10, 5], [2, 0.7]])
    for p, y in enumerate(["[10.0,5.0]", "[2.0,0.7]"]):
        plain = to_plain(compose("+exp=jacobian", f"inputs.1={y}"))
        _assert_loads_back(results, execute(plain), (p,))


def test_to_xarray_names_the_sweeps_axes(compose, tmp_path):
    xr = pytest.importorskip("xarray")
    plain = to_plain(compose("+exp=fitzhugh_nagumo_sweep"))
    assert run_job(_quiet(plain), tmp_path) == 0
    results = load(tmp_path)
    data = results.to_xarray("grad", "arg0")
    assert isinstance(data, xr.DataArray) and data.name == "grad/arg0"
    assert data.dims == ("model.b", "model.tau", "dim_0", "dim_1")
    np.testing.assert_array_equal(data.values, results.array("grad", "arg0"))
    one = data.sel({"model.b": 0.7, "model.tau": 15.0}).values
    np.testing.assert_allclose(one, [[1 - plain["inputs"][0][0] ** 2, -1.0],
                                     [1 / 15.0, -0.7 / 15.0]], rtol=1e-5)  # fmt: skip


def test_to_xarray_without_xarray_says_how_to_install_it(monkeypatch, tmp_path):
    cfg = {"model": {"_target_": "runner.models.tutorial.linear"}, "inputs": [2.0, 1.0]}
    assert run_job(_quiet(cfg), tmp_path) == 0
    monkeypatch.setitem(sys.modules, "xarray", None)  # as if not installed
    with pytest.raises(ImportError, match=r"autodiff-runner\[xarray\]"):
        load(tmp_path).to_xarray()


def _ragged_table(path, first, second):
    """A -m sweep's table whose two jobs hold ``grad``/``arg0`` of other shapes."""
    frames = []
    for job, shape in enumerate((first, second)):
        size = int(np.prod(shape))
        frames.append(pd.DataFrame({
            "job": job, "inputs.0[0]": 1.0, "status": "ok", "error": "",
            "quantity": "grad", "wrt": "arg0", "output": "",
            "shape": ",".join(map(str, shape)), "index": np.arange(size),
            "value": np.arange(size, dtype=float)}))  # fmt: skip
    write_tables(pd.concat(frames, ignore_index=True), path)


@pytest.mark.parametrize("shapes", [((3, 3), (2, 2)), ((2, 2), (3, 3))])
def test_ragged_results_of_a_sweep_are_refused_naming_jobs_and_shapes(shapes, tmp_path):
    _ragged_table(tmp_path, *shapes)
    for table in (tmp_path / "results.csv", tmp_path / "results.parquet"):
        results = load(table)
        with pytest.raises(LayoutError, match="a different shape per job") as err:
            results.array("grad", "arg0")
        message = str(err.value)
        first, second = (f"shape ({n}, {n}) in job(s) [{j}]" for j, (n, _) in
                         enumerate(shapes))  # fmt: skip
        assert first in message and second in message and "res.frame" in message
        assert isinstance(err.value, ValueError) and "\n" not in message
        with pytest.raises(LayoutError, match="shape"):
            results.to_xarray("grad", "arg0")


def test_a_multirun_over_input_lengths_is_refused_then_loads_per_job(tmp_path):
    # -m +exp=... 'inputs.0=[1.0,2.0],[1.0,2.0,3.0]': a 2x2, then a 3x3 Jacobian.
    sweep = start_sweep(tmp_path, ["inputs.0=[1.0,2.0],[1.0,2.0,3.0]"])
    for num, x in enumerate([[1.0, 2.0], [1.0, 2.0, 3.0]]):
        job = tmp_path / str(num)
        (job / ".hydra").mkdir(parents=True)
        (job / ".hydra" / "overrides.yaml").write_text(f"- inputs.0={x}\n")
        cfg = {"model": {"_target_": "runner.models.tutorial.sin_product"},
               "inputs": [x, x], "diff": {"kind": "jacobian"}}  # fmt: skip
        (job / ".hydra" / "config.yaml").write_text(json.dumps(cfg))
        assert run_job(_quiet(cfg), job, sweep_id=sweep) == 0
    assert write_aggregate(tmp_path)[1] == 0
    with pytest.raises(LayoutError, match=r"\(2, 2\) in job\(s\) \[0\]; shape \(3"):
        load(tmp_path).array("grad", "arg0")
    for num, x in enumerate([[1.0, 2.0], [1.0, 2.0, 3.0]]):  # d/da sin(b) a, b = x
        want = np.diag(np.sin(x))
        got = load(tmp_path / str(num)).array("grad", "arg0")
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_rows_outside_their_shape_are_refused(tmp_path):
    _ragged_table(tmp_path, (2, 2), (2, 2))
    frame = read_table(tmp_path / "results.parquet")
    outside = frame.assign(index=frame["index"] + 1)  # 1..4: 4 is outside (2, 2)
    write_tables(outside, tmp_path, ["parquet"])
    outside_both = r"index 4 outside its shape \(2, 2\) in job\(s\) \[0, 1\]"
    with pytest.raises(LayoutError, match=outside_both):
        load(tmp_path / "results.parquet").array("grad", "arg0")
    twice = frame.assign(index=frame["index"].where(frame["index"] != 1, 0))
    write_tables(twice, tmp_path, ["parquet"])
    with pytest.raises(LayoutError, match=r"index 0 twice in job\(s\) \[0, 1\]"):
        load(tmp_path / "results.parquet").array("grad", "arg0")


def _table_array(frame, job, quantity="grad", wrt="arg0"):
    """One job's array, read off the table's rows (not through ``load``)."""
    rows = frame[(frame["job"] == job) & (frame["quantity"] == quantity)
                 & (frame["wrt"] == wrt) & (frame["output"] == "")]  # fmt: skip
    shape = tuple(int(n) for n in rows["shape"].iloc[0].split(","))
    return rows.sort_values("index")["value"].to_numpy().reshape(shape)


def _swept_vector(compose, case, tmp_path):
    """A sweep over a vector input: vectorized (one key, or a grid with a model
    parameter) or a -m sweep; returns its directory."""
    if case == "jacobian_sweep":
        plain = to_plain(compose("+exp=jacobian_sweep", *FEWER["jacobian_sweep"]))
    elif case == "grid":
        plain = {"model": {"_target_": "runner.models.neuro.FitzHughNagumo"},
                 "method": "vector_field", "inputs": [[-1.2, -0.6]],
                 "diff": {"kind": "jacfwd"},
                 "sweep": {"mode": "grid", "inputs": {"0": [[-1.2, -0.6],
                                                            [-1.0, -0.5]]},
                           "model": {"b": [0.6, 0.7, 0.8]}}}  # fmt: skip
    else:
        _job.sweep = start_sweep(tmp_path, ["inputs.1=[10.0,5.0],[2.0,3.0]"])
        _job(tmp_path, 0, [10.0, 5.0]), _job(tmp_path, 1, [2.0, 3.0])
        write_aggregate(tmp_path)
        return tmp_path
    assert run_job(_quiet(plain), tmp_path) == 0
    return tmp_path


@pytest.mark.parametrize("case", ["jacobian_sweep", "grid", "multirun"])
def test_to_xarray_gives_a_swept_vector_one_coordinate_per_element(
    compose, case, tmp_path
):
    pytest.importorskip("xarray")
    results = load(_swept_vector(compose, case, tmp_path))
    data = results.to_xarray("grad", "arg0")
    frame = results.frame
    vector = next(k for k in results.coords if np.ndim(results.coords[k]) == 2)
    for job in frame["job"].unique():
        where = np.unravel_index(int(job), results.shape)
        point = data.isel(dict(zip(results.dims, where)))
        np.testing.assert_array_equal(point.values, _table_array(frame, job))
        row = frame[frame["job"] == job].iloc[0]
        for i in range(2):  # the swept vector's elements, as in the table
            assert point[f"{vector}[{i}]"].item() == row[f"{vector}[{i}]"]
        for key in results.dims:
            if key in frame:  # a swept number: the axis's index
                assert point[key].item() == row[key]
