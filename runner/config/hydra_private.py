"""Every use of Hydra's private API, in one place (each has a canary test).

Hydra's public API runs a whole app (``@hydra.main``) or composes a config
(``hydra.compose``). The runner needs more, and gets it here only:

- :func:`main_hydra`: a Hydra instance with the search path ``runner`` has (to
  compose the config for the trust check, and to answer tab completion with the
  user's ``--config-dir``); :func:`own_sources`, the part of that search path
  that is the runner's and Hydra's own;
- :func:`compose_loaded`: a composition that also reports every config it merged:
  where it was read from, which config chose it, and what it set (Hydra has no
  hook: the config loader's ``_load_single_config`` is wrapped for the call);
- :func:`group_exists`, :func:`config_exists`: what the repository of a Hydra
  instance holds; :func:`overrides_parser`, Hydra's override parser that knows
  its config groups;
- :func:`get_args_parser`: the parser of Hydra's command-line flags;
- :func:`run_app`: ``@hydra.main`` on a given command line (Hydra reads
  ``sys.argv``; it is set for the call and restored), with errors reported by the
  runner's one-line reporter (Hydra has no hook: ``run_and_report`` is replaced
  for the call and restored).

``tests/runner/test_hydra_private.py`` fails first if a Hydra release changes any
of them. The launcher plugins' internals that :mod:`runner.app.launcher` builds on
are that module's own.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import hydra
import hydra._internal.utils as _hydra_utils
from hydra._internal.config_repository import ConfigRepository
from hydra._internal.hydra import Hydra
from hydra._internal.utils import (
    compute_search_path_dir,
    create_config_search_path,
    get_args_parser,
)
from hydra.core.config_search_path import SearchPathQuery
from hydra.core.default_element import ConfigDefault, GroupDefault
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

__all__ = [
    "Entry",
    "Hydra",
    "Loaded",
    "compose_loaded",
    "config_exists",
    "get_args_parser",
    "group_exists",
    "main_hydra",
    "overrides_parser",
    "own_sources",
    "reported_by",
    "run_app",
]


def main_hydra(
    config_path: str, config_dir: str | None, searchpath: Sequence[str] = ()
) -> Hydra:
    """A Hydra instance with the search path ``runner`` has for ``config_path``
    (the primary config's directory or ``pkg://`` path), ``--config-dir`` and the
    ``hydra.searchpath`` entries ``searchpath``, so that its repository knows every
    config group of a command (Hydra adds ``hydra.searchpath`` only while it
    composes).

    Example:
        >>> from runner.config.schema import register
        >>> from runner.config.sources import MAIN, SHIPPED
        >>> register()
        >>> hydra = main_hydra(MAIN, None, [SHIPPED])
        >>> from hydra.types import RunMode
        >>> cfg = hydra.compose_config("config", ["+exp=grad"], run_mode=RunMode.RUN)
        >>> GlobalHydra.instance().clear()
        >>> cfg.model._target_
        'runner.models.tutorial.linear'

    """
    search_path = _own_search_path(config_path)
    if config_dir is not None:
        search_path.prepend(
            provider="command-line",
            path=f"file://{os.path.abspath(config_dir)}",
            anchor=SearchPathQuery(provider="schema"),
        )
    for path in searchpath:
        search_path.prepend(
            provider="hydra.searchpath in main",
            path=path,
            anchor=SearchPathQuery(provider="schema"),
        )
    GlobalHydra.instance().clear()  # Hydra keeps one; the instance needs none
    return Hydra.create_main_hydra2(task_name="runner", config_search_path=search_path)


def _own_search_path(config_path: str) -> Any:
    return create_config_search_path(
        compute_search_path_dir(None, "runner.app.cli", config_path)
    )


def own_sources(config_path: str) -> frozenset[str]:
    """The config sources of :func:`main_hydra` before the command line's: Hydra's
    own configs, the primary config's directory or package ``config_path``, the
    search path plugins' and the ConfigStore (``structured://``), named as
    :class:`Loaded` names its ``source``.

    Example:
        >>> from runner.config.sources import MAIN
        >>> sorted(own_sources(MAIN))
        ['pkg://hydra.conf', 'pkg://runner.configs.main', 'structured://']
    """
    sources = ConfigRepository(_own_search_path(config_path)).get_sources()
    return frozenset(f"{s.scheme()}://{s.path}" for s in sources)  # as loads name them


def group_exists(hydra: Hydra, name: str) -> bool:
    """Whether ``name`` is a config group in the search path of ``hydra``.

    Example:
        >>> from runner.config.sources import MAIN, SHIPPED
        >>> hydra = main_hydra(MAIN, None, [SHIPPED])
        >>> group_exists(hydra, "exp"), group_exists(hydra, "inputs")
        (True, False)
        >>> GlobalHydra.instance().clear()
    """
    return bool(hydra.config_loader.repository.group_exists(name))  # type: ignore[attr-defined]


def config_exists(hydra: Hydra, path: str) -> bool:
    """Whether a config ``path`` (``hydra/launcher/basic``) is in the search path
    of ``hydra``.

    Example:
        >>> from runner.config.sources import MAIN, SHIPPED
        >>> hydra = main_hydra(MAIN, None, [SHIPPED])
        >>> config_exists(hydra, "hydra/launcher/basic")
        True
        >>> GlobalHydra.instance().clear()
    """
    return bool(hydra.config_loader.repository.config_exists(path))  # type: ignore[attr-defined]


def overrides_parser(hydra: Hydra) -> OverridesParser:
    """Hydra's override parser, with the config groups of ``hydra`` known (as
    ``glob(...)`` sweeps of a group need).

    Example:
        >>> from runner.config.sources import MAIN, SHIPPED
        >>> hydra = main_hydra(MAIN, None, [SHIPPED])
        >>> [o.key_or_group for o in overrides_parser(hydra).parse_overrides(
        ...     ["+exp=grad", "a.b=1"])]
        ['exp', 'a.b']
        >>> GlobalHydra.instance().clear()
    """
    return OverridesParser.create(config_loader=hydra.config_loader)


@dataclass(frozen=True)
class Entry:
    """One entry of a defaults list as its file wrote it.

    ``target`` is the group (``/hydra/launcher``) or the config path
    (``experiment_schema``), relative to the file's group unless it starts with
    ``/``; ``override`` marks ``override GROUP: OPTION``.
    """

    target: str
    package: str | None
    override: bool
    interpolated: bool


@dataclass(frozen=True)
class Loaded:
    """A config that a composition merged, where it came from and what it set.

    ``path`` is its path in the repository (``exp/grad``); ``parent`` the path
    of the config whose defaults list chose it (None for ``hydra/config`` and the
    primary config); ``group`` the config group it was chosen in, when Hydra
    names one; ``source`` the search path entry it was read from
    (``pkg://hydra.conf``, ``file:///...``, ``structured://``); ``content`` what
    it set, at its package (``{"model": {...}}``), as plain containers taken
    before it was merged; ``defaults`` its defaults list as written.
    """

    path: str
    parent: str | None
    group: str | None
    source: str
    content: Any
    defaults: tuple[Entry, ...]


def _entry(default: GroupDefault | ConfigDefault) -> Entry:
    """An :class:`Entry` of a defaults-list element, as its file wrote it."""
    group = isinstance(default, GroupDefault)
    target = default.group if group else default.path
    value = default.value if group else default.path
    return Entry(str(target), default.package, default.is_override(),
                 "${" in str(value))  # fmt: skip


def compose_loaded(
    hydra: Hydra, config_name: str, overrides: Sequence[str]
) -> tuple[DictConfig, list[Loaded]]:
    """Compose ``config_name`` with ``overrides`` (RUN mode) as ``hydra.compose_config``
    does, and report every config merged into it, in merge order.

    Example:
        >>> from runner.config.schema import register
        >>> from runner.config.sources import MAIN, SHIPPED
        >>> register()
        >>> hydra = main_hydra(MAIN, None, [SHIPPED])
        >>> cfg, loaded = compose_loaded(hydra, "config", ["+exp=grad"])
        >>> grad = next(c for c in loaded if c.path == "exp/grad")
        >>> grad.parent, grad.group, grad.source, sorted(grad.content)
        ('config', 'exp', 'pkg://runner.configs', ['diff', 'inputs'])
        >>> GlobalHydra.instance().clear()
        >>> cfg.model._target_
        'runner.models.tutorial.linear'
    """
    loader = hydra.config_loader
    load = loader._load_single_config  # type: ignore[attr-defined]
    seen: list[Loaded] = []

    def recorded(default: Any, repo: Any) -> Any:
        result = load(default=default, repo=repo)
        key = default.override_key
        seen.append(Loaded(
            path=str(default.config_path),
            parent=None if default.parent in (None, "<root>") else default.parent,
            group=None if default.is_self or not key else key.split("@")[0],
            source=str(result.path),
            content=OmegaConf.to_container(result.config, resolve=False),
            defaults=tuple(_entry(d) for d in result.defaults_list or ()),
        ))  # fmt: skip
        return result

    loader._load_single_config = recorded  # type: ignore[attr-defined]
    try:
        cfg = hydra.compose_config(config_name, list(overrides), run_mode=RunMode.RUN)
    finally:
        del loader._load_single_config  # type: ignore[attr-defined]
    return cfg, seen


@contextmanager
def reported_by(report: Callable[[Exception], None]) -> Iterator[None]:
    """While inside, ``@hydra.main`` reports an error by calling ``report(err)``
    (which may raise it again), then exits with status 1, instead of printing
    Hydra's multi-line report.

    Example:
        >>> seen = []
        >>> with reported_by(seen.append):
        ...     try:
        ...         _hydra_utils.run_and_report(lambda: 1 / 0)
        ...     except SystemExit as done:
        ...         print(done.code, type(seen[0]).__name__)
        1 ZeroDivisionError
    """

    def run_and_report(func: Callable[[], Any]) -> Any:
        try:
            return func()
        except Exception as err:
            report(err)
            sys.exit(1)

    original = _hydra_utils.run_and_report
    _hydra_utils.run_and_report = run_and_report
    try:
        yield
    finally:
        _hydra_utils.run_and_report = original


def run_app(
    task: Callable[[Any], Any],
    argv: Sequence[str],
    config_path: str,
    config_name: str,
    report: Callable[[Exception], None],
) -> None:
    """Run ``task`` as a ``@hydra.main`` app on the command line ``argv``.

    Args:
        task: called with each job's composed config.
        argv: the command line, without the program name.
        config_path: the primary config's directory or ``pkg://`` path.
        config_name: the primary config's name.
        report: how an error of Hydra's is reported (:func:`reported_by`).
    """

    @hydra.main(version_base="1.3", config_path=config_path, config_name=config_name)
    def entry(cfg: Any) -> Any:
        return task(cfg)

    saved = sys.argv
    sys.argv = [saved[0] if saved else "runner", *argv]  # what @hydra.main reads
    try:
        with reported_by(report):
            entry()
    finally:
        sys.argv = saved
