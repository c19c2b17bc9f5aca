"""The console summary: true stability statements, kept in summary.txt and the log."""

from __future__ import annotations

import io
import logging
import os
import subprocess

import pandas as pd
import pytest
from rich.console import Console

from runner.job import run_job

from ..conftest import ROOT, runner_script

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
