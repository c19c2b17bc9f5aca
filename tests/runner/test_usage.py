"""``runner --help`` and tab completion: the runner's own, fast, with --config-dir."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runner.app.usage import (
    complete,
    help_text,
    version_text,
    wants_completion,
    wants_help,
)

from ..conftest import EXPERIMENTS, ROOT, runner_script

MINE = """\
# @package _global_
# Decay of my own model, from my own directory.
defaults:
  - override /model: linear_fn
inputs: [2.0, 1.0]
"""


@pytest.fixture
def mine(tmp_path: Path) -> Path:
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "my_decay.yaml").write_text(MINE)
    (tmp_path / "exp" / "grad.yaml").write_text(MINE)
    return tmp_path


def test_help_is_asked_for_by_h_and_help_only():
    assert wants_help(["-h"]) and wants_help(["+exp=grad", "--help"])
    assert not wants_help(["--hydra-help"]) and not wants_help(["+exp=grad"])
    assert wants_completion(["--shell-completion=query=bash"])


def test_help_lists_every_experiment_with_its_description():
    page = help_text(["--help"])
    assert page.startswith("usage: runner [--config-dir DIR] +exp=NAME")
    rows = {line.split()[0]: line for line in page.splitlines()
            if line.startswith("  ") and line.split()[0] in EXPERIMENTS}  # fmt: skip
    assert sorted(rows) == EXPERIMENTS
    assert "Gradient of a * 2 + b in its first argument at (2, 1): 2." in rows["grad"]
    assert "Outputs: outputs/runs/<date>/<time>/" in page
    assert "Docs: " in page and "--hydra-help" in page


def test_help_lists_the_config_dirs_experiments_and_what_they_replace(mine):
    page = help_text(["--config-dir", str(mine), "--help"])
    line = next(t for t in page.splitlines() if t.startswith("  my_decay "))
    assert "Decay of my own model, from my own directory." in line
    assert str(mine / "exp" / "my_decay.yaml") in line
    grad = next(t for t in page.splitlines() if t.startswith("  grad "))
    assert "replaces the shipped grad" in grad


def test_completion_offers_the_config_dirs_experiments(mine, monkeypatch):
    monkeypatch.setenv("COMP_LINE", f"runner --config-dir {mine} +exp=my_")
    out = io.StringIO()
    assert complete(["-sc", "query=bash"], out) == 0
    assert out.getvalue().split() == ["+exp=my_decay"]
    monkeypatch.setenv("COMP_LINE", "runner +exp=my_")  # without it: nothing
    out = io.StringIO()
    complete(["-sc", "query=bash"], out)
    assert out.getvalue().split() == []


@pytest.mark.slow
def test_the_command_prints_its_own_help_and_keeps_hydras(mine):
    script = runner_script()
    own = subprocess.run([script, "--config-dir", str(mine), "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert own.returncode == 0 and own.stdout.startswith("usage: runner"), own.stderr
    assert "my_decay" in own.stdout and "powered by Hydra" not in own.stdout
    hydras = subprocess.run([script, "--hydra-help"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert hydras.returncode == 0 and "--config-dir" in hydras.stdout
    assert "usage: runner [--config-dir DIR]" not in hydras.stdout


@pytest.mark.slow
def test_help_and_completion_do_not_import_jax(mine):
    code = ("import runner.app.usage, sys, io, os;"
            "os.environ['COMP_LINE'] = 'runner +exp=gr';"
            "runner.app.usage.help_text(['--help']);"
            "runner.app.usage.complete(['-sc', 'query=bash'], io.StringIO());"
            "print(sorted({'jax', 'pandas', 'matplotlib'} & sys.modules.keys()))"
            )  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert proc.stdout.strip() == "[]", proc.stderr


@pytest.mark.slow
def test_redirected_output_never_wraps_a_path(tmp_path):
    run_dir = tmp_path / ("a_rather_long_directory_name_" * 4) / "run"
    env = {**os.environ, "COLUMNS": "40"}  # even when a narrow width is set
    proc = subprocess.run(
        [sys.executable, "-m", "runner", "+exp=jacobian", f"hydra.run.dir={run_dir}",
         "output.plots=false"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == f"results: {run_dir / 'results.csv'}"
    saved = (run_dir / "summary.txt").read_text().splitlines()
    assert saved[-1] == f"results: {run_dir / 'results.csv'}"


def test_version_names_the_runner_then_hydra_and_jax():
    from importlib import metadata

    text = version_text()
    assert text.startswith(f"autodiff-runner {metadata.version('autodiff-runner')} (")
    assert f"hydra-core {metadata.version('hydra-core')}" in text and "jax " in text
