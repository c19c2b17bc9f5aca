"""The wheel runs on its own, beside the user's own ``models`` package and configs.

The slow test builds the wheel, installs it without ``-e`` into a fresh virtual
environment (which borrows only the third-party dependencies already installed),
and runs ``runner`` from a directory outside the checkout that holds a user's
``models`` package and an ``exp/grad.yaml`` of their own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from .conftest import ROOT
from .runner.test_sources import USER_GRAD, USER_MODELS


def _run(command: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("PYTHONPATH", "RUNNER_ALLOWED_TARGETS")}  # fmt: skip
    return subprocess.run(command, cwd=cwd, env={**clean, **env},
                          capture_output=True, text=True, timeout=600)  # fmt: skip


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed (not editable); its bin directory."""
    base = tmp_path_factory.mktemp("wheel")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                  "-w", str(base / "dist"), str(ROOT)], cwd=base)  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = (base / "dist").glob("autodiff_runner-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for member in ("runner/configs/main/config.yaml", "runner/configs/exp/grad.yaml",
                   "runner/configs/model/f1.yaml", "runner/models/tutorial.py",
                   "runner/py.typed", "runner/core/py.typed"):  # fmt: skip
        assert member in names, member
    assert not any(n.startswith(("models/", "configs/")) for n in names)
    # Every package of the tree is in the wheel (pyproject.toml lists them).
    for folder, name in (("runner", "runner"), ("models", "runner/models"),
                         ("configs", "runner/configs")):  # fmt: skip
        for init in (ROOT / folder).rglob("__init__.py"):
            member = f"{name}/{init.relative_to(ROOT / folder).as_posix()}"
            assert member in names, f"{member}: add its package to pyproject.toml"
    env_dir = base / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=True)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    done = _run([str(bin_dir / "python"), "-m", "pip", "install", "-q", "--no-deps",
                 str(wheel)], cwd=base)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return bin_dir


@pytest.mark.slow
def test_the_wheel_runs_beside_the_users_models_and_configs(installed, tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text(USER_MODELS)
    (tmp_path / "mine" / "exp").mkdir(parents=True)
    (tmp_path / "mine" / "exp" / "grad.yaml").write_text(USER_GRAD)
    python, runner = str(installed / "python"), str(installed / "runner")
    where = _run([python, "-c", "import runner; print(runner.__file__)"], tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(installed.parent), where.stdout
    # The main job: the shipped example, from the installed package only.
    for command in ([runner], [python, "-m", "runner"]):  # python -m adds the cwd
        run_dir = tmp_path / f"run{len(command)}"
        proc = _run([*command, "+exp=jacobian", f"hydra.run.dir={run_dir}"], tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert not (tmp_path / "IMPORTED").exists(), "the user's package ran"
        record = json.loads((run_dir / "run.json").read_text())
        assert Path(record["config_files"]["exp"]).is_relative_to(installed.parent)
        assert (run_dir / "runner.log").exists() and (run_dir / "results.png").exists()
    # The user's own experiment on the user's own package.
    proc = _run([runner, "--config-dir", "mine", "+exp=grad",
                 "allowed_targets=[models.]", "output.plots=false",
                 f"hydra.run.dir={tmp_path / 'mine_run'}"],
                tmp_path, PYTHONPATH=".")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "IMPORTED").exists()
    record = json.loads((tmp_path / "mine_run" / "run.json").read_text())
    assert record["config_files"] == {"exp": str(tmp_path / "mine/exp/grad.yaml")}
    table = (tmp_path / "mine_run" / "results.csv").read_text().splitlines()
    assert table[1].split(",")[-1] == "3"  # d(3x)/dx, not the shipped 2
    page = _run([runner, "--help"], tmp_path)
    assert page.returncode == 0 and "jacobian_sweep" in page.stdout


@pytest.mark.slow
def test_the_wheel_streams_a_sweep_and_differentiates_a_simulation(installed, tmp_path):
    """The shipped vectorized sweep (a Parquet dataset, resumable) and a shipped
    simulation (runner.models.dynamics, control flow) run from the wheel alone,
    in a directory holding the user's own ``models`` package, which is not
    imported."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text(USER_MODELS)
    python, runner = str(installed / "python"), str(installed / "runner")
    sweep = [runner, "+exp=jacobian_sweep", "sweep.inputs.1.num=40",
             "sweep.chunk_size=16", f"hydra.run.dir={tmp_path / 'sweep'}"]  # fmt: skip
    for extra in ([], ["resume=true"]):
        proc = _run([*sweep, *extra], tmp_path)
        assert proc.returncode == 0, proc.stderr
    assert "resume: skipped" in proc.stdout
    parts = sorted(p.name for p in (tmp_path / "sweep" / "results.parquet").iterdir())
    assert parts == [f"part-00000{i}.parquet" for i in range(3)]
    read = (
        "from runner.results import load; r = load('sweep'); "
        "print(r.array('grad', 'arg0', where={'inputs.1[0]': (0, 2)}).shape)"
    )
    loaded = _run([python, "-c", read], tmp_path)
    assert loaded.stdout.strip() == "(5, 4, 3)", loaded.stderr[-2000:]
    proc = _run([runner, "+exp=fhn_floquet", "output.plots=false",
                 f"hydra.run.dir={tmp_path / 'floquet'}"], tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "a periodic orbit, orbitally stable" in proc.stdout
    assert not (tmp_path / "IMPORTED").exists(), "the user's package ran"
