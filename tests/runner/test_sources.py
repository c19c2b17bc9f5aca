"""The user's files beside the shipped ones: the user's win, and the run says so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from runner.app.cli import check_experiments
from runner.config.sources import (
    SHIPPED,
    check_sizes,
    chosen_files,
    cli_searchpath,
    did_you_mean,
    experiments,
    search_dirs,
    shipped_dir,
    with_shipped_searchpath,
)

from ..conftest import CONFIGS

# A user's own `models` package (it leaves a mark when imported) and an experiment
# named like a shipped one: d(3x)/dx = 3, where the shipped grad gives 2.
USER_MODELS = """\
import pathlib
pathlib.Path("IMPORTED").write_text("the user's models package was imported")


def triple(x):
    return 3.0 * x
"""
USER_GRAD = """\
# @package _global_
# The user's own gradient: d(3x)/dx = 3.
model:
  _target_: models.triple
inputs: [2.0]
diff:
  kind: grad
"""


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    """A working directory with the user's ``models`` package and ``mine/``."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text(USER_MODELS)
    (tmp_path / "mine" / "exp").mkdir(parents=True)
    (tmp_path / "mine" / "exp" / "grad.yaml").write_text(USER_GRAD)
    return tmp_path


def run_in(cwd: Path, *args: str, pythonpath: str | None = None):
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "RUNNER_ALLOWED_TARGETS")}  # fmt: skip
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    return subprocess.run([sys.executable, "-m", "runner", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def test_the_shipped_configs_come_from_the_package_not_the_working_directory():
    assert shipped_dir() == CONFIGS.resolve()  # the editable install maps them
    assert search_dirs(None) == [shipped_dir()]
    assert search_dirs("a", ["file:///b", SHIPPED]) == [
        Path("a").resolve(), Path("/b"), shipped_dir()]  # fmt: skip


def test_a_command_line_searchpath_keeps_the_shipped_configs_last():
    line = with_shipped_searchpath(
        ["hydra.searchpath=[pkg://runner.configs,file:///a]"]
    )
    assert line == ["hydra.searchpath=[file:///a,pkg://runner.configs]"]
    assert with_shipped_searchpath(["+exp=grad"]) == ["+exp=grad"]
    assert cli_searchpath(line) == ["file:///a", SHIPPED]


def test_the_users_experiment_shadows_the_shipped_one(user_dir):
    found = experiments(search_dirs(str(user_dir / "mine")))
    assert found["grad"].path == user_dir / "mine" / "exp" / "grad.yaml"
    assert found["grad"].shadows == shipped_dir() / "exp" / "grad.yaml"
    assert found["grad"].description == "The user's own gradient: d(3x)/dx = 3."
    assert found["jacobian"].shadows is None  # the shipped ones stay available


def test_chosen_files_follow_the_search_order(user_dir):
    mine = str(user_dir / "mine")
    files = chosen_files({"exp": "grad", "model": None, "hydra/launcher": "basic"},
                         [("file", mine), ("pkg", "runner.configs")])  # fmt: skip
    assert files == {"exp": str(user_dir / "mine" / "exp" / "grad.yaml")}


def test_an_unknown_experiment_gets_did_you_mean():
    assert did_you_mean("gard", ["grad", "hessian"]) == " (did you mean grad?)"
    assert did_you_mean("zzz", ["grad", "hessian"]) == ""
    error = check_experiments(["+exp=jacobain"])
    assert error.startswith("exp: unknown experiment 'jacobain' (did you mean "
                            "jacobian?); expected one of"), error  # fmt: skip


@pytest.mark.slow
def test_a_default_run_never_imports_the_users_models_package(user_dir):
    # python -m puts the working directory first on sys.path; a shipped target
    # still resolves inside the installed package.
    proc = run_in(user_dir, "+exp=jacobian", f"hydra.run.dir={user_dir / 'run'}",
                  "output.plots=false")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert not (user_dir / "IMPORTED").exists()
    record = json.loads((user_dir / "run" / "run.json").read_text())
    assert Path(record["config_files"]["exp"]) == shipped_dir() / "exp/jacobian.yaml"


@pytest.mark.slow
def test_the_users_file_runs_on_the_users_package_and_the_run_says_which(user_dir):
    args = ["--config-dir", "mine", "+exp=grad", "allowed_targets=[models.]",
            "output.plots=false"]  # fmt: skip
    proc = run_in(user_dir, *args, f"hydra.run.dir={user_dir / 'run'}")
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(user_dir / "run" / "results.csv")
    assert table["value"].tolist() == [3.0]  # d(3x)/dx, not the shipped 2
    mine = str(user_dir / "mine" / "exp" / "grad.yaml")
    record = json.loads((user_dir / "run" / "run.json").read_text())
    assert record["config_files"] == {"exp": mine}
    assert f"exp: {mine}" in proc.stdout.splitlines()
    # Through hydra.searchpath too, and beside a shipped example in one sweep.
    path = f"hydra.searchpath=[file://{user_dir / 'mine'}]"
    sweep = run_in(user_dir, "-m", path, "+exp=grad,jacobian",
                   "allowed_targets=[models.]", "output.plots=false",
                   f"hydra.sweep.dir={user_dir / 'm'}")  # fmt: skip
    assert sweep.returncode == 0, sweep.stderr
    frame = pd.read_csv(user_dir / "m" / "results.csv", keep_default_na=False)
    grad = frame[(frame["exp"] == "grad") & (frame["quantity"] == "grad")]
    assert grad["value"].tolist() == [3.0]
    assert set(frame["exp"]) == {"grad", "jacobian"}


def pytest_in(user_dir: Path, *options: str) -> subprocess.CompletedProcess:
    """pytest with the plugin on the user's ``mine/`` configs, from ``user_dir``."""
    env = {**os.environ, "PYTHONPATH": str(user_dir)}
    env.pop("RUNNER_ALLOWED_TARGETS", None)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
               "--runner-configs", "mine", "-o", "testpaths=mine/exp",
               "--rootdir", str(user_dir), *options]  # fmt: skip
    return subprocess.run(command, cwd=user_dir, env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


@pytest.mark.slow
def test_the_pytest_plugin_tests_the_users_file(user_dir):
    first = pytest_in(user_dir, "--runner-allowed-targets", "models.")
    assert "golden table created" in first.stdout, first.stdout
    golden = pd.read_csv(user_dir / "mine" / "goldens" / "grad.csv")
    assert golden["value"].tolist() == [3.0]  # the user's file, not the shipped


@pytest.mark.slow
def test_the_pytest_hint_names_the_plugin_option_and_the_real_package(user_dir):
    proc = pytest_in(user_dir)
    assert proc.returncode == 1
    assert "allow it with --runner-allowed-targets models." in proc.stdout, proc.stdout
    assert "mypkg" not in proc.stdout


def _lol(levels: int) -> str:
    """A YAML file of a few hundred bytes whose aliases expand to 10**levels."""
    names = "abcdefghij"
    lines = ["# @package _global_", "a: &a [1,1,1,1,1,1,1,1,1,1]"]
    for prev, name in zip(names, names[1:levels]):
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 10)}]")
    return "\n".join([*lines, f"unknown: *{names[levels - 1]}", ""])


