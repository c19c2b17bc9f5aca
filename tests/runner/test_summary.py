"""The console summary: true stability statements, kept in summary.txt and the log."""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from rich.console import Console

from runner.app.job import run_job
from runner.compute.labels import Result
from runner.compute.rows import result_columns
from runner.results.summary import console_for, print_summary

from ..conftest import ROOT, runner_script
from ..strategies import results

WILSON_COWAN = {
    "model": {"_target_": "runner.models.neuro.WilsonCowan"},
    "method": "vector_field",
    "inputs": [[0.1, 0.05]],
    "diff": {"kind": "jacobian", "eigenvalues": True},
    "output": {"plots": False},
}


def _run(cfg, tmp_path):
    screen = Console(file=io.StringIO(), width=100)
    assert run_job(cfg, tmp_path, title="wilson_cowan", console=screen) == 0
    return screen.file.getvalue()


def test_a_point_that_is_not_a_fixed_point_is_not_called_one(tmp_path):
    shown = _run(WILSON_COWAN, tmp_path)
    assert "fixed point w.r.t." not in shown
    assert "local linearization w.r.t. arg0 at the given inputs (not a fixed point" in (
        " ".join(shown.split())
    )
    table = pd.read_csv(tmp_path / "results.csv", keep_default_na=False)
    (residual,) = table.loc[table["quantity"] == "residual", "value"]
    assert residual == pytest.approx(0.70512508, rel=1e-6)


def test_a_solved_point_is_a_fixed_point_and_the_summary_is_kept(tmp_path):
    cfg = {**WILSON_COWAN, "diff": {**WILSON_COWAN["diff"], "fixed_point": True}}
    log = tmp_path / "job.log"
    handler = logging.FileHandler(log)
    logging.getLogger().addHandler(handler)
    try:
        shown = _run(cfg, tmp_path)
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    assert "fixed point w.r.t. arg0 at [" in shown and ": stable (max Re" in shown
    saved = (tmp_path / "summary.txt").read_text()
    assert " ".join(saved.split()) == " ".join(shown.split())
    assert "fixed point w.r.t. arg0 at [" in log.read_text()


def test_no_summary_no_summary_file(tmp_path):
    cfg = {**WILSON_COWAN, "output": {"plots": False, "summary": False}}
    assert run_job(cfg, tmp_path) == 0
    assert not (tmp_path / "summary.txt").exists()


@pytest.mark.slow
def test_the_runner_command_writes_the_summary_to_the_job_log(tmp_path):
    proc = subprocess.run(
        [runner_script(), "+exp=wilson_cowan", f"hydra.run.dir={tmp_path}",
         "output.plots=false"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "JAX_PLATFORMS": "cpu"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    log = (tmp_path / "runner.log").read_text()  # named after the runner
    assert "console summary:" in log and "not a fixed point" in log
    assert "not a fixed point" in (tmp_path / "summary.txt").read_text()


_NUMBER = re.compile(r"[-+]?(?:nan|inf|\d+\.?\d*(?:e[-+]?\d+)?)")


def _numbers(text, dtype):
    """Every number in ``text``, parsed in ``dtype`` and given as float64."""
    return [float(np.dtype(dtype).type(t)) for t in _NUMBER.findall(text)]


def _values_cells(text):
    """The text of the summary table's ``values`` column, row after row."""
    lines = [line.split("│") for line in text.splitlines() if line.startswith("│")]
    return " ".join(cells[5] for cells in lines)  # the header's bars are ┃


def _same(got, want):
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want, np.float64))


@settings(max_examples=40, deadline=None)
@given(results())
@example(("fixed_point", np.array([0.99973893, 0.9366436], np.float32)))
@example(("value", np.array([1e-9, 123456.789, -9.86e-305])))
@example(("check_rel_error", np.array(1.2345678e-9)))
def test_printed_values_parse_back_to_the_tables(result):
    quantity, array = result
    console = console_for(file=io.StringIO(), record=True)
    print_summary("t", [Result(quantity, "arg0", "", array)], console)
    printed = _numbers(_values_cells(console.export_text()), array.dtype)
    _same(printed, result_columns([Result(quantity, "", "", array)])["value"])


def test_the_fixed_point_and_stability_line_print_what_the_table_holds(tmp_path):
    cfg = {**WILSON_COWAN, "diff": {**WILSON_COWAN["diff"], "fixed_point": True}}
    shown = " ".join(_run(cfg, tmp_path).split())
    table = pd.read_parquet(tmp_path / "results.parquet")
    values = {q: rows["value"].to_numpy() for q, rows in table.groupby("quantity")}
    at = re.search(r"fixed point w\.r\.t\. arg0 at \[(.*?)\]", shown)[1]
    _same(_numbers(at, np.float32), values["fixed_point"])  # the model's float32
    _same(_numbers(re.search(r"\|F\| = (\S+)\)", shown)[1], float), values["residual"])
    top = re.search(r"max Re = (\S+)\)", shown)[1]
    _same(_numbers(top, float), values["eigenvalue_real"].max())
