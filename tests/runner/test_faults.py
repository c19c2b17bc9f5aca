"""However a job ends, its ``run.json`` tells how and no table looks complete.

A model calling ``sys.exit`` or a full disk is a failed job (error recorded, no
table). A job killed with SIGKILL mid-run keeps ``run.json`` at ``running``, has no
``results.*``, the sweep's aggregation reports it ``incomplete``, and
``resume=true`` finishes the sweep by re-running only that job.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

import runner.results.tables
from runner.app.job import run_job
from runner.app.sweep import aggregate

from ..conftest import ROOT
from .faulty_models import PREFIX

ARGS = [
    "-m", f"model._target_={PREFIX}sleepy", f"allowed_targets=[{PREFIX}]",
    "+exp=grad", "inputs=[[1.0,2.0]]", "output.summary=false", "output.plots=false",
]  # fmt: skip


def _cfg(target, x):
    return {
        "model": {"_target_": f"{PREFIX}{target}"},
        "allowed_targets": [PREFIX],
        "inputs": [x],
        "output": {"summary": False, "plots": False},
    }


def _record(job_dir):
    return json.loads((job_dir / "run.json").read_text())


def _tables(job_dir):
    return sorted(p.name for p in job_dir.iterdir() if "results" in p.name)


def test_sys_exit_in_a_model_is_a_failed_job(tmp_path, capsys):
    assert run_job(_cfg("exits", [1.0, 2.0, 3.0]), tmp_path) == 1
    record = _record(tmp_path)
    assert record["status"] == "failed" and record["error_type"] == "SystemExit"
    assert "sys.exit(3)" in record["error"] and _tables(tmp_path) == []
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: SystemExit: sys.exit(3)")


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_full_disk_while_writing_tables_is_a_failed_job_without_table(
    tmp_path, monkeypatch, capsys
):
    # The CSV is written, then the disk is full for the Parquet file.
    monkeypatch.setattr("pyarrow.parquet.write_table", _disk_full)
    assert run_job(_cfg("sleepy", [1.0, 2.0]), tmp_path) == 1
    record = _record(tmp_path)
    assert record["status"] == "failed" and record["error_type"] == "OSError"
    assert "No space left on device" in record["error"]
    assert _tables(tmp_path) == []  # not the complete-looking results.csv
    assert capsys.readouterr().err.count("\n") == 1


def test_full_disk_for_every_write_leaves_the_job_incomplete(
    tmp_path, monkeypatch, capsys
):
    # run.json says running (written before the disk filled) and no table remains.
    real = runner.results.tables.atomic_write
    calls = []

    def full_after_first(path, write):
        calls.append(path.name)
        if len(calls) > 1:
            _disk_full()
        real(path, write)

    monkeypatch.setattr(runner.results.tables, "atomic_write", full_after_first)
    assert run_job(_cfg("sleepy", [1.0, 2.0]), tmp_path) == 1
    assert _record(tmp_path)["status"] == "running" and _tables(tmp_path) == []
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "shows as incomplete" in err


def _runner(sweep_dir, *extra, env=None):
    return subprocess.Popen(
        [sys.executable, "-m", "runner", *ARGS, f"hydra.sweep.dir={sweep_dir}",
         "inputs.0=[1.0,2.0],[1.0,2.0,3.0]", *extra],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


@pytest.mark.slow
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


def _sweep(sweep_dir, target, *extra):
    """Three points, of 2, 3 and 4 elements: the faulty models fail on 3."""
    return subprocess.run(
        [sys.executable, "-m", "runner", *ARGS, f"model._target_={PREFIX}{target}",
         "inputs.0=[1.0,2.0],[1.0,2.0,3.0],[1.0,2.0,3.0,4.0]",
         f"hydra.sweep.dir={sweep_dir}", *extra],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def _statuses(sweep_dir):
    table = pd.read_csv(sweep_dir / "results.csv", keep_default_na=False)
    return table.groupby("job")["status"].first().to_dict(), table


@pytest.mark.slow
def test_sys_exit_in_one_point_fails_that_point_and_the_sweep_goes_on(tmp_path):
    proc = _sweep(tmp_path, "exits")
    assert proc.returncode == 1, proc.stderr[-2000:]
    statuses, table = _statuses(tmp_path)
    assert statuses == {0: "ok", 1: "failed", 2: "ok"}
    assert "sys.exit(3)" in table.loc[table["job"] == 1, "error"].iloc[0]
    assert _record(tmp_path / "1")["error_type"] == "SystemExit"
    assert [line for line in proc.stderr.splitlines() if "error" in line] == [
        f"error: SystemExit: {_record(tmp_path / '1')['error']}"
    ]


@pytest.mark.slow
def test_a_dead_joblib_worker_is_one_failed_point(tmp_path):
    proc = _sweep(tmp_path, "dies", "hydra/launcher=local_processes")
    assert proc.returncode == 1, proc.stderr[-2000:]
    statuses, table = _statuses(tmp_path)
    assert statuses == {0: "ok", 1: "failed", 2: "ok"}
    record = _record(tmp_path / "1")
    assert record["error_type"] == "TerminatedWorkerError"
    assert "died (EXIT(70))" in record["error"] and _tables(tmp_path / "1") == []
    # d/dx sum(x**2) = 2x at the points that finished.
    ok = table[table["status"] == "ok"].astype({"value": float})
    grads = ok.groupby("job")["value"].apply(list)
    assert grads.to_dict() == {0: [2.0, 4.0], 2: [2.0, 4.0, 6.0, 8.0]}
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("launcher", "error_type"),
    [(["hydra/launcher=local_processes", "hydra.launcher.n_jobs=1"],
      "TerminatedWorkerError"),  # joblib would run the jobs in its own process
     (["hydra/launcher=local_ray"], "WorkerCrashedError")],
)  # fmt: skip
def test_a_dead_worker_is_one_failed_point_on_every_launcher(
    launcher, error_type, tmp_path
):
    proc = _sweep(tmp_path, "dies", *launcher)
    assert proc.returncode == 1, proc.stderr[-3000:]
    statuses, table = _statuses(tmp_path)
    assert statuses == {0: "ok", 1: "failed", 2: "ok"}
    record = _record(tmp_path / "1")
    assert record["error_type"] == error_type, record
    assert "the worker process running this job died" in record["error"]
    ok = table[table["status"] == "ok"].astype({"value": float})
    assert ok.groupby("job")["value"].apply(list).to_dict() == {
        0: [2.0, 4.0], 2: [2.0, 4.0, 6.0, 8.0]}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(
    ("target", "error_type"),
    [("cancelled", "CancelledError"), ("library_stop", "LibraryStop")],
)
def test_a_base_exception_in_one_point_fails_that_point_only(
    target, error_type, tmp_path
):
    proc = _sweep(tmp_path, target)
    assert proc.returncode == 1, proc.stderr[-2000:]
    statuses, table = _statuses(tmp_path)
    assert statuses == {0: "ok", 1: "failed", 2: "ok"}
    record = _record(tmp_path / "1")
    assert record["status"] == "failed" and record["error_type"] == error_type
    assert "Traceback" not in proc.stderr


def test_a_keyboard_interrupt_is_recorded_and_still_stops(tmp_path, monkeypatch):
    from runner.app import job

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(job, "_compute_and_write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        job.run_job(_cfg("sleepy", [1.0, 2.0]), tmp_path)
    record = _record(tmp_path)
    assert record["status"] == "failed" and record["error_type"] == "KeyboardInterrupt"
