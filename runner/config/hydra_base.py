"""The ``hydra`` node of a command without its config files, to compare with.

The trust check (:func:`runner.config.trust.check_config_files`) composes each
experiment of a command once, as Hydra will. When a config file may have reached
the ``hydra`` node (:func:`runner.config.provenance.reaching_hydra`), it also
needs the node that the runner's and Hydra's own configs and the command line
make alone: :class:`OwnNode` composes it, once per command and only then, and
:func:`changed` lists the keys in which an experiment's node differs from it.

The composition reads the runner's primary ``config.yaml`` with the command
line's Hydra overrides; of the command line's directories (``--config-dir``,
``hydra.searchpath``) it reads only the ``hydra/`` options that neither the
runner nor Hydra has, so that ``hydra/launcher=mine`` composes, and not a file
standing in for one of theirs (``experiment_schema``, ``hydra/sweeper/basic``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from hydra.core.override_parser.types import Override
from hydra.types import RunMode
from omegaconf import OmegaConf

from .hydra_private import Hydra, config_exists, main_hydra
from .sources import SHIPPED

__all__ = ["COMPUTED", "OwnNode", "changed", "is_hydra", "under"]

# Nodes Hydra computes after composing (overwritten, or checked separately).
COMPUTED = ("hydra.runtime", "hydra.job.override_dirname", "hydra.job.config_name")


def is_hydra(override: Override) -> bool:
    """Whether a command-line override sets a Hydra node or chooses a ``hydra/``
    option.

    Example:
        >>> from runner.config.overrides import parse
        >>> [is_hydra(o) for o in parse(["hydra/launcher=x", "hydrax=1"])]
        [True, False]
    """
    key = override.key_or_group
    return key == "hydra" or key.startswith(("hydra.", "hydra/"))


def under(key: str, prefixes: Sequence[str]) -> bool:
    """Whether the dotted ``key`` is one of ``prefixes`` or inside one.

    Example:
        >>> under("hydra.runtime.cwd", COMPUTED), under("hydra.run.dir", COMPUTED)
        (True, False)
    """
    return any(key == p or key.startswith(f"{p}.") for p in prefixes)


def _flat(node: Any, key: str) -> Iterator[tuple[str, Any]]:
    """(dotted key, leaf) pairs of a container; lists and empty dicts are leaves."""
    if isinstance(node, dict) and node:
        for k, v in node.items():
            yield from _flat(v, f"{key}.{k}")
    else:
        yield key, node


def changed(base: Any, full: Any) -> list[str]:
    """Keys of the ``hydra`` node that differ, outside :data:`COMPUTED`.

    Example:
        >>> changed({"run": {"dir": "a"}, "runtime": {"cwd": "x"}},
        ...         {"run": {"dir": "b"}, "runtime": {"cwd": "y"}, "callbacks": {}})
        ['hydra.run.dir', 'hydra.callbacks']
    """
    a, b = dict(_flat(base, "hydra")), dict(_flat(full, "hydra"))
    keys = list(b) + [k for k in a if k not in b]
    return [k for k in keys if a.get(k, KeyError) != b.get(k, KeyError)
            and not under(k, COMPUTED)]  # fmt: skip


def _added_options(dirs: Sequence[str], own: Hydra) -> str:
    """A directory of the ``hydra/`` options of ``dirs`` that ``own`` lacks."""
    added = Path(tempfile.mkdtemp(prefix="runner-trust-"))
    for root in map(Path, dirs):
        for path in sorted(root.glob("hydra/**/*.yaml")):
            name = path.relative_to(root)
            if not (added / name).exists() and not config_exists(
                own, name.with_suffix("").as_posix()
            ):
                (added / name).parent.mkdir(parents=True, exist_ok=True)
                os.symlink(path.resolve(), added / name)
    return str(added)


class OwnNode:
    """The config that the runner's primary ``config.yaml`` and the command line's
    Hydra overrides make, composed on the first :meth:`get`.

    Args:
        primary: where the runner's own ``config.yaml`` is.
        config_path: the primary config's location the command uses
            (``--config-path``, or ``primary``).
        config_dir: the command's ``--config-dir``, or None.
        parsed: the command line's overrides.
        hydra: the instance that composes the command (reused when the command
            adds no directory and keeps the runner's primary config).

    Example:
        >>> from runner.config.overrides import parse
        >>> from runner.config.schema import register
        >>> from runner.config.sources import MAIN
        >>> register()
        >>> lines = ["hydra.run.dir=/tmp/x", "+exp=grad"]
        >>> hydra = main_hydra(MAIN, None, [SHIPPED])
        >>> own = OwnNode(MAIN, MAIN, None, parse(lines), hydra)
        >>> node, whole = own.get()
        >>> own.close()
        >>> node["run"]["dir"], "exp" in whole
        ('/tmp/x', False)
    """

    def __init__(self, primary: str, config_path: str, config_dir: str | None,
                 parsed: Sequence[Override], hydra: Hydra) -> None:  # fmt: skip
        self._primary, self._config_path = primary, config_path
        self._config_dir, self._parsed, self._hydra = config_dir, parsed, hydra
        self._added: str | None = None
        self._found: tuple[dict[str, Any], dict[str, Any]] | None = None

    def get(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The ``hydra`` node and the whole config, as unresolved containers."""
        if self._found is None:
            self._found = self._compose()
        return self._found

    def _compose(self) -> tuple[dict[str, Any], dict[str, Any]]:
        paths = [o for o in self._parsed if not o.is_delete()
                 and o.key_or_group == "hydra.searchpath"]  # fmt: skip
        dirs = [self._config_dir] if self._config_dir is not None else []
        dirs += [p[len("file://"):] for o in paths for p in (o.value() or [])
                 if isinstance(p, str) and p.startswith("file://")]  # fmt: skip
        own = self._hydra
        if dirs or self._config_path != self._primary:
            own = main_hydra(self._primary, None, [SHIPPED])
            self._added = _added_options(dirs, own)
            own = main_hydra(self._primary, self._added, [SHIPPED])
        skip = {o.input_line for o in paths}
        lines = [o.input_line for o in self._parsed
                 if is_hydra(o) and o.input_line not in skip]  # fmt: skip
        base = own.compose_config("config", lines, run_mode=RunMode.RUN)
        node = OmegaConf.to_container(base.hydra, resolve=False)
        whole = OmegaConf.to_container(base, resolve=False)
        assert isinstance(node, dict) and isinstance(whole, dict)
        if paths:
            node["searchpath"] = paths[-1].value()
        return node, whole  # type: ignore[return-value]

    def close(self) -> None:
        """Remove the directory of added ``hydra/`` options, if any."""
        if self._added is not None:
            shutil.rmtree(self._added, ignore_errors=True)
            self._added = None
