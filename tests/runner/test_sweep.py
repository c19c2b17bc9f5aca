"""Aggregating sweep directories from disk, complete or not."""

from __future__ import annotations

import json

import pandas as pd

from runner.experiment import COLUMNS
from runner.sweep import aggregate, main
from runner.tables import write_tables


def _job(root, num, status, overrides, rows=None, error=""):
    job = root / str(num)
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text(
        "".join(f"- {o}\n" for o in overrides)
    )
    (job / "run.json").write_text(json.dumps({"status": status, "error": error}))
    if rows is not None:
        frame = pd.DataFrame(rows, columns=list(COLUMNS))
        write_tables(frame, job)


def test_aggregate_keeps_good_rows_and_records_failures(tmp_path):
    row = ("grad", "arg0", "", "()", 2.0)
    _job(tmp_path, 0, "ok", ["+exp=grad", "inputs.0=2.0"], [row])
    _job(tmp_path, 1, "failed", ["+exp=grad", "inputs.0=2"], error="inputs.0: ints")
    _job(tmp_path, 2, "running", ["+exp=grad", "inputs.0=3.0"])  # killed mid-run
    _job(tmp_path, 10, "ok", ["+exp=grad", "inputs.0=4.0"], [row])
    frame = aggregate(tmp_path)
    assert frame["job"].tolist() == [0, 1, 2, 10]
    assert frame["status"].tolist() == ["ok", "failed", "incomplete", "ok"]
    assert frame["inputs.0"].tolist() == [2.0, 2.0, 3.0, 4.0]  # numbers, parsed
    assert frame["error"].iloc[1] == "inputs.0: ints"
    assert frame["value"].iloc[0] == 2.0 and pd.isna(frame["value"].iloc[1])


def test_standalone_command_writes_the_table_and_reports_failures(tmp_path, capsys):
    _job(tmp_path, 0, "ok", ["+exp=grad"], [("grad", "arg0", "", "()", 2.0)])
    _job(tmp_path, 1, "failed", ["+exp=grad"], error="boom")
    assert main([str(tmp_path)]) == 1
    assert "2 job(s), 1 failed" in capsys.readouterr().out
    assert len(pd.read_csv(tmp_path / "results.csv")) == 2
    assert main([str(tmp_path / "missing")]) == 2
