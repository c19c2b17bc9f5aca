"""Tables load back: ``runner.results.load`` gives the arrays each experiment
computed, in their shapes, with a sweep's points as leading axes."""

from __future__ import annotations

import copy
import json
import sys

import numpy as np
import pandas as pd
import pytest

from runner.errors import RunnerError
from runner.job import execute, run_job, to_plain
from runner.results import load, read_table
from runner.sweep import start_sweep, write_aggregate
from runner.tables import write_tables
from runner.vsweep import sweep_params

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
