"""The command line: ``python -m runner +exp=<name> [overrides]`` (``-m`` to sweep).

A thin ``@hydra.main`` shim over :func:`runner.app.job.run_job`; the exit code is
non-zero when any job failed.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.types import Glob, Override
from hydra.errors import MissingConfigException, OverrideParseException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError

from ..config.errors import ConfigError, wants_traceback
from ..config.hydra_private import get_args_parser, run_app
from ..config.overrides import parse, value
from ..config.schema import register, unknown_key
from ..config.sources import (
    MAIN,
    check_sizes,
    chosen_files,
    cli_searchpath,
    did_you_mean,
    experiments,
    main_dir,
    search_dirs,
    shipped_dir,
    with_shipped_searchpath,
)
from ..config.trust import (
    check_allowed_targets,
    check_compile_cache,
    check_config_files,
    check_ray_address,
)
from ..results.outdirs import check_kind, check_links
from . import sweep
from .job import run_job

PRIMARY = main_dir()  # the directory of the primary config.yaml

register()


def _task(cfg: DictConfig) -> tuple[int, RunMode]:
    """One job of ``main``: its exit status and the mode Hydra ran it in."""
    hydra_cfg = HydraConfig.get()
    runtime = hydra_cfg.runtime
    title = runtime.choices.get("exp") or "experiment"
    try:  # only the command line (or the environment) widens the allow-list
        overrides = hydra_cfg.overrides.task
        check_allowed_targets(cfg.get("allowed_targets"), overrides)
        check_compile_cache(cfg.get("compile_cache"), overrides)
        check_ray_address(OmegaConf.select(cfg, "sweep.ray.address"), overrides)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2, hydra_cfg.mode
    in_sweep = hydra_cfg.mode == RunMode.MULTIRUN
    sweep_id = sweep.sweep_id(Path(hydra_cfg.sweep.dir)) if in_sweep else None
    sources = [(s.schema, s.path) for s in runtime.config_sources]
    files = chosen_files(dict(runtime.choices), sources)
    status = run_job(cfg, Path(runtime.output_dir), title=title, sweep_id=sweep_id,
                     config_files=files)  # fmt: skip
    return status, hydra_cfg.mode


def _options(dirs: list[Path], group: str) -> list[str]:
    return sorted({p.stem for d in dirs for p in (d / group).glob("*.yaml")})


def user_dirs(argv: list[str]) -> list[Path]:
    """The config directories a command line adds (``--config-dir``,
    ``hydra.searchpath``), in search order.

    Example:
        >>> [d.name for d in user_dirs(["--config-dir", "/tmp/mine", "+exp=grad"])]
        ['mine']
    """
    args = get_args_parser().parse_known_args(argv)[0]
    dirs = search_dirs(args.config_dir, cli_searchpath(args.overrides))
    return [d for d in dirs if d != shipped_dir()]


def check_output_dir(argv: list[str]) -> str | None:
    """A one-line error for a ``hydra.run.dir`` (or, with ``-m``,
    ``hydra.sweep.dir``) given on the command line that holds links or belongs to
    the other kind of run; checked before Hydra writes anything there.

    Example:
        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> _ = Path(d, "sweep.json").write_text("{}")
        >>> check_output_dir(["+exp=grad", f"hydra.run.dir={d}"]).split(";")[0]
        ... # doctest: +ELLIPSIS
        'hydra.run.dir: ... is the directory of a sweep (it holds sweep.json)'
        >>> check_output_dir(["-m", "+exp=grad", f"hydra.sweep.dir={d}"]) is None
        True
    """
    args = get_args_parser().parse_known_args(argv)[0]
    try:
        sweep = bool(args.multirun) or value(args.overrides, "hydra.mode") == "MULTIRUN"
        wanted = value(args.overrides, "hydra.sweep.dir" if sweep else "hydra.run.dir")
    except OverrideParseException:
        return None  # Hydra reports the line
    if not isinstance(wanted, str) or "${" in wanted:
        return None  # the default, or interpolated: a new dated directory, as a rule
    folder = Path(wanted).expanduser()
    problem = check_kind(folder, sweep) or check_links(folder, sweep)
    return None if problem is None else str(problem)


def _choices(override: Override, options: list[str]) -> list[str]:
    """The config names an override of a config group selects (every sweep form)."""
    value = override.value()
    if isinstance(value, Glob):
        return value.filter(options)
    if override.is_sweep_override():
        return list(override.sweep_string_iterator())
    return [override.get_value_element_as_str()]


def _has_global_package(path: Path) -> bool:
    """Whether the header comments of ``path`` hold ``# @package _global_``."""
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return False  # the header ends at the first line that is not a comment
        words = line.lstrip("# \t").split()
        if words[:2] == ["@package", "_global_"]:
            return True
    return False


