"""``python -m runner`` as a user runs it: in a subprocess, from the repo root."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest

from runner.compute.rows import COLUMNS

from ..conftest import ROOT

pytestmark = pytest.mark.slow


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "runner", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def test_main_job_prints_the_tutorial_jacobian(tmp_path):
    proc = run("+exp=jacobian", f"hydra.run.dir={tmp_path}")
    assert proc.returncode == 0, proc.stderr
    for text in ("[[10.", "[ 0.         16.         -2.        ]", "1.6209068",
                 "0.84147096", "2.5244129", "aux"):  # fmt: skip
        assert text in proc.stdout, (text, proc.stdout)
    table = pd.read_csv(tmp_path / "results.csv", keep_default_na=False)
    assert tuple(table.columns) == COLUMNS
    assert set(table["quantity"]) == {"grad", "value", "aux"}
    assert (tmp_path / "results.parquet").exists()
    assert (tmp_path / ".hydra" / "config.yaml").exists()
    assert "Traceback" not in proc.stderr


def test_sweep_with_a_failing_point_keeps_the_rest_and_exits_nonzero(tmp_path):
    proc = run(
        "-m", "+exp=jacobian", "inputs.0=[1.,2.,3.],[1,2,3]",
        f"hydra.sweep.dir={tmp_path}", "output.summary=false",
    )  # fmt: skip
    assert proc.returncode == 1
    table = pd.read_parquet(tmp_path / "results.parquet")
    # [1.,2.,3.] and [1,2,3] are equal numbers, and exp is the same in both jobs:
    # only keys whose values differ between the jobs become columns.
    assert list(table.columns) == ["job", "status", "error", *COLUMNS]
    ok = table[table["status"] == "ok"]
    failed = table[table["status"] == "failed"]
    assert set(ok["job"]) == {0} and len(ok) == 17
    assert set(failed["job"]) == {1}
    assert "inputs.0" in failed["error"].iloc[0]
    assert not (tmp_path / "1" / "results.csv").exists()


def test_sweep_over_inputs_and_model_kwargs(tmp_path):
    proc = run(
        "-m", "+exp=fitzhugh_nagumo", "model.current=0.0,0.5",
        f"hydra.sweep.dir={tmp_path}", "output.summary=false",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(tmp_path / "results.csv")
    assert sorted(table["model.current"].unique()) == [0.0, 0.5]
    assert (table["status"] == "ok").all()


@pytest.mark.parametrize(
    ("args", "key"),
    [
        (["+exp=nope"], "exp: unknown experiment 'nope'"),
        (["+exp=jacobian", "diff.argnums=5"], "diff.argnums:"),
        (["+exp=grad_vars", "diff.grad_vars=[w,c]"], "available Arrays: w, b"),
        (["+exp=jacobian", "diff.kind=grad"], "Gradient only defined for scalar"),
        (["+exp=jacobian", "model._target_=runner.models.nope.f"], "cannot import"),
        (["+exp=jacobian", "model._target_=os.system"], "outside the allowed"),
        (["+exp=jacobian", "inputs.0=[[1.,2.],[3.]]"], "inputs.0:"),
        (["+exp=grad_vars", "model.n=-1"], "model: runner.models.tutorial.Linear"),
    ],
)
def test_bad_config_is_one_line_without_traceback(tmp_path, args, key):
    proc = run(*args, f"hydra.run.dir={tmp_path}")
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and key in lines[0], proc.stderr
    assert not (tmp_path / "results.csv").exists()


def test_full_error_shows_the_traceback(tmp_path):
    proc = run("+exp=jacobian", "diff.argnums=5", f"hydra.run.dir={tmp_path}",
               env={"HYDRA_FULL_ERROR": "1"})  # fmt: skip
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr and "ConfigError" in proc.stderr


def test_exit_status_counts_only_this_calls_jobs(tmp_path, monkeypatch):
    import runner.app.cli
    import runner.app.sweep

    token = runner.app.sweep.GATHERED.set([1])  # an earlier call's, in this process
    argv = ["runner", "+exp=grad", f"hydra.run.dir={tmp_path}", "output.plots=false"]
    monkeypatch.setattr(sys, "argv", argv)
    try:
        assert runner.app.cli.main() == 0
    finally:
        runner.app.sweep.GATHERED.reset(token)
