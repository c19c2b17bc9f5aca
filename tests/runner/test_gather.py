"""Gathering a -m sweep's jobs: every job has rows, swept columns come first,
and a damaged job record is a failed row, never ``ok`` and never dropped."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from runner.app.sweep import aggregate, main
from runner.compute.rows import COLUMNS
from runner.results import load
from runner.results.tables import write_tables

from .test_sweep import ROW, _job


def test_a_job_without_result_rows_has_one_empty_row(tmp_path, capsys):
    # -m 'inputs.0=[2.0],[]': the second job's gradient has no elements.
    _job(tmp_path, 0, "ok", ["inputs.0=[2.0]"], [ROW], config={"inputs": [[2.0]]})
    _job(tmp_path, 1, "ok", ["inputs.0=[]"], [], config={"inputs": [[]]})
    frame = aggregate(tmp_path)
    assert frame["job"].tolist() == [0, 1] and frame["status"].tolist() == ["ok"] * 2
    empty = frame.iloc[1]
    assert empty[["quantity", "wrt", "output", "shape"]].tolist() == [""] * 4
    assert empty["index"] == -1 and np.isnan(empty["value"])
    assert main([str(tmp_path)]) == 0
    assert "2 job(s), 0 failed" in capsys.readouterr().out
    assert load(tmp_path).coords["job"].tolist() == [0, 1]


def test_swept_columns_come_right_after_job_in_the_runners_order(tmp_path):
    # -m 'inputs.0=[1.0,2.0],[1.0,2.0,3.0]' model.b=0.5,0.6 (a zip of points); the
    # elements 0 and 1 are the same in both jobs, but the vector is not.
    for num, (x, b) in enumerate([([1.0, 2.0], 0.5), ([1.0, 2.0, 3.0], 0.6)]):
        config = {"inputs": [x], "model": {"b": b}, "seed": 0}
        overrides = [f"inputs.0={x}", f"model.b={b}", "seed=0"]
        _job(tmp_path, num, "ok", overrides, [ROW], config=config)
    frame = aggregate(tmp_path)
    swept = ["inputs.0[0]", "inputs.0[1]", "inputs.0[2]", "model.b"]
    assert list(frame.columns) == ["job", *swept, "status", "error", *COLUMNS]
    main([str(tmp_path)])
    results = load(tmp_path)
    np.testing.assert_array_equal(results.coords["inputs.0"], [[1, 2, np.nan],
                                                               [1, 2, 3]])  # fmt: skip
    assert results.coords["model.b"].tolist() == [0.5, 0.6]


def _status(job):
    (job / "run.json").write_text(json.dumps({"status": 1}))


def _status_list(job):
    (job / "run.json").write_text(json.dumps({"status": ["ok"], "error": ""}))


def _status_unknown(job):
    (job / "run.json").write_text(json.dumps({"status": "done"}))


def _not_json(job):
    (job / "run.json").write_text("{not json")


def _not_an_object(job):
    (job / "run.json").write_text("[]")


def _bad_parquet(job):
    (job / "results.parquet").write_bytes(b"not a parquet file")


def _bad_csv(job):
    (job / "results.parquet").unlink()
    (job / "results.csv").write_text(
        '"quantity","wrt"\n"grad","arg0"\n"grad","arg0","",""\n'
    )


def _no_value_column(job):
    write_tables(pd.DataFrame({"quantity": ["grad"], "index": [0]}), job)


def _no_tables(job):
    for name in ("results.parquet", "results.csv"):
        (job / name).unlink()


DAMAGE = {
    _status: "status",
    _status_list: "status",
    _status_unknown: "status",
    _not_json: "JSONDecodeError",
    _not_an_object: "JSON object",
    _bad_parquet: "results.parquet",
    _bad_csv: "results.csv",
    _no_value_column: "value",
    _no_tables: "no results.parquet or results.csv",
}


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__.strip("_"))
def test_a_damaged_job_is_a_failed_row_with_its_reason(damage, tmp_path, capsys):
    for num in range(3):
        _job(tmp_path, num, "ok", [f"inputs.0={num}.0"], [ROW])
    damage(tmp_path / "1")
    frame = aggregate(tmp_path)
    assert frame["job"].tolist() == [0, 1, 2]
    assert frame["status"].tolist() == ["ok", "failed", "ok"]
    assert frame["inputs.0"].tolist() == [0.0, 1.0, 2.0]
    error = frame["error"].iloc[1]
    assert DAMAGE[damage] in error and str(tmp_path / "1") in error
    assert "\n" not in error and "resume=true" in error
    assert frame["index"].iloc[1] == -1 and np.isnan(frame["value"].iloc[1])
    assert main([str(tmp_path)]) == 1
    assert "3 job(s), 1 failed" in capsys.readouterr().out
    assert load(tmp_path).array("grad", "arg0").tolist()[::2] == [2.0, 2.0]
