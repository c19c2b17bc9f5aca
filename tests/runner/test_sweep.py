"""Aggregating sweep directories from disk, complete or not, and claiming a
directory for one sweep."""

from __future__ import annotations

import errno
import json
import os

import pandas as pd
import pytest
import yaml
from omegaconf import OmegaConf

import runner.app.sweep
from runner.app.sweep import AggregateSweep, aggregate, main, start_sweep, sweep_id
from runner.compute.rows import COLUMNS
from runner.config.errors import ConfigError
from runner.results.gather import job_table
from runner.results.tables import write_tables

ROW = ("grad", "arg0", "", "", 0, 2.0)


def _job(root, num, status, overrides, rows=None, error="", sweep=None, config=None):
    job = root / str(num)
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text(
        "".join(f"- {o}\n" for o in overrides)
    )
    if config is not None:
        (job / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
    record = {"status": status, "error": error}
    if sweep is not None:
        record["sweep_id"] = sweep
    (job / "run.json").write_text(json.dumps(record))
    if rows is not None:
        frame = pd.DataFrame(rows, columns=list(COLUMNS))
        write_tables(frame, job)


def test_aggregate_keeps_good_rows_and_records_failures(tmp_path):
    row = ROW
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
    _job(tmp_path, 0, "ok", ["+exp=grad"], [ROW])
    _job(tmp_path, 1, "failed", ["+exp=grad"], error="boom")
    assert main([str(tmp_path)]) == 1
    assert "2 job(s), 1 failed" in capsys.readouterr().out
    assert len(pd.read_csv(tmp_path / "results.csv")) == 2
    assert main([str(tmp_path / "missing")]) == 2


def _stale_tables(d):
    for name in ("results.csv", "results.parquet", "sweep.png"):
        (d / name).write_text("an earlier sweep's\n")


def test_a_used_directory_is_resumed_or_refused(tmp_path):
    points = ["+exp=grad", "inputs.0=1.0,2.0"]
    first = start_sweep(tmp_path, points)
    _job(tmp_path, 0, "ok", ["+exp=grad", "inputs.0=1.0"], [ROW], sweep=first)
    _stale_tables(tmp_path)
    record = (tmp_path / "sweep.json").read_bytes()
    with pytest.raises(ConfigError, match="holds another sweep .*resume=true"):
        start_sweep(tmp_path, ["+exp=grad", "inputs.0=1.0,3.0"], resume=True)
    with pytest.raises(ConfigError, match="already holds this sweep; add resume"):
        start_sweep(tmp_path, points)
    assert (tmp_path / "sweep.json").read_bytes() == record  # refused: unchanged
    assert start_sweep(tmp_path, points, resume=True) == first == sweep_id(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0", "sweep.json"]


def test_jobs_without_a_sweep_record_are_not_adopted(tmp_path):
    _job(tmp_path, 0, "ok", ["+exp=grad"], [ROW])
    with pytest.raises(ConfigError, match="recorded no sweep.json"):
        start_sweep(tmp_path, ["+exp=grad"], resume=True)


def test_only_the_current_sweeps_jobs_are_gathered(tmp_path):
    current = start_sweep(tmp_path, ["inputs.0=1.0,2.0,3.0"])
    _job(tmp_path, 0, "ok", ["inputs.0=1.0"], [ROW], sweep=current)
    _job(tmp_path, 1, "ok", ["inputs.0=2.0"], [ROW], sweep="an earlier sweep")
    _job(tmp_path, 2, "failed", ["inputs.0=3.0"], error="boom")  # no sweep id
    assert aggregate(tmp_path)["job"].tolist() == [0]
    assert main([str(tmp_path)]) == 0


def test_sweep_columns_hold_the_values_each_job_resolved(tmp_path):
    # -m 'inputs.0=1.0,2.0' 'inputs=[5.0,1.0]': the later override wins.
    cache = "${hydra:runtime.cwd}"
    config = {"inputs": [5.0, 1.0],
              "model": {"_target_": "runner.models.tutorial.linear"},
              "seed": "${inputs.1}", "compile_cache": cache}  # fmt: skip
    for num, x in enumerate(["1.0", "2.0"]):
        overrides = ["+exp=grad", f"inputs.0={x}", "inputs=[5.0,1.0]", "model=linear",
                     "seed=${inputs.1}", f"compile_cache={cache}"]  # fmt: skip
        _job(tmp_path, num, "ok", overrides, [ROW], config=config)
    frame = job_table(tmp_path / "0", {"status": "ok"})  # one job's columns
    assert frame["seed"].tolist() == [1.0]  # an interpolation, resolved
    assert frame["compile_cache"].tolist() == [cache]  # cannot resolve here
    assert frame["inputs.0"].tolist() == [5.0]
    assert frame[["inputs[0]", "inputs[1]"]].values.tolist() == [[5.0, 1.0]]
    assert frame["exp"].tolist() == ["grad"]  # not in the config: its text
    assert frame["model"].tolist() == ["linear"]  # a group: its choice
    # Across the sweep, only keys whose values differ between jobs are columns.
    assert list(aggregate(tmp_path).columns) == ["job", "status", "error", *COLUMNS]


def test_swept_columns_vary_and_hold_numbers(tmp_path):
    # -m 'inputs.1=[1.0,0.7000000000000001],[2.0,3.0]' with allowed_targets given.
    for num, y in enumerate([[1.0, 0.7000000000000001], [2.0, 3.0]]):
        config = {"inputs": [5.0, y], "allowed_targets": ["models"]}
        overrides = [f"inputs.1={y}", "allowed_targets=[models]"]
        _job(tmp_path, num, "ok", overrides, [ROW], config=config)
    frame = aggregate(tmp_path)
    assert list(frame.columns[:3]) == ["job", "inputs.1[0]", "inputs.1[1]"]
    assert frame["inputs.1[1]"].tolist() == [0.7, 3.0]  # as given, not 0.70...01


def _one_line(capsys):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    return err


def test_an_unreadable_job_is_a_failed_row_and_fails_the_sweep(tmp_path, capsys):
    _job(tmp_path, 0, "ok", ["+exp=grad"], [ROW])
    _job(tmp_path, 1, "ok", ["+exp=grad"], [ROW])
    (tmp_path / "0" / "run.json").write_text("{not json")
    assert main([str(tmp_path)]) == 1
    assert "2 job(s), 1 failed" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "results.csv")
    assert table["status"].tolist() == ["failed", "ok"]
    error = table["error"][0]
    assert str(tmp_path / "0") in error and "resume=true" in error
    gathered: list[int] = []
    token = runner.app.sweep.GATHERED.set(gathered)
    try:
        cfg = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}})
        AggregateSweep().on_multirun_end(cfg)
    finally:
        runner.app.sweep.GATHERED.reset(token)
    assert gathered == [1]
    assert "2 job(s), 1 failed" in capsys.readouterr().out


