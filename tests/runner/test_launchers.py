"""Sweeps through the shipped launcher configs: joblib and local Ray run for real;
SLURM (which cannot run here) is composed and checked."""

from __future__ import annotations

import importlib.util

import pandas as pd
import pytest

from .test_cli import run


@pytest.mark.parametrize(
    ("launcher", "target"),
    [
        ("local_processes", "JoblibLauncher"),
        ("local_ray", "RayLauncher"),
        ("slurm", "SlurmLauncher"),
    ],
)
def test_launcher_configs_compose(launcher, target):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from runner.config.schema import register

    from ..conftest import PRIMARY

    register()
    with initialize_config_dir(config_dir=str(PRIMARY), version_base="1.3"):
        overrides = ["+exp=grad", f"hydra/launcher={launcher}"]
        cfg = hydra_compose("config", overrides=overrides, return_hydra_config=True)
    assert cfg.hydra.launcher._target_.endswith(target)
    if launcher == "slurm":
        assert cfg.hydra.launcher.cpus_per_task == 2
        assert "JAX_PLATFORMS=cpu" in " ".join(cfg.hydra.launcher.setup)


def _sweep(tmp_path, launcher):
    proc = run(
        "-m", "+exp=grad", "inputs.0=1.0,2.0", f"hydra/launcher={launcher}",
        f"hydra.sweep.dir={tmp_path}", "output.summary=false", "output.plots=false",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = pd.read_csv(tmp_path / "results.csv")
    assert sorted(table["job"]) == [0, 1]
    assert (table["status"] == "ok").all()
    # d/da (2a + b) = 2 at every point.
    assert table["value"].tolist() == [2.0, 2.0]
    assert sorted(table["inputs.0"]) == [1.0, 2.0]


@pytest.mark.slow
def test_joblib_sweep_is_aggregated(tmp_path):
    _sweep(tmp_path, "local_processes")


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("ray") is None,
    reason="Ray is not installed (pip install -e '.[ray]'); it is optional",
)
def test_local_ray_sweep_is_aggregated(tmp_path):
    _sweep(tmp_path, "local_ray")


def test_a_dead_job_is_recorded_afresh_over_an_earlier_sweeps_record(tmp_path):
    from runner.app.launcher import _failed_record
    from runner.results.record import write_run

    assert _failed_record(tmp_path, "new") == {"sweep_id": "new"}  # no run.json
    write_run(tmp_path, {"sweep_id": "old", "status": "ok", "rows": 3})
    assert _failed_record(tmp_path, "new") == {"sweep_id": "new"}
    write_run(tmp_path, {"sweep_id": "new", "status": "running"})
    assert _failed_record(tmp_path, "new")["status"] == "running"


def test_the_launch_patch_lasts_one_multirun():
    from hydra_plugins.hydra_joblib_launcher import _core
    from omegaconf import OmegaConf

    from runner.app.launcher import _JOBLIB, ContainDeadWorkers, launch

    own = _core.launch
    callback = ContainDeadWorkers()
    config = OmegaConf.create({"hydra": {"launcher": {"_target_": _JOBLIB}}})
    callback.on_multirun_start(config)
    assert _core.launch is launch
    callback.on_multirun_end(config)
    assert _core.launch is own
