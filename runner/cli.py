"""The command line: ``python -m runner +exp=<name> [overrides]`` (``-m`` to sweep).

A thin ``@hydra.main`` shim over :func:`runner.job.run_job`; the exit code is
non-zero when any job failed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from . import sweep
from .job import run_job
from .schema import register

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
_STATUSES: list[int] = []

register()


@hydra.main(version_base="1.3", config_path=str(CONFIGS), config_name="config")
def _entry(cfg: DictConfig) -> int:
    runtime = HydraConfig.get().runtime
    title = runtime.choices.get("exp") or "experiment"
    status = run_job(cfg, Path(runtime.output_dir), title=title)
    _STATUSES.append(status)
    return status


def _config_dirs(argv: list[str]) -> list[Path]:
    dirs = [CONFIGS]
    for i, arg in enumerate(argv):
        if arg in ("--config-dir", "-cd") and i + 1 < len(argv):
            dirs.append(Path(argv[i + 1]))
        elif arg.startswith(("--config-dir=", "-cd=")):
            dirs.append(Path(arg.split("=", 1)[1]))
    return dirs


def check_experiments(argv: list[str]) -> str | None:
    """A one-line error for an ``+exp=NAME`` that names no experiment file.

    Example:
        >>> check_experiments(["+exp=jacobian"]) is None
        True
        >>> check_experiments(["+exp=nope"]).split(";")[0]
        "exp: unknown experiment 'nope'"
    """
    dirs = _config_dirs(argv)
    known = sorted({p.stem for d in dirs for p in (d / "exp").glob("*.yaml")})
    for arg in argv:
        if arg.lstrip("+").startswith("exp="):
            for name in arg.split("=", 1)[1].split(","):
                if name and name not in known:
                    return (f"exp: unknown experiment {name!r}; expected one of "
                            f"{', '.join(known)}; run e.g. +exp=jacobian.")  # fmt: skip
    return None


def main() -> int:
    """Run Hydra on ``sys.argv``; return 1 if any job (or sweep job) failed."""
    error = check_experiments(sys.argv[1:])
    if error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    _entry()
    return 1 if any(_STATUSES) or any(sweep.FAILED) else 0
