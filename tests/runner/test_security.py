"""Hostile experiment files, run as a user would: nothing is written or executed.

Each case is an experiment file in a ``--config-dir`` of its own that tries to
write ``victim`` (an existing file) or create ``marker``; the run must exit
non-zero with one line naming the key, and leave both untouched.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ..conftest import ROOT

pytestmark = pytest.mark.slow

HEAD = "# @package _global_\ndefaults:\n  - override /model: linear_fn\n"
SYSTEM = "{_target_: %s, command: 'touch {marker}'}"
CASES = {
    "input through a module": (
        "inputs:\n  - {_target_: runner.inputs.jnp.save, file: '{victim}', "
        "arr: [1.0]}\n  - [1.0, 2.0]\n",
        "inputs.0._target_: 'runner.inputs.jnp.save' reaches the module jax.numpy",
    ),
    "input chained to os.system": (
        f"inputs:\n  - {SYSTEM % 'runner.inputs.jax.version.os.system'}\n  - 1.0\n",
        "inputs.0._target_: 'runner.inputs.jax.version.os.system' reaches",
    ),
    "file allows everything": (
        f"allowed_targets: ['']\ninputs:\n  - {SYSTEM % 'os.system'}\n  - 1.0\n",
        "allowed_targets: set by a config file",
    ),
    "file allows os": (
        f"allowed_targets: [os.]\ninputs:\n  - {SYSTEM % 'os.system'}\n  - 1.0\n",
        "allowed_targets: set by a config file",
    ),
    "sweep on a file's Ray cluster": (
        "inputs: [2.0, 1.0]\nsweep:\n  inputs: {'0': [1.0, 2.0]}\n  executor: ray\n"
        "  ray: {address: 'evil.example:6379'}\n",
        "sweep.ray.address: set by a config file",
    ),
    "hydra callback": (
        "inputs: [2.0, 1.0]\nhydra:\n  callbacks:\n    x: {_target_: numpy.save, "
        "file: '{victim}', arr: [1.0]}\n",
        "hydra.callbacks.x._target_: set by a config file",
    ),
    "log file handler": (
        "inputs: [2.0, 1.0]\nhydra:\n  job_logging:\n    handlers:\n      file: "
        "{class: logging.FileHandler, filename: '{victim}', mode: w}\n",
        "hydra.job_logging.handlers.file.filename: set by a config file",
    ),
    "log handler factory": (
        "inputs: [2.0, 1.0]\nhydra:\n  job_logging:\n    handlers:\n      x: "
        "{'()': numpy.save, file: '{victim}', arr: [1.0]}\n",
        "hydra.job_logging.handlers.x.(): set by a config file",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_experiment_files_write_and_run_nothing(case, tmp_path):
    body, key = CASES[case]
    victim, marker = tmp_path / "victim.npy", tmp_path / "marker"
    victim.write_text("precious")
    (tmp_path / "conf" / "exp").mkdir(parents=True)
    text = HEAD + body.replace("{victim}", str(victim))
    (tmp_path / "conf" / "exp" / "hostile.yaml").write_text(
        text.replace("{marker}", str(marker))
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNNER_")}
    proc = subprocess.run(
        [sys.executable, "-m", "runner", f"--config-dir={tmp_path / 'conf'}",
         "+exp=hostile", f"hydra.run.dir={tmp_path / 'run'}", "output.plots=false"],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert victim.read_bytes() == b"precious"
    assert not marker.exists()
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {key}"), proc.stderr
    if "set by a config file" in key:  # refused before Hydra started the job
        assert not (tmp_path / "run").exists()


# An experiment that puts another file's keys into hydra: a model file's package
# header, a defaults entry's package, a logging option of the same directory.
HANDLER = ("version: 1\nhandlers:\n  file: {class: logging.FileHandler, filename: "
           "'{victim}', mode: w}\nroot: {handlers: [file]}\n")  # fmt: skip
PLACED = {
    "a model file's package header": (
        {"exp/hostile": "# @package _global_\ndefaults:\n  - override /model: evil\n"
         "inputs: [2.0, 1.0]\n", "model/evil": "# @package hydra.callbacks\nx: "
         "{_target_: numpy.save, file: '{victim}', arr: [1.0]}\n"},
        "hydra.callbacks.x._target_: set by a config file",
    ),
    "a model placed in hydra": (
        {"exp/hostile": "# @package _global_\ndefaults:\n  - /model@hydra."
         "callbacks.x: evil\n  - override /model: linear_fn\ninputs: [2.0, 1.0]\n",
         "model/evil": "_target_: os.system\ncommand: 'touch {marker}'\n"},
        "hydra.callbacks.x._target_: set by a config file",
    ),
    "a logging option of the directory": (
        {"exp/hostile": HEAD + "  - override /hydra/job_logging: evil\n"
         "inputs: [2.0, 1.0]\n", "hydra/job_logging/evil": HANDLER},
        "hydra.job_logging.handlers.file.filename: set by a config file",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(PLACED))
def test_hostile_files_placing_keys_in_hydra_write_and_run_nothing(case, tmp_path):
    files, key = PLACED[case]
    victim, marker = tmp_path / "victim.npy", tmp_path / "marker"
    victim.write_text("precious")
    for name, body in files.items():
        path = tmp_path / "conf" / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = body.replace("{victim}", str(victim)).replace("{marker}", str(marker))
        path.write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNNER_")}
    proc = subprocess.run(
        [sys.executable, "-m", "runner", f"--config-dir={tmp_path / 'conf'}",
         "+exp=hostile", f"hydra.run.dir={tmp_path / 'run'}", "output.plots=false"],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert victim.read_bytes() == b"precious"
    assert not marker.exists()
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and key in lines[0], proc.stderr
    assert not (tmp_path / "run").exists()
