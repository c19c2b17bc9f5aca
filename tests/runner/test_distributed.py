"""``sweep.executor=ray``: chunks as tasks on a real Ray cluster of two nodes
(``ray start --head`` and ``ray start --address=...`` on this machine), a worker
killed mid-chunk, and chunks that keep failing.

The reference is the closed form of ``2 x + y`` (:mod:`test_vectorized`).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from runner.app.job import run_job
from runner.results.dataset import DATASET, parts_done

from .test_vectorized import CFG, _check_table

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
ray = pytest.importorskip("ray")


def _ray_command() -> str:
    beside = Path(sys.executable).parent / "ray"
    found = str(beside) if beside.exists() else shutil.which("ray")
    if found is None:
        pytest.skip("the ray command is not installed")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A head node and a second node, one CPU each; yields the head's address."""
    command, port = _ray_command(), _free_port()
    # A cluster of this machine's loopback: no token (Ray's default for clusters
    # started by ray start is to require one, kept in ~/.ray).
    local = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    saved = {k: os.environ.get(k) for k in local}
    os.environ.update(local)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}
    common = ["--num-cpus=1", "--object-store-memory=78643200", "--disable-usage-stats"]
    address = f"127.0.0.1:{port}"
    run = {"env": env, "cwd": ROOT, "capture_output": True, "text": True,
           "timeout": 180}  # fmt: skip
    try:
        head = subprocess.run(
            [command, "start", "--head", f"--port={port}", "--include-dashboard=false",
             *common], **run)  # fmt: skip
        assert head.returncode == 0, head.stderr[-2000:]
        node = subprocess.run([command, "start", f"--address={address}", *common],
                              **run)  # fmt: skip
        assert node.returncode == 0, node.stderr[-2000:]
        ray.init(address=address, log_to_driver=False)
        alive = [n for n in ray.nodes() if n["Alive"]]
        ray.shutdown()
        assert len(alive) == 2
        yield address
    finally:
        subprocess.run([command, "stop", "--force"], **run)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _cfg(address: str, **sweep) -> dict:
    return {**CFG, "sweep": {**CFG["sweep"], "executor": "ray",
                             "ray": {"address": address, "max_retries": 1},
                             **sweep}}  # fmt: skip


def test_chunks_run_as_tasks_on_two_nodes(cluster, tmp_path):
    assert run_job(_cfg(cluster), tmp_path) == 0
    assert parts_done(tmp_path / DATASET) == [0, 1, 2, 3, 4]
    _check_table(pd.read_parquet(tmp_path / DATASET))
    _check_table(pd.read_csv(tmp_path / "results.csv", keep_default_na=False))


def test_a_killed_worker_has_its_chunk_retried(cluster, tmp_path):
    marker = tmp_path / "died"
    cfg = _cfg(cluster)
    cfg.update(model={"_target_": "tests.runner.faulty_models.DiesAt", "at": 3.0,
                      "marker": str(marker)},
               allowed_targets=["tests.runner.faulty_models."])  # fmt: skip
    out = tmp_path / "run"
    assert run_job(cfg, out) == 0
    assert marker.exists()  # a worker did die at x = 3
    _check_table(pd.read_parquet(out / DATASET))  # no row lost or doubled


def test_a_chunk_that_keeps_failing_fails_the_job_and_keeps_the_rest(
    cluster, tmp_path, capsys
):
    cfg = _cfg(cluster)
    cfg.update(model={"_target_": "tests.runner.faulty_models.DiesAt", "at": 3.0},
               allowed_targets=["tests.runner.faulty_models."])  # fmt: skip
    assert run_job(cfg, tmp_path) == 1
    err = capsys.readouterr().err
    # x = 3 is at points 6 and 7 (x major, 2 values of y): chunk 2 of size 3.
    assert "error: sweep.executor: chunk(s) [2] failed after 1 retries (" in err
    assert "resume=true" in err
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["status"] == "failed" and record["error_type"] == "ChunksFailed"
    assert parts_done(tmp_path / DATASET) == [0, 1, 3, 4]  # kept for resume
    fixed = {**_cfg(cluster), "resume": True}  # the same points, a healthy model
    fixed["sweep"] = {**fixed["sweep"]}
    assert run_job(fixed, tmp_path) == 0  # another config: starts afresh
    _check_table(pd.read_parquet(tmp_path / DATASET))
