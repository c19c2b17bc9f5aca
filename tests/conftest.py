"""Shared fixtures: the configs directory and a Hydra compose helper."""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ.setdefault("JAX_PLATFORMS", "cpu")

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"  # the shipped exp/ and model/ (runner.configs)
PRIMARY = CONFIGS / "main"  # config.yaml and hydra/ (runner.configs.main)
EXPERIMENTS = sorted(p.stem for p in (CONFIGS / "exp").glob("*.yaml"))


def runner_script() -> str:
    """The installed ``runner`` command of this Python: beside ``sys.executable``
    (a venv, even one not activated), in the user scheme (``pip install
    --user``), or else on ``PATH``."""
    name = "runner.exe" if os.name == "nt" else "runner"
    for folder in (
        Path(sys.executable).parent,
        Path(sysconfig.get_path("scripts")),
        Path(sysconfig.get_path("scripts", f"{os.name}_user")),
    ):
        if (folder / name).is_file():
            return str(folder / name)
    found = shutil.which("runner")
    assert found, f"no runner script beside {sys.executable}; pip install -e ."
    return found


@pytest.fixture
def compose() -> Callable[..., object]:
    """Compose ``config.yaml`` with overrides, as ``python -m runner`` would."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from runner.config.schema import register

    register()

    def run(*overrides: str) -> object:
        with initialize_config_dir(config_dir=str(PRIMARY), version_base="1.3"):
            return hydra_compose("config", overrides=list(overrides))

    return run


def experiment_results(
    compose: Callable[..., object], name: str, *overrides: str
) -> tuple[dict, dict]:
    """Run the shipped experiment ``name`` as composed by Hydra; return its plain
    config and its results keyed by ``(quantity, wrt, output)``."""
    from runner.app.job import execute, to_plain

    plain = to_plain(compose(f"+exp={name}", *overrides))  # type: ignore[arg-type]
    return plain, {(r.quantity, r.wrt, r.output): r.array for r in execute(plain)}


def experiment_model(plain: dict) -> object:
    """The experiment's model, built from the same seed as the run."""
    import runner.core as bm
    from runner.config.build import build_model

    bm.random.seed(plain["seed"])
    return build_model(plain["model"])
