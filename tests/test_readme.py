"""README's examples stay true: its core example runs and its commands exist."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, runner_script

README = (ROOT / "README.md").read_text()


def test_core_example_runs_and_writes_state():
    code = re.search(r"## The core in 20 lines\n\n```python\n(.*?)```", README, re.S)
    assert code is not None and len(code.group(1).splitlines()) <= 20
    namespace: dict = {}
    exec(code.group(1), namespace)  # noqa: S102 - our own README
    # One eager call and two jitted calls each add 1 to `calls`.
    assert float(namespace["l"].calls) == 3.0
    (var_grads, arg_grads), value = namespace["f"](namespace["bm"].ones(10))
    assert float(var_grads[1][0]) == 1.0  # d/db sum(w . x + b) = 1


def test_ci_runs_the_readme_test_command():
    command = 'python -m pip install -e ".[test]" && python -m pytest'
    assert command in README
    assert command in (ROOT / ".ci" / "run").read_text()


def _section(title: str) -> str:
    found = re.search(rf"\n## {title}\n(.*?)\n## ", README, re.S)
    assert found is not None, title
    return found.group(1)


@pytest.mark.slow
def test_your_own_model_section_works_from_a_clean_directory(tmp_path):
    (setup,) = re.findall(r"```bash\n(.*?)```", _section("Your own model"), re.S)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env.pop("RUNNER_ALLOWED_TARGETS", None)
    # `runner` and `python` as this interpreter's, activated or not.
    bins = dict.fromkeys([str(Path(runner_script()).parent),
                          str(Path(sys.executable).parent)])  # fmt: skip
    env["PATH"] = os.pathsep.join([*bins, env.get("PATH", "")])

    def bash(script: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-ec", script], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)  # fmt: skip

    run = bash(setup)
    assert run.returncode == 0, run.stderr
    # x' = c - k x with c = 1, k = 0.5: x* = 2, Jacobian -0.5 I, stable.
    assert "fixed point w.r.t. arg0 at [2.0, 2.0]" in run.stdout, run.stdout
    assert "stable (max Re = -0.5)" in run.stdout
    assert "exp: " + str(tmp_path / "myconfigs/exp/decay.yaml") in run.stdout
    # The section's claims: without the allowance, and without the package line.
    command = setup.strip().splitlines()[-1]
    refused = bash(command.replace(" 'allowed_targets=[mymodels.]'", ""))
    assert refused.returncode == 1 and "allowed_targets" in refused.stderr
    exp = tmp_path / "myconfigs" / "exp" / "decay.yaml"
    exp.write_text(exp.read_text().replace("# @package _global_\n", ""))
    missing = bash(command)
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        "error: exp: exp/decay.yaml does not start with '# @package _global_', so "
        "its keys were put under exp.; add that line at the top of the file."
    ]


@pytest.mark.slow
def test_the_runner_command_completes_experiment_names():
    env = {**os.environ, "COMP_LINE": "runner +exp=fitzhugh_nagumo_h"}
    proc = subprocess.run([runner_script(), "-sc", "query=bash"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["+exp=fitzhugh_nagumo_hopf"]


@pytest.mark.slow
@pytest.mark.parametrize("title", ["One experiment", "One sweep"])
def test_the_quick_start_commands_run(title, tmp_path):
    (block,) = re.findall(r"```bash\n(.*?)```", _section(title), re.S)
    bins = dict.fromkeys([str(Path(runner_script()).parent),
                          str(Path(sys.executable).parent)])  # fmt: skip
    env = {**os.environ, "PATH": os.pathsep.join([*bins, os.environ["PATH"]])}
    proc = subprocess.run(["bash", "-ec", block], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert len(list(tmp_path.glob("outputs/*/*/*/results.csv"))) >= 1