def check_experiments(argv: list[str]) -> str | None:
    """A one-line error for an ``+exp=NAME`` that names no experiment file (every
    override form: ``a,b``, ``choice(...)``, ``glob(...)``), for an experiment
    file without ``# @package _global_``, or for a config group set to null
    (``model=null``, which Hydra reports without a key).

    Overrides that do not parse are left to Hydra, which reports them.

    Example:
        >>> check_experiments(["+exp=jacobian"]) is None
        True
        >>> check_experiments(["-m", "+exp=glob(*)"]) is None
        True
        >>> check_experiments(["-m", "+exp=choice(grad,nope)"]).split(";")[0]
        "exp: unknown experiment 'nope'"
        >>> check_experiments(["model=null"]).split(";")[0]
        'model: expected the name of a config of group model, received null'
    """
    args = get_args_parser().parse_known_args(argv)[0]
    try:
        parsed = parse(args.overrides)
    except OverrideParseException:
        return None
    dirs = search_dirs(args.config_dir, cli_searchpath(args.overrides))
    found = experiments(dirs)
    dirs = [PRIMARY, *dirs]  # hydra/ options come from the primary source
    for override in parsed:
        group = override.key_or_group
        if override.is_delete() or not any((d / group).is_dir() for d in dirs):
            continue  # a plain key, not a config group
        names = _options(dirs, group)
        if override.value() is None:
            return (f"{group}: expected the name of a config of group {group}, "
                    f"received null; expected one of {', '.join(names)}, e.g. "
                    f"{group}={names[0] if names else 'NAME'}.")  # fmt: skip
        if group != "exp":
            continue
        for name in _choices(override, names):
            if name not in found:
                return (f"exp: unknown experiment {name!r}{did_you_mean(name, names)}"
                        f"; expected one of {', '.join(names)} (runner --help "
                        f"describes them); run e.g. +exp=jacobian.")  # fmt: skip
            path = found[name].path
            if override.package is None and not _has_global_package(path):
                return (f"exp: exp/{name}.yaml does not start with '# @package "
                        f"_global_', so its keys were put under exp.; add that "
                        f"line at the top of the file.")  # fmt: skip
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
        >>> from runner.config.schema import DiffConfig
        >>> try:
        ...     OmegaConf.structured(DiffConfig).kindd = 1
        ... except Exception as cause:
        ...     err = RuntimeError("Could not override 'diff.kindd'.")
        ...     err.__cause__ = cause
        >>> error_line(err).split(";")[0]
        'kindd: unknown key (did you mean kind?)'
    """
    chain = [err]
    while chain[-1].__cause__ is not None or chain[-1].__context__ is not None:
        chain.append(chain[-1].__cause__ or chain[-1].__context__)
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
                if known:
                    return f"{key}: {unknown_key(key, known)}"
                fix = f"check the spelling, or add it with +{key}=VALUE"
            return f"{key}: {first}; {fix}."
    text = str(err)
    if isinstance(err, MissingConfigException) and err.missing_cfg_file:
        name = err.missing_cfg_file
        return (f"{name.split('/')[0]}: no config named {name!r}; expected one of "
                f"{', '.join(err.options or []) or '(none)'}.")  # fmt: skip
    if isinstance(err, OSError) and err.filename:
        return (f"hydra.run.dir: cannot write to {err.filename} ({err.strerror}); "
                f"choose a writable hydra.run.dir (or hydra.sweep.dir).")  # fmt: skip
    if isinstance(err, OverrideParseException):
        first = text.splitlines()[0] if text else "cannot parse"
        return (f"overrides: {first}; quote values with spaces or brackets, e.g. "
                f"'inputs.0=[1.0,2.0]'.")  # fmt: skip
    return f"{type(err).__name__}: {' '.join(text.split())}"


def _report(err: Exception) -> None:
    """Hydra's errors as one line (:func:`error_line`), or raised for the traceback."""
    if wants_traceback():
        raise err
    print(f"error: {error_line(err)}", file=sys.stderr)


def run_main(argv: list[str]) -> tuple[int, bool]:
    """Run Hydra on the command line ``argv`` (without the program name).

    Returns:
        The exit status (1 if any job or sweep failed, 2 for a refused command
        line) and whether exactly one job ran here in Hydra's RUN mode (then no
        launcher is left to tear down).

    Example:
        >>> run_main(["+exp=nope"])
        (2, False)
    """
    jobs: list[tuple[int, RunMode]] = []

    def entry(cfg: DictConfig) -> int:
        jobs.append(_task(cfg))
        return jobs[-1][0]

    gathered: list[int] = []  # the sweeps' failures, of this call only
    argv = with_shipped_searchpath(argv)  # the shipped examples stay searched
    error = (check_sizes(user_dirs(argv)) or check_experiments(argv)
             or check_output_dir(argv))  # fmt: skip
    if error:
        print(f"error: {error}", file=sys.stderr)
        return 2, False
    try:  # before Hydra instantiates callbacks or configures logging
        check_config_files(argv, MAIN)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2, False
    except Exception as err:
        if wants_traceback():
            raise
        print(f"error: {error_line(err)}", file=sys.stderr)
        return 1, False
    token = sweep.GATHERED.set(gathered)
    try:
        run_app(entry, argv, MAIN, "config", _report)
    finally:
        sweep.GATHERED.reset(token)
    status = 1 if any(s for s, _ in jobs) or any(gathered) else 0
    single = len(jobs) == 1 and jobs[0][1] == RunMode.RUN
    return status, single


def main() -> int:
    """Run Hydra on ``sys.argv``; return 1 if any job (or sweep job) failed.

    Example:
        >>> from unittest import mock
        >>> with mock.patch.object(sys, "argv", ["runner", "+exp=nope"]):
        ...     main()
        2
    """
    return run_main(sys.argv[1:])[0]
