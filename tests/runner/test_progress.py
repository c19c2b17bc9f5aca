"""The sweep progress bar: its job count, its silence off a terminal, its drawing."""

from __future__ import annotations

import io
import json
import pickle

import pytest
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf
from rich.console import Console

from runner.app.progress import SweepProgress, count_jobs


@pytest.mark.parametrize(
    ("overrides", "total"),
    [
        ([], 1),
        (["+exp=jacobian"], 1),
        (["+exp=jacobian", "model.current=0.0,0.5,1.0"], 3),
        (["model.a=1,2", "model.b=1,2,3", "seed=range(4)"], 24),
        (["inputs.0=[1.,2.],[3.,4.]", "output.summary=false"], 2),
        (["seed=choice(1,2,3)", "seed=7"], 1),  # the last override of a key wins
        (["exp=grad,hessian", "++seed=range(0,10,5)", "~model"], 4),
        (["seed=shuffle(1,2,3)"], 3),
        (["lr=interval(0,1)"], None),  # not a discrete sweep
        (["seed=1,2", "bad=["], None),  # does not parse
        (["exp=glob(*)"], None),  # needs Hydra's config loader
    ],
)
def test_count_jobs(overrides, total):
    assert count_jobs(overrides) == total


def test_count_jobs_with_sweeper_params():
    assert count_jobs(["seed=1,2"], {"model.a": "0.0,0.5,1.0"}) == 6
    assert count_jobs(["model.a=2.0"], {"model.a": "0.0,0.5,1.0"}) == 1


def _config(tmp_path, task, sweeper=None, choice="basic"):
    sweeper = sweeper or {"params": None}
    return OmegaConf.create({"hydra": {
        "overrides": {"task": task},
        "sweeper": sweeper,
        "sweep": {"dir": str(tmp_path)},
        "runtime": {"output_dir": str(tmp_path / "0"),
                    "choices": {"hydra/sweeper": choice}},
    }})  # fmt: skip


def _job_config(tmp_path, num, status):
    job = tmp_path / str(num)
    job.mkdir()
    (job / "run.json").write_text(json.dumps({"status": status}))
    return OmegaConf.create({"hydra": {"runtime": {"output_dir": str(job)}}})


def test_totals_from_the_sweep_config(tmp_path):
    bar = SweepProgress(enabled=False)
    bar.on_multirun_start(_config(tmp_path, ["a=1,2"]))
    assert bar.total == 2
    bar.on_multirun_start(_config(tmp_path, ["a=1,2"], {"params": {"b": "1,2,3"}}))
    assert bar.total == 6
    other = {"_target_": "hydra_plugins.optuna.OptunaSweeper", "n_trials": 20}
    bar.on_multirun_start(_config(tmp_path, ["a=1,2"], other, choice="optuna"))
    assert bar.total == 20
    bar.on_multirun_start(OmegaConf.create({"hydra": {}}))  # no overrides node
    assert bar.total is None


def test_silent_when_not_a_terminal(tmp_path, capsys):
    bar = SweepProgress()  # auto: pytest's captured streams are not terminals
    bar.on_multirun_start(_config(tmp_path, ["a=1,2"]))
    assert bar.progress is None
    bar.on_job_end(_job_config(tmp_path, 0, "ok"), None)
    bar.on_job_end(_job_config(tmp_path, 1, "failed"), None)
    bar.on_multirun_end(_config(tmp_path, ["a=1,2"]))
    assert capsys.readouterr() == ("", "")
    assert bar.done == 0  # nothing counted when nothing is drawn


def _drawn(tmp_path):
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    return SweepProgress(enabled=True, console=console), out


def test_counts_done_and_failed_jobs_on_a_terminal(tmp_path):
    bar, out = _drawn(tmp_path)
    config = _config(tmp_path, ["a=1,2,3"])
    bar.on_multirun_start(config)
    assert bar.progress is not None and bar.total == 3
    bar.on_job_end(_job_config(tmp_path, 0, "ok"), None)
    bar.on_job_end(_job_config(tmp_path, 1, "failed"), None)
    bar.on_job_end(_job_config(tmp_path, 2, "ok"), None)
    bar.on_multirun_end(config)
    assert (bar.done, bar.failed, bar.progress) == (3, 1, None)
    text = out.getvalue()
    assert "3/3" in text and "1 failed" in text


def test_catches_up_from_disk_when_jobs_ended_elsewhere(tmp_path):
    bar, out = _drawn(tmp_path)
    config = _config(tmp_path, ["a=1,2"])
    bar.on_multirun_start(config)
    _job_config(tmp_path, 0, "ok")
    _job_config(tmp_path, 1, "failed")
    bar.on_multirun_end(config)  # e.g. joblib: on_job_end ran in the workers
    assert (bar.done, bar.failed) == (2, 1)
    assert "2/2" in out.getvalue()


def test_pickles_for_worker_processes_and_never_raises(tmp_path):
    bar, _ = _drawn(tmp_path)
    config = _config(tmp_path, ["a=1,2"])
    bar.on_multirun_start(config)
    worker = pickle.loads(pickle.dumps(bar))
    assert worker.progress is None
    worker.on_job_end(_job_config(tmp_path, 0, "ok"), None)  # a no-op there
    failed = JobReturn(status=JobStatus.FAILED, _return_value=ValueError("x"))
    bar.on_job_end(OmegaConf.create({}), failed)  # no run.json: Hydra's status
    bar.on_job_end(OmegaConf.create({}), JobReturn(status=JobStatus.COMPLETED))
    status_one = JobReturn(status=JobStatus.COMPLETED, _return_value=1)
    bar.on_job_end(OmegaConf.create({}), status_one)  # run_job's failure status
    assert (bar.done, bar.failed) == (3, 2)
    bar.on_multirun_end(OmegaConf.create({}))
    assert bar.progress is None


def test_a_redirected_vectorized_sweep_reports_its_points_in_plain_lines():
    import io

    from rich.console import Console

    from runner.app.job import execute_sweep

    plain = {"model": {"_target_": "runner.models.tutorial.linear"},
             "inputs": [2.0, 1.0],
             "sweep": {"inputs": {"1": {"start": 0.0, "stop": 1.0, "num": 10}},
                       "chunk_size": 3}}  # fmt: skip
    out = io.StringIO()
    table = execute_sweep(plain, Console(file=out))
    lines = out.getvalue().splitlines()
    assert lines and lines[-1].startswith("sweep: 10/10 points (100%), ")
    assert "points/s" in lines[-1] and "\x1b" not in out.getvalue()  # no bar
    assert len(set(table["job"].tolist())) == 10
    out = io.StringIO()
    execute_sweep({**plain, "sweep": {**plain["sweep"], "chunk_size": 10}},
                  Console(file=out))  # fmt: skip
    assert out.getvalue() == ""  # one chunk: nothing to follow


def test_on_a_terminal_a_vectorized_sweep_draws_points_per_second():
    import io

    from rich.console import Console

    from runner.app.progress import chunk_progress

    out = io.StringIO()
    terminal = Console(file=out, force_terminal=True, width=120)
    with chunk_progress(terminal) as report:
        report(2, 4)
        report(4, 4)
    drawn = out.getvalue()
    assert "4/4" in drawn and "points" in drawn and "/s" in drawn
    assert "sweep: 4/4 points (100%)" not in drawn  # the bar, not plain lines
