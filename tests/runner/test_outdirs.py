"""A run touches only what it wrote, in a directory of its own kind, with no links."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runner.app.job import run_job
from runner.app.sweep import start_sweep, write_aggregate
from runner.results.outdirs import check_kind, check_links, foreign_files, recorded

from ..conftest import ROOT

CFG = {"model": {"_target_": "runner.models.tutorial.linear"}, "inputs": [2.0, 1.0]}
QUIET = {"output": {"plots": False, "summary": False}}


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.mark.parametrize("name", ["summary.txt", "sweep.png", "results.png", "x.csv"])
def test_a_users_file_that_the_run_does_not_write_is_left_alone(tmp_path, name):
    (tmp_path / name).write_text("mine")
    assert run_job({**CFG, **QUIET}, tmp_path) == 0
    assert (tmp_path / name).read_text() == "mine"
    assert run_job({**CFG, **QUIET, "diff": {"kind": "nope"}}, tmp_path) == 1
    assert (tmp_path / name).read_text() == "mine"  # a refused config too


@pytest.mark.parametrize("name", ["summary.txt", "results.csv", "results.png"])
def test_a_users_file_the_run_would_replace_stops_it_untouched(tmp_path, capsys, name):
    (tmp_path / name).write_text("mine")
    before = _files(tmp_path)
    assert run_job(CFG, tmp_path) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == (f"error: hydra.run.dir: {tmp_path / name} was not written by "
                    f"the runner; the run would replace it; move it away, or choose "
                    f"another hydra.run.dir.")  # fmt: skip
    assert _files(tmp_path) == before  # not even a run.json


def test_the_runners_own_files_are_replaced_and_recorded(tmp_path):
    assert run_job(CFG, tmp_path) == 0
    written = json.loads((tmp_path / "run.json").read_text())["written"]
    assert written == ["results.csv", "results.parquet", "results.png", "summary.txt"]
    csv_only = {"formats": ["csv"], "plots": False, "summary": False}
    assert run_job({**CFG, "output": csv_only}, tmp_path) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv", "run.json"]
    assert recorded(json.loads((tmp_path / "run.json").read_text()), ()) == [
        "results.csv"]  # fmt: skip


def test_a_failed_job_removes_only_its_own_files(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    assert run_job({**CFG, **QUIET}, tmp_path) == 0
    failing = {**CFG, **QUIET, "model": {"_target_": "runner.models.tutorial.f1"}}
    assert run_job(failing, tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "run.json"]


def test_a_record_never_names_a_file_outside_its_directory():
    assert recorded({"written": ["../x", "a/b", "", "..", 3, "ok.csv"]}, ()) == [
        "ok.csv"]  # fmt: skip


def test_runs_and_sweeps_do_not_mix(tmp_path, capsys):
    sweep_dir = tmp_path / "sweep"
    start_sweep(sweep_dir, ["inputs.0=1.0,2.0"])
    assert check_kind(sweep_dir, sweep=True) is None
    assert "is the directory of a sweep" in str(check_kind(sweep_dir, sweep=False))
    assert "inside the directory of the sweep" in str(
        check_kind(sweep_dir / "9", False)
    )
    assert run_job({**CFG, **QUIET}, sweep_dir) == 1
    assert "is the directory of a sweep" in capsys.readouterr().err
    job = sweep_dir / "0"
    assert run_job({**CFG, **QUIET}, job, sweep_id="abc") == 0
    assert "a job of a sweep" in str(check_kind(job, sweep=False))
    assert "the directory of a job of a sweep" in str(check_kind(job, sweep=True))
    single = tmp_path / "single"
    assert run_job({**CFG, **QUIET}, single) == 0
    assert "the directory of a single run" in str(check_kind(single, sweep=True))
    with pytest.raises(Exception, match="hydra.sweep.dir: .* a single run"):
        start_sweep(single, ["inputs.0=1.0,2.0"])


def test_a_users_table_in_a_sweep_directory_stops_the_sweep(tmp_path):
    (tmp_path / "results.csv").write_text("mine")
    with pytest.raises(Exception, match="results.csv was not written by the runner"):
        start_sweep(tmp_path, ["inputs.0=1.0,2.0"])
    assert (tmp_path / "results.csv").read_text() == "mine"
    assert not (tmp_path / "sweep.json").exists()


def test_links_are_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / ".hydra").symlink_to(outside)
    assert "is a symbolic link" in str(check_links(run_dir))
    assert run_job({**CFG, **QUIET}, run_dir) == 1
    assert list(outside.iterdir()) == []
    (run_dir / ".hydra").unlink()
    (outside / "x").write_text("theirs")
    os.link(outside / "x", run_dir / "results.csv")
    assert "a file with 2 hard links" in str(check_links(run_dir))
    assert run_job({**CFG, **QUIET}, run_dir) == 1
    assert (outside / "x").read_text() == "theirs"


def test_gathering_by_hand_replaces_only_the_runners_tables(tmp_path):
    sweep_dir = tmp_path / "sweep"
    start_sweep(sweep_dir, ["inputs.0=1.0,2.0"])
    sid = json.loads((sweep_dir / "sweep.json").read_text())["id"]
    assert run_job({**CFG, **QUIET}, sweep_dir / "0", sweep_id=sid) == 0
    write_aggregate(sweep_dir)
    write_aggregate(sweep_dir)  # its own table: replaced
    assert (sweep_dir / "results.csv").exists()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "runner", *args, "+exp=grad",
                           "output.plots=false"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


@pytest.mark.slow
def test_the_command_refuses_before_hydra_writes_anything(tmp_path):
    single = tmp_path / "single"
    assert _cli(f"hydra.run.dir={single}").returncode == 0
    before = sorted(p.name for p in single.rglob("*"))
    proc = _cli("-m", f"hydra.sweep.dir={single}", "inputs.0=1.0,2.0")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: hydra.sweep.dir: {single} is the directory of a single run (it "
        f"holds run.json); a sweep needs a directory of its own; choose another "
        f"hydra.sweep.dir."
    ]
    assert sorted(p.name for p in single.rglob("*")) == before
    assert json.loads((single / "run.json").read_text())["status"] == "ok"
    outside, linked = tmp_path / "outside", tmp_path / "linked"
    outside.mkdir()
    linked.mkdir()
    (linked / ".hydra").symlink_to(outside)
    proc = _cli(f"hydra.run.dir={linked}")
    assert proc.returncode == 2 and "is a symbolic link" in proc.stderr
    assert list(outside.iterdir()) == []  # Hydra wrote nothing through the link
    assert foreign_files(single, ["results.csv"], ["results.csv"]) is None


def test_the_command_line_directory_is_read_by_hydras_grammar(tmp_path):
    from runner.app.cli import check_output_dir

    spaced = tmp_path / "a b"
    start_sweep(spaced, ["inputs.0=1.0,2.0"])
    for line in (f"hydra.run.dir='{spaced}'", f'++hydra.run.dir="{spaced}"'):
        assert "is the directory of a sweep" in check_output_dir(["+exp=grad", line])
    sweep = ["+exp=grad", "hydra.mode=MULTIRUN", f"hydra.sweep.dir='{spaced}'"]
    assert check_output_dir(sweep) is None  # a sweep into its own directory
    assert check_output_dir(["+exp=grad", "hydra.run.dir=${now:%H}"]) is None
