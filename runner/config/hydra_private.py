"""Every use of Hydra's private API, in one place (each has a canary test).

Hydra's public API runs a whole app (``@hydra.main``) or composes a config
(``hydra.compose``). The runner needs two things between them: a Hydra instance
with the search path ``runner`` has (to compose the config once more for the trust
check, and to answer tab completion with the user's ``--config-dir``), and the
parser of Hydra's command-line flags. ``tests/runner/test_hydra_private.py``
fails first if a Hydra release changes any of them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from hydra._internal.hydra import Hydra
from hydra._internal.utils import (
    compute_search_path_dir,
    create_config_search_path,
    get_args_parser,
)
from hydra.core.config_search_path import SearchPathQuery
from hydra.core.global_hydra import GlobalHydra

__all__ = ["Hydra", "get_args_parser", "main_hydra"]


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
