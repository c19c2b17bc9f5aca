"""``resume=true``: a job whose directory holds its complete result is skipped."""

from __future__ import annotations

import json

import pytest

from runner.app.job import run_job

CFG = {
    "model": {"_target_": "runner.models.tutorial.linear"},
    "inputs": [2.0, 1.0],
    "diff": {"kind": "grad", "argnums": [0, 1]},
    "output": {"summary": False, "plots": False},
}


def _files(d):
    return {p.name: p.read_bytes() for p in d.iterdir() if p.is_file()}


def test_complete_job_is_skipped_with_one_line(tmp_path, capsys):
    assert run_job(CFG, tmp_path) == 0
    before = _files(tmp_path)
    capsys.readouterr()
    assert run_job({**CFG, "resume": True}, tmp_path) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("resume: skipped, ")
    assert _files(tmp_path) == before  # run.json and tables untouched


@pytest.mark.parametrize(
    "damage",
    ["killed", "failed", "table missing", "other config"],
)
def test_incomplete_or_different_job_runs_again(tmp_path, capsys, damage):
    assert run_job(CFG, tmp_path) == 0
    cfg = {**CFG, "resume": True}
    record = json.loads((tmp_path / "run.json").read_text())
    if damage in ("killed", "failed"):
        record["status"] = "running" if damage == "killed" else "failed"
        (tmp_path / "run.json").write_text(json.dumps(record))
    elif damage == "table missing":
        (tmp_path / "results.parquet").unlink()
    else:
        cfg["inputs"] = [3.0, 1.0]
    capsys.readouterr()
    assert run_job(cfg, tmp_path) == 0
    assert "resume" not in capsys.readouterr().out
    after = json.loads((tmp_path / "run.json").read_text())
    assert after["status"] == "ok" and (tmp_path / "results.parquet").exists()
    if damage == "other config":
        assert after["config_hash"] != record["config_hash"]
    else:
        assert after["config_hash"] == record["config_hash"]


def test_resume_is_not_part_of_the_hash_and_stale_tables_go(tmp_path):
    assert run_job(CFG, tmp_path) == 0
    first = json.loads((tmp_path / "run.json").read_text())["config_hash"]
    bad = {**CFG, "inputs": [2, 1]}  # ints: this run fails
    assert run_job(bad, tmp_path) == 1
    # The failed run must not leave the earlier run's table beside its run.json.
    assert not (tmp_path / "results.csv").exists()
    assert run_job({**CFG, "resume": False}, tmp_path) == 0
    assert json.loads((tmp_path / "run.json").read_text())["config_hash"] == first


def test_a_rerun_leaves_no_summary_of_the_earlier_run(tmp_path):
    assert run_job({**CFG, "output": {"plots": False}}, tmp_path) == 0
    assert (tmp_path / "summary.txt").exists()
    assert run_job({**CFG, "inputs": [2, 1]}, tmp_path) == 1  # ints: fails
    assert not (tmp_path / "summary.txt").exists()
    assert run_job(CFG, tmp_path) == 0  # output.summary=false: none written
    assert not (tmp_path / "summary.txt").exists()


def test_an_unreadable_record_leaves_the_directory_alone(tmp_path, capsys):
    # Which files the runner wrote is unknown, so none of them is replaced.
    assert run_job(CFG, tmp_path) == 0
    (tmp_path / "run.json").write_text("{not json")
    before = _files(tmp_path)
    capsys.readouterr()
    assert run_job({**CFG, "resume": True}, tmp_path) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: hydra.run.dir: {tmp_path / 'run.json'} cannot be "
                           f"read")  # fmt: skip
    assert _files(tmp_path) == before
