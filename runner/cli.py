"""The command line: ``python -m runner +exp=<name> [overrides]`` (``-m`` to sweep).

A thin ``@hydra.main`` shim over :func:`runner.job.run_job`; the exit code is
non-zero when any job failed.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
import hydra._internal.utils as hydra_utils
import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.errors import MissingConfigException, OverrideParseException
from hydra.types import RunMode
from omegaconf import DictConfig
from omegaconf.errors import ConfigAttributeError, ConfigKeyError

from . import sweep
from .errors import ConfigError
from .job import run_job
from .schema import register
from .trust import check_allowed_targets, check_config_files

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
_STATUSES: list[int] = []

register()


@hydra.main(version_base="1.3", config_path=str(CONFIGS), config_name="config")
def _entry(cfg: DictConfig) -> int:
    hydra_cfg = HydraConfig.get()
    runtime = hydra_cfg.runtime
    title = runtime.choices.get("exp") or "experiment"
    try:  # only the command line (or the environment) widens the allow-list
        check_allowed_targets(cfg.get("allowed_targets"), hydra_cfg.overrides.task)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        _STATUSES.append(2)
        return 2
    in_sweep = hydra_cfg.mode == RunMode.MULTIRUN
    sweep_id = sweep.sweep_id(Path(hydra_cfg.sweep.dir)) if in_sweep else None
    status = run_job(cfg, Path(runtime.output_dir), title=title, sweep_id=sweep_id)
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
    """A one-line error for an ``+exp=NAME`` that names no experiment file, or for
    a config group set to null (``model=null``, which Hydra reports without a key).

    Example:
        >>> check_experiments(["+exp=jacobian"]) is None
        True
        >>> check_experiments(["+exp=nope"]).split(";")[0]
        "exp: unknown experiment 'nope'"
        >>> check_experiments(["model=null"]).split(";")[0]
        'model: expected the name of a config of group model, received null'
    """
    dirs = _config_dirs(argv)
    known = sorted({p.stem for d in dirs for p in (d / "exp").glob("*.yaml")})
    for arg in argv:
        group, _, value = arg.lstrip("+").partition("=")
        if value == "null" and group and any((d / group).is_dir() for d in dirs):
            names = sorted({p.stem for d in dirs for p in (d / group).glob("*.yaml")})
            return (f"{group}: expected the name of a config of group {group}, "
                    f"received null; expected one of {', '.join(names)}, e.g. "
                    f"{group}={names[0] if names else 'NAME'}.")  # fmt: skip
        if arg.lstrip("+").startswith("exp="):
            for name in arg.split("=", 1)[1].split(","):
                if name and name not in known:
                    return (f"exp: unknown experiment {name!r}; expected one of "
                            f"{', '.join(known)}; run e.g. +exp=jacobian.")  # fmt: skip
    return None


def error_line(err: BaseException) -> str:
    """One line for an error Hydra raised while parsing or composing the config.

    Names the key (or config group) at fault, what was expected or found, and how
    to fix it, in place of Hydra's multi-line report or traceback.

    Args:
        err: the exception, e.g. a ``ConfigCompositionException``.

    Returns:
        The line, without the ``error:`` prefix.

    Example:
        >>> from omegaconf import OmegaConf
        >>> from runner.schema import DiffConfig
        >>> try:
        ...     OmegaConf.structured(DiffConfig).kindd = 1
        ... except Exception as cause:
        ...     err = RuntimeError("Could not override 'diff.kindd'.")
        ...     err.__cause__ = cause
        >>> error_line(err).split(";")[0]
        "kindd: Key 'kindd' not in 'DiffConfig'"
    """
    chain = [err]
    while chain[-1].__cause__ is not None or chain[-1].__context__ is not None:
        chain.append(chain[-1].__cause__ or chain[-1].__context__)
    missing = _missing_package_line(" ".join(str(c) for c in chain))
    if missing:
        return missing
    for cause in chain:
        if isinstance(cause, yaml.MarkedYAMLError) and cause.problem_mark is not None:
            mark = cause.problem_mark
            group = Path(mark.name).parent.name or "config"
            problem = " ".join(f"{cause.context or ''} {cause.problem or ''}".split())
            where = f"line {mark.line + 1}, column {mark.column + 1}"
            return (f"{group}: cannot read {mark.name} ({where}): {problem}; fix "
                    f"the YAML syntax there.")  # fmt: skip
        key = getattr(cause, "full_key", None)
        if key:
            first = str(cause).splitlines()[0].rstrip(".")
            fix = "fix the value"
            if isinstance(cause, (ConfigAttributeError, ConfigKeyError)):
                node = getattr(cause, "object_type", None)
                known = [f.name for f in dataclasses.fields(node)] if (
                    dataclasses.is_dataclass(node)) else []  # fmt: skip
                fix = "check the spelling" + (
                    f"; known keys: {', '.join(known)}"
                    if known
                    else f", or add it with +{key}=VALUE"  # a free-form node
                )
            return f"{key}: {first}; {fix}."
    text = str(err)
    if isinstance(err, MissingConfigException):
        found = re.search(r"Could not find '([^']+)'", text)
        options = re.findall(r"^\t(\S+)$", text, re.M)
        if found:
            group = found.group(1).split("/")[0]
            return (f"{group}: no config named {found.group(1)!r}; expected one of "
                    f"{', '.join(options) or '(none)'}.")  # fmt: skip
    if isinstance(err, OSError) and err.filename:
        return (f"hydra.run.dir: cannot write to {err.filename} ({err.strerror}); "
                f"choose a writable hydra.run.dir (or hydra.sweep.dir).")  # fmt: skip
    if isinstance(err, OverrideParseException):
        first = text.splitlines()[0] if text else "cannot parse"
        return (f"overrides: {first}; quote values with spaces or brackets, e.g. "
                f"'inputs.0=[1.0,2.0]'.")  # fmt: skip
    return f"{type(err).__name__}: {' '.join(text.split())}"


def _missing_package_line(text: str) -> str | None:
    """The error for an experiment file without ``# @package _global_``, if it is.

    Without that line Hydra puts the file's keys under ``exp.`` (``exp.inputs``,
    ``model@exp.model``), where the schema has no such key.
    """
    found = re.search(r"In 'exp/([^']+)'", text)
    if not found or not re.search(r"@exp\.|Key 'exp' not in|full_key: exp\.", text):
        return None
    return (f"exp: exp/{found.group(1)}.yaml does not start with '# @package "
            f"_global_', so its keys were put under exp.; add that line at the top "
            f"of the file.")  # fmt: skip


def _report_in_one_line(func: Callable[[], Any]) -> Any:
    """Hydra's ``run_and_report``, printing one line instead of a report."""
    try:
        return func()
    except Exception as err:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"error: {error_line(err)}", file=sys.stderr)
        sys.exit(1)


def main() -> int:
    """Run Hydra on ``sys.argv``; return 1 if any job (or sweep job) failed."""
    _STATUSES.clear()  # statuses of this call only
    sweep.FAILED.clear()
    error = check_experiments(sys.argv[1:])
    if error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:  # before Hydra instantiates callbacks or configures logging
        check_config_files(sys.argv[1:], CONFIGS)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except Exception as err:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"error: {error_line(err)}", file=sys.stderr)
        return 1
    original = getattr(hydra_utils, "run_and_report", None)
    if original is not None:
        hydra_utils.run_and_report = _report_in_one_line
    try:
        _entry()
    finally:
        if original is not None:
            hydra_utils.run_and_report = original
    return 1 if any(_STATUSES) or any(sweep.FAILED) else 0