@pytest.mark.parametrize("levels", [5, 8])
def test_a_file_that_expands_past_the_bound_is_refused_before_composing(
    levels, tmp_path
):
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "lol.yaml").write_text(_lol(levels))
    assert len(_lol(levels)) < 500
    error = check_experiments_and_sizes(["--config-dir", str(tmp_path), "+exp=lol"])
    assert error.startswith(f"{tmp_path / 'exp' / 'lol.yaml'}: expands to more than "
                            f"50000 values"), error  # fmt: skip
    (tmp_path / "exp" / "lol.yaml").write_text(_lol(3))  # 1,000 values: fine
    assert check_sizes([tmp_path]) is None


def check_experiments_and_sizes(argv: list[str]) -> str | None:
    from runner.app.cli import user_dirs

    return check_sizes(user_dirs(argv)) or check_experiments(argv)


@pytest.mark.slow
def test_the_command_refuses_an_alias_bomb_in_one_line(tmp_path):
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "lol.yaml").write_text(_lol(6))
    proc = run_in(tmp_path, "--config-dir", str(tmp_path), "+exp=lol")
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: ") and "expands to more than 50000" in line


def test_only_files_a_command_could_compose_are_bounded(tmp_path):
    # --config-dir . in a project: its data and its virtual environment are not
    # config files, however large; its experiments are.
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "ok.yaml").write_text("# @package _global_\nseed: 1\n")
    for folder in ("data", ".venv/lib"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "big.yaml").write_text(_lol(6))
    assert check_sizes([tmp_path]) is None
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "big.yaml").write_text(_lol(6))
    assert "model/big.yaml: expands to more than" in check_sizes([tmp_path])
