"""A job killed with SIGKILL mid-run leaves no table that looks complete.

The killed job's ``run.json`` stays ``running``, it has no ``results.*``, the
sweep's aggregation reports it ``incomplete``, and ``resume=true`` finishes the
sweep by re-running only that job.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from runner.sweep import aggregate

from ..conftest import ROOT
from .faulty_models import PREFIX

pytestmark = pytest.mark.slow

ARGS = [
    "-m", f"model._target_={PREFIX}sleepy", f"allowed_targets=[{PREFIX}]",
    "+exp=grad", "inputs=[[1.0,2.0]]", "output.summary=false", "output.plots=false",
]  # fmt: skip


def _runner(sweep_dir, *extra, env=None):
    return subprocess.Popen(
        [sys.executable, "-m", "runner", *ARGS, f"hydra.sweep.dir={sweep_dir}",
         "inputs.0=[1.0,2.0],[1.0,2.0,3.0]", *extra],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_sigkill_mid_job_leaves_it_incomplete_and_resume_finishes_it(tmp_path):
    sweep_dir, marker = tmp_path / "sweep", tmp_path / "computing"
    # Job 0 (two elements) finishes; job 1 (three) sleeps while computing.
    env = {"FAULT_MARKER": str(marker), "FAULT_SLEEP": "120", "FAULT_MIN_SIZE": "3"}
    proc = _runner(sweep_dir, env=env)
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the slow job never started"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    done, killed = sweep_dir / "0", sweep_dir / "1"
    assert json.loads((done / "run.json").read_text())["status"] == "ok"
    assert json.loads((killed / "run.json").read_text())["status"] == "running"
    tables = [p.name for p in killed.iterdir() if "results" in p.name]
    assert tables == []  # neither a table nor a half-written temp file
    assert not (sweep_dir / "results.csv").exists()  # the sweep never finished
    frame = aggregate(sweep_dir)
    assert frame.groupby("job")["status"].first().to_dict() == {
        0: "ok",
        1: "incomplete",
    }
    assert frame.loc[frame["job"] == 1, "value"].isna().all()

    # Re-run into the same directory: job 0 is skipped, job 1 runs again.
    def files():
        return (done / "results.csv").read_bytes(), (done / "run.json").read_bytes()

    before = files()
    proc = _runner(sweep_dir, "resume=true", env={"FAULT_SLEEP": "0"})
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert out.count("resume: skipped") == 1 and f"{done} already holds" in out
    assert files() == before
    assert json.loads((killed / "run.json").read_text())["status"] == "ok"
    table = pd.read_csv(sweep_dir / "results.csv")
    assert (table["status"] == "ok").all() and sorted(table["job"].unique()) == [0, 1]
    grads = table[table["quantity"] == "grad"].groupby("job")["value"].apply(list)
    assert grads.to_dict() == {0: [2.0, 4.0], 1: [2.0, 4.0, 6.0]}