def test_unreadable_overrides_fail_their_job_only(tmp_path):
    _job(tmp_path, 0, "ok", ["inputs.0=1.0"], [ROW])
    _job(tmp_path, 1, "ok", ["inputs.0=2.0"], [ROW])
    (tmp_path / "1" / ".hydra" / "overrides.yaml").write_text("- inputs.0=[1.0\n")
    frame = aggregate(tmp_path)
    assert frame["status"].tolist() == ["ok", "failed"]
    assert "overrides.yaml cannot be read" in frame["error"][1]


def test_a_job_that_ran_a_sweep_block_is_refused_in_one_line(tmp_path, capsys):
    _job(tmp_path, 0, "ok", ["+exp=grad", "seed=1"], [ROW])
    _job(tmp_path, 1, "ok", ["+exp=grad", "seed=2"])
    points = {"job": [0, 1], "inputs.0": [1.0, 2.0], "status": ["ok", "ok"],
              "error": ["", ""]}  # fmt: skip
    write_tables({**points, **dict(zip(COLUMNS, zip(ROW, ROW)))}, tmp_path / "1")
    assert main([str(tmp_path)]) == 1
    line = _one_line(capsys)
    assert str(tmp_path / "1") in line and "sweep block" in line
    assert "resume=true" not in line and not (tmp_path / "results.csv").exists()


