"""One finiteness check: every number a table holds is looked at, for single runs
and vectorized sweeps, and NaN/Inf is flagged (rows and a warning) or fails."""

from __future__ import annotations

import json

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import example, given, settings

from runner.app.job import execute_sweep, run_job
from runner.compute.experiment import DiffSpec, compute
from runner.compute.labels import Result
from runner.compute.nonfinite import nonfinite_rows, raise_on_nonfinite
from runner.compute.rows import result_columns
from runner.config.errors import CheckError
from runner.results import read_table

from ..strategies import TABLE_QUANTITIES, result_lists

FHN = {
    "model": {"_target_": "runner.models.neuro.FitzHughNagumo"},
    "method": "vector_field",
    "inputs": [[-1.19941, -0.62426]],
    "diff": {"kind": "jacfwd", "eigenvalues": True},
    "output": {"plots": False, "summary": False},
}


@pytest.mark.parametrize("quantity", TABLE_QUANTITIES)
def test_every_quantity_of_the_table_is_flagged(quantity):
    rows = nonfinite_rows([Result(quantity, "arg0", "", np.array([1.0, np.nan]))])
    assert [(r.quantity, r.wrt, float(r.array)) for r in rows] == [
        (f"nonfinite_{quantity}", "arg0", 1.0)
    ]
    with pytest.raises(CheckError, match=f"{quantity} w.r.t. arg0 holds 1 NaN/Inf"):
        raise_on_nonfinite(rows)


@settings(max_examples=30, deadline=None)
@given(result_lists())
@example([("residual", np.array(np.nan)), ("check_rel_error", np.array([np.inf]))])
def test_flags_count_every_nonfinite_value_of_the_table(pairs):
    results = [Result(q, f"arg{i}", "", a) for i, (q, a) in enumerate(pairs)]
    flagged = sum(float(r.array) for r in nonfinite_rows(results))
    table = result_columns(results)["value"]  # the reference: what the table holds
    assert flagged == np.size(table) - np.isfinite(table).sum()


def _nan_current(**output):
    return {**FHN, "model": {**FHN["model"], "current": float("nan")},
            "output": {**FHN["output"], **output}}  # fmt: skip


def test_a_nan_residual_fails_with_fail_on_nonfinite(tmp_path, capsys):
    # I = NaN: F(x) is NaN, its Jacobian (I-free) and eigenvalues are finite.
    assert run_job(_nan_current(fail_on_nonfinite=True), tmp_path) == 1
    assert "output.fail_on_nonfinite: residual holds 1 NaN" in capsys.readouterr().err
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["status"] == "failed" and record["error_type"] == "CheckError"
    assert not (tmp_path / "results.csv").exists()


def test_a_nan_residual_is_flagged_and_warned(tmp_path, capsys):
    assert run_job(_nan_current(), tmp_path) == 0
    assert "warning: residual holds 1 NaN/Inf value(s)" in capsys.readouterr().err
    table = read_table(tmp_path / "results.csv")
    flags = table[table["quantity"].str.startswith("nonfinite_")]
    assert flags[["quantity", "value"]].values.tolist() == [["nonfinite_residual", 1]]


def _field(x):
    return jnp.stack([jnp.sqrt(x[0]), x[1] * x[0]])


def test_eigenvalues_of_a_nonfinite_jacobian_are_nan_and_flagged():
    rows = compute(_field, [[0.0, 1.0]], DiffSpec(kind="jacobian", eigenvalues=True))
    out = {r.quantity: r.array for r in rows}
    assert np.isinf(out["grad"][0, 0])
    assert np.isnan(out["eigenvalue_real"]).all()
    assert np.isnan(out["eigenvalue_imag"]).all()  # not 0.0
    flagged = {r.quantity: float(r.array) for r in rows if r.quantity[:3] == "non"}
    assert flagged["nonfinite_eigenvalue_imag"] == 2.0


def _sweep_rows(table, quantity, point):
    rows = (table["quantity"] == quantity) & (table["job"] == point)
    return table["value"][rows]


def test_a_sweep_gives_nan_eigenvalues_only_where_the_jacobian_is_not_finite():
    # At v = 1e20 (float32) 1 - v^2 = -inf: only that point's Jacobian is not finite.
    cfg = {**FHN, "sweep": {"inputs": {"0": [[-1.19941, -0.62426], [1e20, 0.0]]}}}
    table = execute_sweep(cfg)
    jacobian = _sweep_rows(table, "grad", 0).reshape(2, 2)
    want = np.sort_complex(np.linalg.eigvals(jacobian))
    got = _sweep_rows(table, "eigenvalue_real", 0) + 1j * _sweep_rows(
        table, "eigenvalue_imag", 0
    )
    np.testing.assert_allclose(np.sort_complex(got), want, rtol=1e-12)
    assert not np.isfinite(_sweep_rows(table, "grad", 1)).all()
    for quantity in ("eigenvalue_real", "eigenvalue_imag"):
        assert np.isnan(_sweep_rows(table, quantity, 1)).all()


def test_a_sweep_with_nan_fails_with_fail_on_nonfinite(tmp_path, capsys):
    cfg = {**_nan_current(fail_on_nonfinite=True),
           "sweep": {"inputs": {"0": [[-1.19941, -0.62426], [0.0, 0.0]]}}}  # fmt: skip
    assert run_job(cfg, tmp_path) == 1
    assert "output.fail_on_nonfinite: the sweep's table holds 2 NaN/Inf" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "results.csv").exists()
