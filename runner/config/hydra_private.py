"""Every use of Hydra's private API, in one place (each has a canary test).

Hydra's public API runs a whole app (``@hydra.main``) or composes a config
(``hydra.compose``). The runner needs more, and gets it here only:

- :func:`main_hydra`: a Hydra instance with the search path ``runner`` has (to
  compose the config once more for the trust check, and to answer tab completion
  with the user's ``--config-dir``);
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
from typing import Any

import hydra
import hydra._internal.utils as _hydra_utils
from hydra._internal.hydra import Hydra
from hydra._internal.utils import (
    compute_search_path_dir,
    create_config_search_path,
    get_args_parser,
)
from hydra.core.config_search_path import SearchPathQuery
from hydra.core.global_hydra import GlobalHydra

__all__ = ["Hydra", "get_args_parser", "main_hydra", "reported_by", "run_app"]


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
    search_path = create_config_search_path(
        compute_search_path_dir(None, "runner.app.cli", config_path)
    )
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