def test_table_write_failure_leaves_no_sweep_table(tmp_path, capsys, monkeypatch):
    _job(tmp_path, 0, "ok", ["+exp=grad"], [ROW])
    real = runner.app.sweep.write_tables

    def csv_then_full(frame, directory):
        real(frame, directory, ["csv"])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(runner.app.sweep, "write_tables", csv_then_full)
    assert main([str(tmp_path)]) == 1
    assert "No space left on device" in _one_line(capsys)
    assert not (tmp_path / "results.csv").exists()


def test_regathering_removes_the_old_table_before_writing(tmp_path, monkeypatch):
    # A kill between the renames of the new CSV and Parquet must not leave the new
    # CSV beside the old Parquet (which load() prefers).
    _job(tmp_path, 0, "ok", ["+exp=grad"], [ROW])
    assert main([str(tmp_path)]) == 0
    real, seen = runner.app.sweep.write_tables, []

    def write(frame, directory):
        seen.append(sorted(p.name for p in directory.glob("results.*")))
        return real(frame, directory)

    monkeypatch.setattr(runner.app.sweep, "write_tables", write)
    assert main([str(tmp_path)]) == 0
    assert seen == [[]] and (tmp_path / "results.parquet").exists()


def test_callback_refuses_another_sweep_with_one_line(tmp_path, capsys):
    def config(task, resume):
        return OmegaConf.create({"resume": resume, "hydra": {
            "sweep": {"dir": str(tmp_path)}, "overrides": {"task": task},
            "sweeper": {"params": None}}})  # fmt: skip

    AggregateSweep().on_multirun_start(config(["a=1,2", "resume=false"], False))
    _stale_tables(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        AggregateSweep().on_multirun_start(config(["a=1,3"], True))
    assert exit_info.value.code == 1 and "holds another sweep" in _one_line(capsys)
    AggregateSweep().on_multirun_start(config(["a=1,2", "resume=true"], True))
    assert not (tmp_path / "results.csv").exists()  # the stale table is gone


@pytest.mark.slow
def test_a_second_sweep_into_a_used_directory_is_refused(tmp_path):
    from .test_cli import run

    def sweep(points):
        return run("-m", "+exp=grad", points, "inputs=[5.0,1.0]", "output.plots=false",
                   "output.summary=false", f"hydra.sweep.dir={tmp_path}")  # fmt: skip

    assert sweep("inputs.0=1.0,2.0").returncode == 0
    table = pd.read_csv(tmp_path / "results.csv")
    assert "inputs.0" not in table  # each job computed with 5.0: nothing varies
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    proc = sweep("inputs.0=1.0,2.0,3.0")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("error: hydra.sweep.dir: ")
    assert proc.stderr.count("\n") == 1 and "resume=true" in proc.stderr
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before  # nothing ran, nothing was removed


def test_a_deleted_key_is_an_empty_column_and_the_sweep_is_written(tmp_path):
    # What Hydra's sweeper writes for '~model.name' ('~key=null'), and the bare form.
    for num, deleted in enumerate(["~model.name=null", "~model.name"]):
        b = 0.7 + num / 10
        config = {"model": {"_target_": "runner.models.neuro.FitzHughNagumo", "b": b}}
        overrides = [
            "+exp=fitzhugh_nagumo",
            deleted,
            f"model.b={b}",
            "hydra.verbose=true",
        ]
        _job(tmp_path, num, "ok", overrides, [ROW], config=config)
    _job(tmp_path, 2, "ok", ["model.name=x", "model.b=1.0"], [ROW],
         config={"model": {"name": "x", "b": 1.0}})  # fmt: skip
    frame, bad = runner.app.sweep.write_aggregate(tmp_path)
    assert bad == 0 and frame["model.b"].tolist() == [0.7, 0.8, 1.0]
    assert frame["model.name"].isna().tolist() == [True, True, False]  # not "null"
    assert "hydra.verbose" not in frame.columns
    assert (tmp_path / "results.csv").exists()


@pytest.mark.slow
def test_the_gathering_command_is_python_m_runner_sweep(tmp_path):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "runner.sweep", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip() == "0 job(s), 0 failed"
    usage = subprocess.run([sys.executable, "-m", "runner.sweep"],
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert usage.returncode == 2
    assert usage.stderr.startswith("usage: python -m runner.sweep SWEEP_DIR")
