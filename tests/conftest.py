"""Shared fixtures: the configs directory and a Hydra compose helper."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ.setdefault("JAX_PLATFORMS", "cpu")

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"  # the shipped exp/ and model/ (runner.configs)
PRIMARY = CONFIGS / "main"  # config.yaml and hydra/ (runner.configs.main)
EXPERIMENTS = sorted(p.stem for p in (CONFIGS / "exp").glob("*.yaml"))


@pytest.fixture
def compose() -> Callable[..., object]:
    """Compose ``config.yaml`` with overrides, as ``python -m runner`` would."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from runner.schema import register

    register()

    def run(*overrides: str) -> object:
        with initialize_config_dir(config_dir=str(PRIMARY), version_base="1.3"):
            return hydra_compose("config", overrides=list(overrides))

    return run
